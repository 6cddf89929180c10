// SPDX-License-Identifier: MIT
// Trace line encoding; see trace_codec.hpp for why it is hand-written and
// docs/trace-format.md for the schema (traces/trace.schema.json). Events are
// written with raw pointers into a buffer the caller sized with
// event_size_bound(); header and outcome lines are rare and use strings.
#include "trace_codec.hpp"

#include <anyio/sim_world.hpp>

#include <algorithm>
#include <cstring>

namespace anyio::sim::codec {

namespace {

constexpr char hex[] = "0123456789abcdef";

inline bool needs_escape(unsigned char c) noexcept { return c < 0x20 || c == '"' || c == '\\'; }

// Key fragments are literals: a fixed-size memcpy compiles to a few moves.
template <std::size_t N> char* put(char* p, const char (&s)[N]) noexcept {
  std::memcpy(p, s, N - 1);
  return p + (N - 1);
}

// Fragments, names and digits are short: copy them inline with two
// overlapping fixed-size moves instead of a call into libc's memcpy, which
// was a sixth of an event-heavy traced run (bench/sim_tracing.cpp).
template <std::size_t K> inline void move_two(char* p, const char* s, std::size_t n) noexcept {
  char a[K], b[K];
  std::memcpy(a, s, K);
  std::memcpy(b, s + n - K, K);
  std::memcpy(p, a, K);
  std::memcpy(p + n - K, b, K);
}

char* put_bytes(char* p, const char* s, std::size_t n) noexcept {
  if (n >= 16) {
    if (n <= 32) move_two<16>(p, s, n);
    else if (n <= 64) move_two<32>(p, s, n);
    else std::memcpy(p, s, n);
  } else if (n >= 8) {
    move_two<8>(p, s, n);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = s[i];
  }
  return p + n;
}

// Two digits per step from a table: std::to_chars was a tenth of the cost of
// a traced step (bench/sim_tracing.cpp).
constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

char* put_u64(char* p, std::uint64_t v) noexcept {
  if (v < 10) {  // task ids, indices, flags: most numbers in a trace are small
    *p = static_cast<char>('0' + v);
    return p + 1;
  }
  if (v < 100) {
    p[0] = digit_pairs[v * 2];
    p[1] = digit_pairs[v * 2 + 1];
    return p + 2;
  }
  char tmp[20];
  char* t = tmp + sizeof tmp;
  while (v >= 100) {
    const auto pair = static_cast<unsigned>(v % 100) * 2;
    v /= 100;
    *--t = digit_pairs[pair + 1];
    *--t = digit_pairs[pair];
  }
  if (v >= 10) {
    const auto pair = static_cast<unsigned>(v) * 2;
    *--t = digit_pairs[pair + 1];
    *--t = digit_pairs[pair];
  } else {
    *--t = static_cast<char>('0' + v);
  }
  return put_bytes(p, t, static_cast<std::size_t>(tmp + sizeof tmp - t));
}

char* put_i64(char* p, std::int64_t v) noexcept {
  if (v >= 0) return put_u64(p, static_cast<std::uint64_t>(v));
  *p++ = '-';
  return put_u64(p, ~static_cast<std::uint64_t>(v) + 1);  // also right for INT64_MIN
}

// Bytes up to the first that JSON must escape, eight at a time (names and
// wait descriptions rarely have one). has_below(x, n) is the classic test
// for a byte of x below n; it is exact as an any-byte test for n <= 128.
constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
constexpr std::uint64_t has_below(std::uint64_t x, unsigned n) noexcept {
  return (x - ones * n) & ~x & highs;
}

std::size_t plain_prefix(std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (has_below(w, 0x20) | has_below(w ^ (ones * '"'), 1) | has_below(w ^ (ones * '\\'), 1))
      break;
  }
  while (i < s.size() && !needs_escape(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

char* put_json_string(char* p, std::string_view s) noexcept {
  *p++ = '"';
  std::size_t i = plain_prefix(s);
  p = put_bytes(p, s.data(), i);
  for (; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    switch (s[i]) {
      case '"': p = put(p, "\\\""); break;
      case '\\': p = put(p, "\\\\"); break;
      case '\n': p = put(p, "\\n"); break;
      case '\r': p = put(p, "\\r"); break;
      case '\t': p = put(p, "\\t"); break;
      default:
        if (u < 0x20) {
          p = put(p, "\\u00");
          *p++ = hex[u >> 4];
          *p++ = hex[u & 15];
        } else {
          *p++ = s[i];
        }
    }
  }
  *p++ = '"';
  return p;
}

// `<key><value>` for the three kinds of value a trace line holds.
template <std::size_t N> char* u64_field(char* p, const char (&key)[N], std::uint64_t v) noexcept {
  return put_u64(put(p, key), v);
}
template <std::size_t N> char* i64_field(char* p, const char (&key)[N], std::int64_t v) noexcept {
  return put_i64(put(p, key), v);
}
template <std::size_t N>
char* string_field(char* p, const char (&key)[N], std::string_view v) noexcept {
  return put_json_string(put(p, key), v);
}

char* task_fields(char* p, std::uint64_t task, std::string_view name) noexcept {
  return string_field(u64_field(p, ",\"task\":", task), ",\"name\":", name);
}

char* prefix_fields(char* p, std::uint64_t step, std::int64_t time) noexcept {
  return i64_field(u64_field(p, "{\"i\":", step), ",\"t\":", time);
}

template <std::size_t N> char* bool_field(char* p, const char (&key)[N], bool v) noexcept {
  p = put(p, key);
  return v ? put(p, "true") : put(p, "false");
}

char* decide_fields(char* p, const std::uint64_t* ids, std::size_t listed, std::uint64_t total,
                    std::uint64_t chosen) noexcept {
  p = put(p, ",\"ready\":[");
  for (std::size_t i = 0; i < listed; ++i) {
    if (i != 0) *p++ = ',';
    p = put_u64(p, ids[i]);
  }
  *p++ = ']';
  if (listed < total) p = u64_field(p, ",\"ready_total\":", total);
  return u64_field(p, ",\"chosen\":", chosen);
}

char* put_view(char* p, std::string_view s) noexcept { return put_bytes(p, s.data(), s.size()); }

// `,"ev":"<name>"` for each kind, with its length known.
std::string_view ev_field(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::spawn: return ",\"ev\":\"spawn\"";
    case event_kind::step: return ",\"ev\":\"step\"";
    case event_kind::park: return ",\"ev\":\"park\"";
    case event_kind::wake: return ",\"ev\":\"wake\"";
    case event_kind::cancel_requested: return ",\"ev\":\"cancel\"";
    case event_kind::cancel_delivered: return ",\"ev\":\"cancelled\"";
    case event_kind::deadline_fired: return ",\"ev\":\"deadline\"";
    case event_kind::task_exit: return ",\"ev\":\"exit\"";
    case event_kind::decision: return ",\"ev\":\"decide\"";
    case event_kind::draw: return ",\"ev\":\"draw\"";
    case event_kind::clock: return ",\"ev\":\"clock\"";
    case event_kind::cancel_point: break;  // not a trace event (sim_backend::on_event)
  }
  return ",\"ev\":\"unknown\"";
}

// Append what write(char*) -> char* writes, given an upper bound on its size.
template <class Write> void append_bounded(std::string& out, std::size_t bound, Write write) {
  const std::size_t at = out.size();
  out.resize(at + bound);
  out.resize(static_cast<std::size_t>(write(out.data() + at) - out.data()));
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  append_bounded(out, 2 + 6 * s.size(), [&](char* p) { return put_json_string(p, s); });
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
    case event_kind::cancel_point: break;  // not a trace event
  }
  return "unknown";
}

void encode_header(std::string& out, const options& opts) {
  out.clear();
  out += "{\"format\":";
  append_json_string(out, format_name);
  out += ",\"version\":" + std::to_string(format_version);
  out += ",\"test\":";
  append_json_string(out, opts.test_name);
  out += ",\"seed\":" + std::to_string(opts.seed);
  out += ",\"strategy\":{\"name\":";
  append_json_string(out, to_string(opts.strategy));
  if (opts.strategy == strategy::pct) {
    out += ",\"depth\":" + std::to_string(opts.pct_depth);
    out += ",\"steps\":" + std::to_string(opts.pct_steps);
  }
  if (opts.strategy == strategy::exhaustive)
    out += ",\"preemption_bound\":" + std::to_string(opts.preemption_bound);
  out += "},\"options\":{\"max_steps\":" + std::to_string(opts.max_steps);
  out += ",\"max_virtual_time_ns\":" + std::to_string(opts.max_virtual_time.count());
  if (opts.liveness_after.count() > 0) {  // only then: other headers stay as they were
    out += ",\"liveness_after_ns\":" + std::to_string(opts.liveness_after.count());
    out += ",\"liveness_bound_ns\":" + std::to_string(opts.liveness_bound.count());
  }
  if (opts.plan) out += ",\"plan\":" + opts.plan->to_json();  // only then, as liveness
  out += "}}";
}

char* encode_event(char* p, const kernel_event& e, const fragments& reuse) noexcept {
  p = reuse.prefix.empty() ? prefix_fields(p, e.step, e.time)
                           : put_bytes(p, reuse.prefix.data(), reuse.prefix.size());
  p = put_view(p, ev_field(e.kind));
  auto task = [&](char* q) {
    return reuse.task.empty() ? task_fields(q, e.task, e.task_name)
                              : put_bytes(q, reuse.task.data(), reuse.task.size());
  };
  switch (e.kind) {
    case event_kind::spawn:
      p = u64_field(task(p), ",\"parent\":", e.other);
      break;
    case event_kind::step:
    case event_kind::cancel_delivered: p = task(p); break;
    case event_kind::park:
      p = string_field(task(p), ",\"wait\":", e.detail);
      break;
    case event_kind::wake:
      p = bool_field(task(p), ",\"error\":", e.flag);
      break;
    case event_kind::cancel_requested:
      p = u64_field(task(p), ",\"scope\":", e.other);
      p = string_field(p, ",\"reason\":", e.detail);
      break;
    case event_kind::deadline_fired:
      p = u64_field(p, ",\"scope\":", e.other);
      break;
    case event_kind::task_exit:
      p = string_field(task(p), ",\"outcome\":", e.detail);
      p = bool_field(p, ",\"failed\":", e.flag);
      break;
    case event_kind::decision:  // value2: the number of ready tasks; other: the index chosen
      p = decide_fields(task(p), e.ready.data(), std::min(e.ready.size(), max_ready_listed),
                        e.value2, e.other);
      break;
    case event_kind::draw:
      p = string_field(p, ",\"purpose\":", e.detail);
      p = u64_field(p, ",\"bound\":", e.value2);
      p = u64_field(p, ",\"value\":", e.other);
      break;
    case event_kind::clock:
      p = i64_field(p, ",\"from\":", static_cast<std::int64_t>(e.other));
      break;
    case event_kind::cancel_point: p = task(p); break;  // never written: see on_event
  }
  *p++ = '}';
  return p;
}

char* encode_decide(char* p, const fragments& reuse, const std::uint64_t* ids, std::size_t listed,
                    std::uint64_t total, std::uint64_t chosen) noexcept {
  p = put_bytes(p, reuse.prefix.data(), reuse.prefix.size());
  p = put(p, ",\"ev\":\"decide\"");
  p = put_bytes(p, reuse.task.data(), reuse.task.size());
  p = decide_fields(p, ids, listed, total, chosen);
  *p++ = '}';
  return p;
}

char* encode_net(char* p, const fragments& reuse, std::string_view op, std::string_view src,
                 std::string_view dst, std::uint64_t bytes) noexcept {
  p = put_bytes(p, reuse.prefix.data(), reuse.prefix.size());
  p = put(p, ",\"ev\":\"net\"");
  p = string_field(p, ",\"op\":", op);
  p = string_field(p, ",\"src\":", src);
  p = string_field(p, ",\"dst\":", dst);
  p = u64_field(p, ",\"bytes\":", bytes);
  *p++ = '}';
  return p;
}

char* encode_fs(char* p, const fragments& reuse, std::string_view op, std::string_view path,
                std::uint64_t bytes, std::string_view result) noexcept {
  p = put_bytes(p, reuse.prefix.data(), reuse.prefix.size());
  p = put(p, ",\"ev\":\"fs\"");
  p = string_field(p, ",\"op\":", op);
  p = string_field(p, ",\"path\":", path);
  p = u64_field(p, ",\"bytes\":", bytes);
  p = string_field(p, ",\"result\":", result);
  *p++ = '}';
  return p;
}

char* encode_process(char* p, const fragments& reuse, std::string_view op,
                     std::string_view program, std::int64_t pid, std::int64_t code) noexcept {
  p = put_bytes(p, reuse.prefix.data(), reuse.prefix.size());
  p = put(p, ",\"ev\":\"process\"");
  p = string_field(p, ",\"op\":", op);
  p = string_field(p, ",\"program\":", program);
  p = i64_field(p, ",\"pid\":", pid);
  p = i64_field(p, ",\"code\":", code);
  *p++ = '}';
  return p;
}

char* encode_prefix(char* out, std::uint64_t step, std::int64_t time) noexcept {
  return prefix_fields(out, step, time);
}

void encode_task(std::string& out, std::uint64_t task, std::string_view name) {
  out.clear();
  append_bounded(out, 40 + 6 * name.size(), [&](char* p) { return task_fields(p, task, name); });
}

void encode_event(std::string& out, const kernel_event& e) {
  out.clear();
  append_bounded(out, event_size_bound(e), [&](char* p) { return encode_event(p, e); });
}

void encode_outcome(std::string& out, const run_outcome& o) {
  out.clear();
  out += "{\"outcome\":";
  append_json_string(out, o.kind);
  out += ",\"steps\":" + std::to_string(o.steps);
  out += ",\"t\":" + std::to_string(o.time);
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
      out += "{\"task\":" + std::to_string(o.blocked[i].id) + ",\"name\":";
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
