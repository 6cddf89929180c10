// SPDX-License-Identifier: MIT
// `anyio-sim html`: a trace (or two, with --diff) as one self-contained HTML
// page, an interactive timeline drawn on a canvas: a lane per task, parks as
// spans labelled with what the task waited for, decisions, cancellations,
// failures, network deliveries, zoom, pan, search and the full trace line of
// any event. The page itself is sim/tool/timeline.html, embedded at build
// time (embed_html.cmake); this file only turns traces into its data. Each
// trace goes in twice: compact numeric arrays for drawing (seven numbers per
// event, strings interned), and the raw lines, for the details of a clicked
// event, so that kinds this file does not know (newer simulators write more)
// still show in full as generic point events. Nothing in the page refers to
// anything outside it, so it opens from file:// and as a CI artifact.
#include "tool.hpp"
#include "timeline_html.hpp"  // generated: anyio_timeline_html_chunks

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace anyio::sim::tool {

const char* const html_usage =
    "usage: anyio-sim html [options] TRACE\n"
    "       anyio-sim html [options] --diff A B\n"
    "\n"
    "Writes one self-contained HTML file (no network access, no external files) that shows\n"
    "the run as an interactive timeline: a lane per task (grouped by host when the trace\n"
    "names hosts), parks as spans labelled with what the task waited for, decisions\n"
    "(preemptions in another colour), cancellations, exceptions, network deliveries and the\n"
    "virtual time. Wheel zooms, dragging pans, a click shows an event's trace line, and the\n"
    "search box highlights a task name or an event kind. With --diff, the two traces are\n"
    "stacked and the first difference (as 'anyio-sim diff' finds it) is marked.\n"
    "\n"
    "options:\n"
    "  -o FILE        where to write the page (default: TRACE.html, or A.diff.html)\n"
    "  --diff         compare two traces A and B\n"
    "  -h, --help     this text\n";

namespace {

/// Appends `s` as a JSON string whose text is safe inside a <script> element:
/// '<' is written \u003c, so no "</script>" or "<!--" can end or confuse it.
void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || c == '<' || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

/// A trace line inside a <script>: JSON lines have '<' only within strings,
/// where \u003c means the same.
void script_safe(std::string& out, std::string_view line) {
  for (char c : line) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
}

/// The value of `"key":"..."` in a trace line, raw (still JSON-escaped), or
/// empty. Used for fields this build's reader does not model (a host).
std::string raw_field(std::string_view line, std::string_view key) {
  const std::string pat = "\"" + std::string(key) + "\":\"";
  std::size_t at = line.find(pat);
  if (at == std::string_view::npos) return {};
  at += pat.size();
  std::size_t end = at;
  while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
  return std::string(line.substr(at, std::min(end, line.size()) - at));
}

struct task_row {
  std::uint64_t id = 0;
  std::string name, host;
  std::uint64_t parent = 0;
};

/// One trace as the page's data: {"file", "header", "outcome", "kinds",
/// "strs", "tasks", "ev", "net"} and the raw text; see timeline.html.
class page_data {
 public:
  explicit page_data(const std::string& path) : path_(path) {}
  void read();
  void write(std::string& out, int index, std::uint64_t diff_line) const;
  std::uint64_t events() const { return events_; }

 private:
  std::int64_t intern(const std::string& s);
  std::size_t kind(const std::string& k);
  void add(const trace_event& e);

  std::string path_;
  std::string header_, outcome_;
  std::vector<std::string> kinds_;
  std::vector<std::string> strs_;
  std::unordered_map<std::string, std::int64_t> str_index_;
  std::vector<task_row> tasks_;
  std::unordered_map<std::uint64_t, std::size_t> task_index_;
  std::string ev_;   ///< the flat event array's body
  std::string net_;  ///< [event, src, dst] triples
  std::string raw_;  ///< the event lines, script-safe, '\n'-separated
  std::uint64_t events_ = 0;
  std::uint64_t last_task_ = 0;  ///< the task that ran the latest step (preemptions)
};

std::int64_t page_data::intern(const std::string& s) {
  auto [it, fresh] = str_index_.emplace(s, static_cast<std::int64_t>(strs_.size()));
  if (fresh) strs_.push_back(s);
  return it->second;
}

std::size_t page_data::kind(const std::string& k) {
  for (std::size_t i = 0; i < kinds_.size(); ++i)
    if (kinds_[i] == k) return i;
  kinds_.push_back(k);
  return kinds_.size() - 1;
}

void page_data::add(const trace_event& e) {
  if (e.task != 0 && task_index_.count(e.task) == 0) {
    task_index_[e.task] = tasks_.size();
    tasks_.push_back({e.task, e.name, raw_field(e.text, "host"), 0});
  }
  if (e.task != 0) {
    task_row& t = tasks_[task_index_[e.task]];
    if (e.kind == "spawn") t.parent = e.parent;
    if (t.host.empty()) t.host = raw_field(e.text, "host");
  }
  std::int64_t str = -1;
  std::int64_t flag = 0;
  const std::string& k = e.kind;
  if (k == "park") {
    str = intern(e.wait);
  } else if (k == "wake") {
    flag = e.error ? 1 : 0;
  } else if (k == "spawn") {
    flag = static_cast<std::int64_t>(e.parent);
  } else if (k == "cancel") {
    str = intern(e.reason);
    flag = static_cast<std::int64_t>(e.scope);
  } else if (k == "deadline") {
    flag = static_cast<std::int64_t>(e.scope);
  } else if (k == "exit") {
    str = intern(e.outcome);
    flag = e.failed ? 1 : 0;
  } else if (k == "decide") {
    // A preemption as stats counts it: the task of the previous step was
    // ready (among the listed ones) and another was picked.
    const bool was_ready =
        std::find(e.ready.begin(), e.ready.end(), last_task_) != e.ready.end();
    flag = last_task_ != 0 && was_ready && e.task != last_task_ ? 1 : 0;
  } else if (k == "draw") {
    str = intern(e.purpose);
  } else if (k == "net") {
    str = intern(e.op);
    flag = static_cast<std::int64_t>(e.bytes);
    net_ += net_.empty() ? "" : ",";
    net_ += std::to_string(events_) + "," + std::to_string(intern(e.src)) + "," +
            std::to_string(intern(e.dst));
  }
  if ((k == "step" || k == "decide") && e.task != 0) last_task_ = e.task;
  if (!ev_.empty()) ev_ += ',';
  ev_ += std::to_string(kind(k));
  ev_ += ',' + std::to_string(e.step) + ',' + std::to_string(e.time) + ',' +
         std::to_string(e.task) + ',' + std::to_string(str) + ',' + std::to_string(flag) + ',' +
         std::to_string(e.line);
  script_safe(raw_, e.text);
  raw_ += '\n';
  ++events_;
}

void page_data::read() {
  trace_reader r = open_trace(path_);
  header_ = r.header().text;
  for (const char* k : {"spawn", "step", "park", "wake", "cancel", "cancelled", "deadline",
                        "exit", "decide", "draw", "clock", "net"})
    kind(k);
  while (const trace_event* e = r.next()) add(*e);
  if (r.finished()) outcome_ = r.outcome().text;
}

void page_data::write(std::string& out, int index, std::uint64_t diff_line) const {
  const std::string id = std::to_string(index);
  out += "<script type=\"application/json\" id=\"trace-data-" + id + "\">{\"file\":";
  json_string(out, path_);
  // Header and outcome lines are JSON objects already.
  out += ",\"header\":";
  script_safe(out, header_);
  out += ",\"outcome\":";
  if (outcome_.empty())
    out += "null";
  else
    script_safe(out, outcome_);
  out += ",\"diff_line\":" + std::to_string(diff_line) + ",\"kinds\":[";
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    if (i != 0) out += ',';
    json_string(out, kinds_[i]);
  }
  out += "],\"strs\":[";
  for (std::size_t i = 0; i < strs_.size(); ++i) {
    if (i != 0) out += ',';
    json_string(out, strs_[i]);
  }
  out += "],\"tasks\":[";
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    const task_row& t = tasks_[i];
    if (i != 0) out += ',';
    out += '[' + std::to_string(t.id) + ',';
    json_string(out, t.name);
    out += ',';
    json_string(out, t.host);
    out += ',' + std::to_string(t.parent) + ']';
  }
  out += "],\"ev\":[";
  out += ev_;
  out += "],\"net\":[";
  out += net_;
  out += "]}</script>\n<script type=\"text/plain\" id=\"trace-lines-" + id + "\">";
  out += raw_;
  out += "</script>\n";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
}

}  // namespace

