// SPDX-License-Identifier: MIT
// `anyio-sim show`: a trace as a short story of the run. The header comes
// first (test, seed, strategy, the replay command), then one line per event
// with its virtual time and step, written in words in the task's own column
// (lane) so a reader can follow one task down the page; scheduler events
// (clock jumps, deadlines, draws) are marked '*'. When the tasks do not fit
// the width, each line is labelled with its task instead. The outcome, with
// the blocked tasks of a deadlock, comes last. The trace is read twice, the
// first time for the lanes and column widths, and never held in memory
// (unless it comes from a pipe). Given a sweep summary instead, show prints
// its totals and failures.
#include "tool.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace anyio::sim::tool {

const char* const show_usage =
    "usage: anyio-sim show [options] TRACE|SUMMARY\n"
    "\n"
    "Prints a run as a timeline: the header (test, seed, strategy, how to replay), one line\n"
    "per event with its virtual time and step, each task in its own column, and the outcome\n"
    "(with the blocked tasks of a deadlock). Lines marked '*' are the scheduler's: clock\n"
    "jumps, deadlines, random draws and network deliveries. TRACE '-' reads standard\n"
    "input. Given a sweep summary (the --json file of a sweep, or a merge), prints its\n"
    "totals and failures.\n"
    "\n"
    "options:\n"
    "  --no-steps     leave out the plain 'runs' lines (one per scheduling step)\n"
    "  --task ID      only the events of task ID: its own, the tasks it spawned, the\n"
    "                 decisions it took part in, and the clock\n"
    "  --width N      line width (default: $COLUMNS, else 100); when the tasks do not fit\n"
    "                 in columns, each line names its task instead\n"
    "  --program P    the test binary, for the replay command (default: <test-binary>)\n"
    "  -h, --help     this text\n";

namespace {

constexpr std::size_t min_lane = 14;
constexpr std::size_t max_lane = 30;
constexpr std::size_t max_ready_shown = 8;

struct task_info {
  std::string name;
  std::size_t lane = 0;
  bool unique_name = true;
  std::string last_kind;  ///< the task's previous event, to tell why it woke
};

/// Pads `l` with spaces to column `col`, or by one space if text already runs past it.
void pad_to(std::string& l, std::size_t col) {
  l.append(l.size() <= col ? col - l.size() : 1, ' ');
}

/// A trace to read twice. A file is opened again; a pipe or standard input
/// ("-") cannot be, so its text is kept for the second pass (the text alone:
/// parsed, a trace takes about ten times its size).
class trace_source {
 public:
  explicit trace_source(const std::string& path);
  trace_reader open() const {
    return text_ ? trace_reader(*text_, name_, unfinished_trace::accept)
                 : trace_reader(path_, unfinished_trace::accept);
  }
  /// The name for messages: the path, or "<stdin>".
  const std::string& name() const { return name_; }
  bool from_stdin() const { return path_ == "-"; }
  /// Whether this is a sweep summary rather than a trace.
  bool is_summary() const {
    return text_ ? is_sweep_summary(*text_) : file_is_sweep_summary(path_);
  }
  sweep_summary summary() const {
    return text_ ? parse_summary(*text_, name_) : read_summary(path_);
  }

 private:
  std::string path_;
  std::string name_;
  std::optional<std::string> text_;
};

trace_source::trace_source(const std::string& path)
    : path_(path), name_(path == "-" ? "<stdin>" : path) {
  if (path == "-") {
    std::ostringstream text;
    text << std::cin.rdbuf();
    if (std::cin.bad()) throw trace_error("<stdin>: cannot read", 0, "");
    text_ = text.str();
    return;
  }
  using type = std::filesystem::file_type;
  std::error_code ec;
  const type t = std::filesystem::status(path, ec).type();
  // Missing files, directories and unopenable ones: the reader reports them.
  if (ec || t == type::regular || t == type::directory || t == type::not_found) return;
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw trace_error(path + ": cannot read trace file", 0, "");
  text_ = text.str();
}

/// A sweep summary given to show: its totals and failures, as merge prints them.
void show_summary(output& out, const trace_source& source, const std::string& program) {
  const sweep_summary s = source.summary();
  out.print("anyio-sim sweep summary " + printable(source.name()));
  out.print("  tests         " + quoted(join(s.tests), 1000));
  out.print("  strategy      " + printable(s.strategy));
  out.print("  seeds         " + std::to_string(s.first_seed) + ".." +
            std::to_string(s.first_seed + s.seed_count) +
            (s.shard.count > 1 ? ", shard " + shard_name(s) : std::string()));
  out.print("  seeds run     " + std::to_string(s.seeds_run));
  out.print("  steps         " + std::to_string(s.steps));
  out.print("  virtual time  " + human_duration(s.virtual_time_ns));
  out.print("  failures      " + std::to_string(s.failures.size()));
  describe_failures(out, s, program);
}

class timeline {
 public:
  timeline(const trace_source& source, const std::string& path,
           std::optional<std::uint64_t> only, bool steps, std::size_t width)
      : source_(source), path_(path), only_(only), steps_(steps), width_(width) {}
  void print(output& out, const std::string& program);

