// SPDX-License-Identifier: MIT
// Trace line encoding; see trace_codec.hpp for why it is hand-written and
// docs/trace-format.md for the schema (traces/trace.schema.json).
#include "trace_codec.hpp"

#include <charconv>

namespace anyio::sim::codec {

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_i64(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

const char* event_name(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::spawn: return "spawn";
    case event_kind::step: return "step";
    case event_kind::park: return "park";
    case event_kind::wake: return "wake";
    case event_kind::cancel_requested: return "cancel";
    case event_kind::cancel_delivered: return "cancelled";
    case event_kind::deadline_fired: return "deadline";
    case event_kind::task_exit: return "exit";
    case event_kind::decision: return "decide";
    case event_kind::draw: return "draw";
    case event_kind::clock: return "clock";
  }
  return "unknown";
}

void encode_header(std::string& out, const options& opts) {
  out.clear();
  out += "{\"format\":";
  append_json_string(out, format_name);
  out += ",\"version\":";
  append_i64(out, format_version);
  out += ",\"test\":";
  append_json_string(out, opts.test_name);
  out += ",\"seed\":";
  append_u64(out, opts.seed);
  out += ",\"strategy\":{\"name\":";
  append_json_string(out, to_string(opts.strategy));
  if (opts.strategy == strategy::pct) {
    out += ",\"depth\":";
    append_i64(out, opts.pct_depth);
    out += ",\"steps\":";
    append_u64(out, opts.pct_steps);
  }
  out += "},\"options\":{\"max_steps\":";
  append_u64(out, opts.max_steps);
  out += ",\"max_virtual_time_ns\":";
  append_i64(out, opts.max_virtual_time.count());
  out += "}}";
}

namespace {
void task_fields(std::string& out, const kernel_event& e) {
  out += ",\"task\":";
  append_u64(out, e.task);
  out += ",\"name\":";
  append_json_string(out, e.task_name);
}
void bool_field(std::string& out, const char* key, bool v) {
  out += key;
  out += v ? "true" : "false";
}
}  // namespace

void encode_event(std::string& out, const kernel_event& e) {
  out.clear();
  out += "{\"i\":";
  append_u64(out, e.step);
  out += ",\"t\":";
  append_i64(out, e.time);
  out += ",\"ev\":\"";
  out += event_name(e.kind);
  out += '"';
  switch (e.kind) {
    case event_kind::spawn:
      task_fields(out, e);
      out += ",\"parent\":";
      append_u64(out, e.other);
      break;
    case event_kind::step:
    case event_kind::cancel_delivered: task_fields(out, e); break;
    case event_kind::park:
      task_fields(out, e);
      out += ",\"wait\":";
      append_json_string(out, e.detail);
      break;
    case event_kind::wake:
      task_fields(out, e);
      bool_field(out, ",\"error\":", e.flag);
      break;
    case event_kind::cancel_requested:
      task_fields(out, e);
      out += ",\"scope\":";
      append_u64(out, e.other);
      out += ",\"reason\":";
      append_json_string(out, e.detail);
      break;
    case event_kind::deadline_fired:
      out += ",\"scope\":";
      append_u64(out, e.other);
      break;
    case event_kind::task_exit:
      task_fields(out, e);
      out += ",\"outcome\":";
      append_json_string(out, e.detail);
      bool_field(out, ",\"failed\":", e.flag);
      break;
    case event_kind::decision:
      task_fields(out, e);
      out += ",\"ready\":[";
      for (std::size_t i = 0; i < e.ready.size(); ++i) {
        if (i != 0) out += ',';
        append_u64(out, e.ready[i]);
      }
      out += "],\"chosen\":";
      append_u64(out, e.other);
      break;
    case event_kind::draw:
      out += ",\"purpose\":";
      append_json_string(out, e.detail);
      out += ",\"bound\":";
      append_u64(out, e.value2);
      out += ",\"value\":";
      append_u64(out, e.other);
      break;
    case event_kind::clock:
      out += ",\"from\":";
      append_i64(out, static_cast<std::int64_t>(e.other));
      break;
  }
  out += '}';
}

void encode_outcome(std::string& out, const run_outcome& o) {
  out.clear();
  out += "{\"outcome\":";
  append_json_string(out, o.kind);
  out += ",\"steps\":";
  append_u64(out, o.steps);
  out += ",\"t\":";
  append_i64(out, o.time);
  if (!o.exception_type.empty() || !o.message.empty()) {
    out += ",\"exception\":";
    append_json_string(out, o.exception_type);
    out += ",\"message\":";
    append_json_string(out, o.message);
  }
  if (!o.blocked.empty()) {
    out += ",\"blocked\":[";
    for (std::size_t i = 0; i < o.blocked.size(); ++i) {
      if (i != 0) out += ',';
      out += "{\"task\":";
      append_u64(out, o.blocked[i].id);
      out += ",\"name\":";
      append_json_string(out, o.blocked[i].name);
      out += ",\"wait\":";
      append_json_string(out, o.blocked[i].wait);
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

}  // namespace anyio::sim::codec