int run_html(const std::vector<std::string>& args) {
  arguments a(args, {"-o", "--output"}, {"--diff"});
  if (a.help()) {
    std::fputs(html_usage, stdout);
    return exit_ok;
  }
  const bool diff = a.flag("--diff");
  const std::size_t want = diff ? 2 : 1;
  if (a.operands().size() != want)
    throw usage_error(diff ? "--diff needs two traces A B, got " +
                                 std::to_string(a.operands().size())
                           : a.operands().empty() ? std::string("no TRACE given")
                                                  : "expected one TRACE, got " +
                                                        std::to_string(a.operands().size()));
  for (const std::string& p : a.operands())
    if (p == "-") throw usage_error("html reads trace files, not standard input");
  const std::string out_path = a.value("-o").value_or(a.value("--output").value_or(
      a.operands()[0] + (diff ? ".diff.html" : ".html")));
  std::vector<page_data> traces;
  for (const std::string& p : a.operands()) {
    traces.emplace_back(p);
    traces.back().read();
  }
  std::uint64_t line_a = 0, line_b = 0;
  if (diff) {
    if (auto d = first_difference(a.operands()[0], a.operands()[1])) {
      line_a = d->first;
      line_b = d->second;
    }
  }
  // The page's template has one marker where the data goes.
  std::string page;
  for (std::string_view chunk : anyio_timeline_html_chunks) page += chunk;
  const std::string marker = "<!--ANYIO_TRACE_DATA-->";
  const std::size_t at = page.find(marker);
  if (at == std::string::npos) throw std::logic_error("timeline.html has no data marker");
  std::string data;
  for (std::size_t i = 0; i < traces.size(); ++i)
    traces[i].write(data, static_cast<int>(i), i == 0 ? line_a : line_b);
  page.replace(at, marker.size(), data);
  write_file(out_path, page);
  std::uint64_t events = 0;
  for (const page_data& t : traces) events += t.events();
  std::printf("wrote %s (%llu events%s); open it in a browser\n", printable(out_path).c_str(),
              static_cast<unsigned long long>(events),
              diff ? (line_a != 0 ? ", first difference marked" : ", traces identical") : "");
  return exit_ok;
}

}  // namespace anyio::sim::tool