 private:
  void collect_tasks(trace_reader& r);
  void layout();
  void header(output& out, const std::string& program);
  void lane_header(output& out);
  bool wanted(const trace_event& e) const;
  /// The lane owner (0 for scheduler events) and the text, without the subject.
  std::pair<std::uint64_t, std::string> describe(const trace_event& e);
  void event(output& out, const trace_event& e);
  std::string label(std::uint64_t id) const;
  std::string subject(std::uint64_t id) const;

  const trace_source& source_;
  std::string path_;
  trace_header header_;
  std::uint64_t events_ = 0;
  std::int64_t last_time_ = 0;   ///< the latest event time (0 without events)
  std::uint64_t last_step_ = 0;  ///< the highest event step
  std::optional<std::uint64_t> only_;
  bool steps_;
  std::size_t width_;
  std::unordered_map<std::uint64_t, task_info> tasks_;
  std::vector<std::uint64_t> order_;  ///< task ids in lane order
  int decimals_ = 3;
  std::size_t time_w_ = 0, step_w_ = 4, prefix_w_ = 0, lane_w_ = 0, marker_w_ = 0;
  bool columns_ = true;
};

void timeline::collect_tasks(trace_reader& r) {
  std::unordered_map<std::string, std::uint64_t> first_with_name;
  auto add = [&](std::uint64_t id, const std::string& name) {
    if (id == 0 || tasks_.count(id) != 0) return;
    task_info& info = tasks_[id];
    info.name = quoted(name, 80);
    info.lane = order_.size();
    order_.push_back(id);
    auto [it, fresh] = first_with_name.emplace(info.name, id);
    if (!fresh) info.unique_name = tasks_[it->second].unique_name = false;
  };
  header_ = r.header();
  while (const trace_event* e = r.next()) {
    add(e->task, e->name);
    decimals_ = std::max(decimals_, decimals_for(e->time));
    last_time_ = events_ == 0 ? e->time : std::max(last_time_, e->time);
    last_step_ = events_ == 0 ? e->step : std::max(last_step_, e->step);
    ++events_;
  }
  decimals_ = std::max(decimals_, decimals_for(r.outcome().time));
}

void timeline::layout() {
  time_w_ = std::max<std::size_t>(6, 2 + seconds(last_time_, decimals_).size());
  step_w_ = std::max<std::size_t>(4, std::to_string(last_step_).size());
  prefix_w_ = time_w_ + 2 + step_w_ + 2;
  const std::size_t lanes = only_ ? 1 : std::max<std::size_t>(1, order_.size());
  const std::size_t room = width_ > prefix_w_ ? width_ - prefix_w_ : 0;
  columns_ = room >= lanes * min_lane;
  lane_w_ = std::min(max_lane, columns_ ? room / lanes : min_lane);
  for (std::uint64_t id : order_)
    marker_w_ = std::max(marker_w_, std::min<std::size_t>(subject(id).size(), 28));
}

std::string timeline::label(std::uint64_t id) const {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.name.empty()) return "#" + std::to_string(id);
  if (it->second.unique_name) return it->second.name;
  return it->second.name + "#" + std::to_string(id);
}

std::string timeline::subject(std::uint64_t id) const {
  auto it = tasks_.find(id);
  std::string name = it == tasks_.end() ? std::string() : it->second.name;
  return "task " + std::to_string(id) + " '" + name + "'";
}

void timeline::header(output& out, const std::string& program) {
  const trace_header& h = header_;
  out.print("anyio-sim trace " + printable(path_));
  out.print("  test      " + quoted(h.test));
  out.print("  seed      " + std::to_string(h.seed));
  out.print("  strategy  " + describe_strategy(h));
  out.print("  limits    " + describe_limits(h));
  // Standard input has no name to replay from: a placeholder for the file.
  out.print("  replay    " + printable(program + " " + shell_quote(h.test) + " --anyio-replay " +
                                      (source_.from_stdin() ? "TRACE" : shell_quote(path_))));
  out.print("  events    " + std::to_string(events_) + ", tasks " +
            std::to_string(order_.size()));
  out.print("");
}

void timeline::lane_header(output& out) {
  std::string& l = out.line();
  const std::size_t start = l.size();
  pad_to(l, start + time_w_ - 4);
  l += "time";
  pad_to(l, start + time_w_ + 2 + step_w_ - 4);
  l += "step";
  pad_to(l, start + prefix_w_);
  if (columns_) {
    for (std::uint64_t id : order_) {
      if (only_ && id != *only_) continue;
      std::string name = std::to_string(id) + " " + tasks_[id].name;
      if (name.size() >= lane_w_) name.resize(lane_w_ - 1);
      name.resize(lane_w_, ' ');
      l += name;
    }
    while (l.size() > start && l.back() == ' ') l.pop_back();
  } else {
    l += "task, event";
  }
  out.end_line();
}

bool timeline::wanted(const trace_event& e) const {
  if (!steps_ && e.kind == "step") return false;
  if (!only_) return true;
  const std::uint64_t id = *only_;
  if (e.task == id || e.kind == "clock") return true;
  if (e.kind == "spawn") return e.parent == id;
  if (e.kind == "decide") return std::find(e.ready.begin(), e.ready.end(), id) != e.ready.end();
  return false;
}

std::pair<std::uint64_t, std::string> timeline::describe(const trace_event& e) {
  const std::string& k = e.kind;
  std::string prev;
  if (e.task != 0) {
    auto it = tasks_.find(e.task);
    if (it != tasks_.end()) prev = std::exchange(it->second.last_kind, k);
  }
  if (k == "step") return {e.task, "runs"};
  if (k == "park") return {e.task, "parks: " + quoted(e.wait)};
  if (k == "wake") {
    if (!e.error) return {e.task, "wakes"};
    return {e.task, prev == "cancelled" ? "wakes: cancelled" : "wakes with an exception"};
  }
  if (k == "spawn") {
    if (only_ && e.task != *only_) return {*only_, "spawns " + subject(e.task)};
    if (e.parent == 0) return {e.task, "starts (the main task)"};
    return {e.task, "spawned by '" + label(e.parent) + "'"};
  }
  if (k == "decide") {
    // The decide line stands for the step it decides: "ran", not "will run".
    // A long ready list would bury the line; the trace has it in full.
    std::string text = "decision: ran '" + label(e.task) + "' (ready:";
    const std::size_t shown = std::min<std::size_t>(e.ready.size(), max_ready_shown);
    for (std::size_t i = 0; i < shown; ++i) text += (i == 0 ? " " : ", ") + label(e.ready[i]);
    const std::uint64_t total = std::max<std::uint64_t>(e.ready_total, e.ready.size());
    if (total > shown) text += " and " + std::to_string(total - shown) + " more";
    return {only_ ? *only_ : e.task, text + ")"};
  }
  if (k == "cancel")
    return {e.task, "scope " + std::to_string(e.scope) + " cancelled (" + quoted(e.reason) +
                        ")"};
  if (k == "cancelled") return {e.task, "gets anyio::cancelled"};
  if (k == "exit")
    return {e.task, e.failed ? "exits with " + quoted(e.outcome) : "exits (" +
                                                                          quoted(e.outcome) +
                                                                          ")"};
  if (k == "deadline") return {0, "* deadline of scope " + std::to_string(e.scope) + " expires"};
  if (k == "clock") {
    // Wrapping arithmetic: a hostile trace's "from" must not overflow a subtraction.
    const auto jump = static_cast<std::int64_t>(static_cast<std::uint64_t>(e.time) -
                                                static_cast<std::uint64_t>(e.from));
    return {0, "* clock jumps +" + human_duration(jump) + " to t=" + seconds(e.time, decimals_)};
  }
  if (k == "draw")
    return {0, "* draw '" + quoted(e.purpose) + "': " + std::to_string(e.value) + " in [0, " +
                   std::to_string(e.bound) + ")"};
  if (k == "net") {
    std::string text = "* net " + quoted(e.op) + " " + quoted(e.src) + " -> " + quoted(e.dst);
    if (e.bytes != 0) text += " (" + std::to_string(e.bytes) + " bytes)";
    return {0, text};
  }
  if (k == "fs") {
    std::string text = "* fs " + quoted(e.op) + " " + quoted(e.path);
    if (e.bytes != 0) text += " (" + std::to_string(e.bytes) + " bytes)";
    if (e.result != "ok") text += ": " + quoted(e.result);
    return {0, text};
  }
  if (k == "process") {
    std::string text = "* process " + quoted(e.op) + " '" + quoted(e.program) + "'";
    if (e.pid != 0) text += " pid " + std::to_string(e.pid);
    if (e.op == "exit") text += " status " + std::to_string(e.code);
    if (e.op == "signal") text += " signal " + std::to_string(e.code);
    return {0, text};
  }
  return {e.task, k};
}

void timeline::event(output& out, const trace_event& e) {
  auto [owner, text] = describe(e);
  std::string& l = out.line();
  const std::size_t start = l.size();
  std::string time = "t=" + seconds(e.time, decimals_);
  std::string step = std::to_string(e.step);
  pad_to(l, start + time_w_ - std::min(time_w_, time.size()));
  l += time;
  pad_to(l, start + time_w_ + 2 + step_w_ - std::min(step_w_, step.size()));
  l += step;
  pad_to(l, start + prefix_w_);
  if (owner == 0) {
    l += text;
  } else if (columns_) {
    const std::size_t lane = only_ ? 0 : tasks_[owner].lane;
    pad_to(l, start + prefix_w_ + lane * lane_w_);
    l += text;
  } else {
    std::string who = subject(owner);
    l += who;
    pad_to(l, start + prefix_w_ + marker_w_ + 2);
    l += text;
  }
  out.end_line();
}

void timeline::print(output& out, const std::string& program) {
  // The first pass also checks the whole trace, so a malformed one prints
  // nothing but the error.
  trace_reader first = source_.open();
  collect_tasks(first);
  if (only_ && tasks_.count(*only_) == 0)
    throw usage_error("there is no task " + std::to_string(*only_) + " in " + path_ + " (" +
                      std::to_string(order_.size()) + " tasks; 'anyio-sim stats' lists them)");
  layout();
  header(out, program);
  lane_header(out);
  trace_reader r = source_.open();
  while (const trace_event* next = r.next()) {
    const trace_event& e = *next;
    if (wanted(e)) {
      event(out, e);
    } else if (e.task != 0) {
      auto it = tasks_.find(e.task);
      if (it != tasks_.end()) it->second.last_kind = e.kind;
    }
  }
  out.print("");
  for (const std::string& line : describe_outcome(r.outcome())) out.print(line);
}

std::size_t default_width() {
  const char* columns = std::getenv("COLUMNS");
  if (columns != nullptr) {
    char* end = nullptr;
    unsigned long n = std::strtoul(columns, &end, 10);
    if (end != columns && *end == '\0' && n >= 40 && n <= 1000) return n;
  }
  return 100;
}

}  // namespace

int run_show(const std::vector<std::string>& args) {
  arguments a(args, {"--task", "--width", "--program"}, {"--no-steps"});
  if (a.help()) {
    std::fputs(show_usage, stdout);
    return exit_ok;
  }
  if (a.operands().size() != 1)
    throw usage_error(a.operands().empty() ? "no TRACE given" : "expected one TRACE, got " +
                                                                   std::to_string(
                                                                       a.operands().size()));
  std::optional<std::uint64_t> only;
  if (a.value("--task")) only = a.number("--task", 0, 1, UINT64_MAX);
  const std::size_t width = a.number("--width", default_width(), 40, 1000);
  const trace_source source(a.operands()[0]);
  const std::string program = a.value("--program").value_or("<test-binary>");
  output out;
  try {
    timeline(source, source.name(), only, !a.flag("--no-steps"), width).print(out, program);
  } catch (const trace_error& e) {
    // A bad first line: perhaps not a trace at all, but a sweep summary.
    if (e.line() != 1 || !source.is_summary()) throw;
    if (only) throw usage_error("--task applies to traces; " + source.name() +
                                " is a sweep summary");
    show_summary(out, source, program);
  }
  return exit_ok;
}

}  // namespace anyio::sim::tool
