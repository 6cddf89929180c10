// SPDX-License-Identifier: MIT
// `anyio-sim stats`: the numbers of one run — events per kind, per-task
// activity (steps, parks, wakes, cancellations, how it ended), scheduling
// decisions and preemptions, clock jumps and virtual time, the outcome. A
// preemption is a decision that did not pick the task that ran the previous
// step although that task was ready: the context switches a shrinker tries
// to remove, and the measure pct's depth bounds. The trace is streamed:
// memory grows with the number of tasks, not of events.
#include "tool.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace anyio::sim::tool {

const char* const stats_usage =
    "usage: anyio-sim stats TRACE\n"
    "\n"
    "Counts what happened in a run: events per kind; per task its steps, parks, wakes,\n"
    "cancellations and how it ended; scheduling decisions and preemptions (decisions that\n"
    "did not pick the task that ran the previous step although it was ready); clock jumps,\n"
    "virtual time and the outcome.\n"
    "\n"
    "options:\n"
    "  -h, --help     this text\n";

namespace {

constexpr std::array<const char*, 14> kinds = {"spawn",  "step",   "park",     "wake",
                                               "cancel", "cancelled", "deadline", "exit",
                                               "decide", "draw",   "clock",    "net",
                                               "fs", "process"};

struct task_counts {
  std::string name;
  std::uint64_t steps = 0, parks = 0, wakes = 0, cancels = 0, cancelled = 0;
  std::string end = "(no exit)";
};

struct run_counts {
  std::array<std::uint64_t, kinds.size()> per_kind{};
  std::map<std::uint64_t, task_counts> tasks;  // ordered by id for the table
  std::uint64_t decisions = 0, preemptions = 0, largest_ready = 0;
  std::uint64_t clock_jumps = 0, draws = 0;
};

std::size_t kind_index(const std::string& kind) {
  for (std::size_t i = 0; i < kinds.size(); ++i)
    if (kind == kinds[i]) return i;
  return kinds.size();  // the reader rejects unknown kinds; keep going regardless
}

/// The task that takes each step: a decide line stands for the step it
/// decides (docs/trace-format.md), so the step line is not repeated; a step
/// line that does repeat it (same step, same task) is not counted twice.
struct step_tracker {
  std::uint64_t last_task = 0;  ///< the task of the most recent step
  std::uint64_t decided_step = 0, decided_task = 0;
  bool is_new_step(const trace_event& e) {
    if (e.kind == "decide") {
      decided_step = e.step;
      decided_task = e.task;
      return true;
    }
    return !(e.step == decided_step && e.task == decided_task);
  }
};

void count_decision(run_counts& c, const trace_event& e, std::uint64_t previous) {
  ++c.decisions;
  const std::uint64_t ready = std::max<std::uint64_t>(e.ready_total, e.ready.size());
  c.largest_ready = std::max(c.largest_ready, ready);
  // Only the first 32 ready tasks are listed; the previous task may be past
  // them, so a preemption is counted only when it is seen to be ready.
  const bool was_ready = std::find(e.ready.begin(), e.ready.end(), previous) != e.ready.end();
  if (previous != 0 && was_ready && e.task != previous) ++c.preemptions;
}

run_counts count(trace_reader& r) {
  run_counts c;
  step_tracker steps;
  while (const trace_event* next = r.next()) {
    const trace_event& e = *next;
    const std::size_t k = kind_index(e.kind);
    if (k < kinds.size()) ++c.per_kind[k];
    // Every kind but deadline, draw, clock, net, fs and process names a task
    // (the reader checks it is there, though not that it is non-zero).
    const bool has_task = e.kind != "deadline" && e.kind != "draw" && e.kind != "clock" &&
                          e.kind != "net" && e.kind != "fs" && e.kind != "process";
    task_counts scratch;
    task_counts* task = has_task ? &c.tasks[e.task] : &scratch;
    if (task->name.empty()) task->name = quoted(e.name, 80);
    if (e.kind == "decide") count_decision(c, e, steps.last_task);
    if ((e.kind == "step" || e.kind == "decide") && steps.is_new_step(e)) {
      ++task->steps;
      steps.last_task = e.task;
    } else if (e.kind == "park") {
      ++task->parks;
    } else if (e.kind == "wake") {
      ++task->wakes;
    } else if (e.kind == "cancel") {
      ++task->cancels;
    } else if (e.kind == "cancelled") {
      ++task->cancelled;
    } else if (e.kind == "exit") {
      task->end = e.failed ? "failed" : "ok";
    } else if (e.kind == "clock") {
      ++c.clock_jumps;
    } else if (e.kind == "draw") {
      ++c.draws;
    }
  }
  return c;
}

std::string pad_left(const std::string& s, std::size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}
std::string pad_right(std::string s, std::size_t w) {
  if (s.size() < w) s.resize(w, ' ');
  return s;
}

void print_tasks(output& out, const run_counts& c) {
  std::size_t name_w = 4;
  for (const auto& [id, tc] : c.tasks)
    name_w = std::max(name_w, std::min<std::size_t>(tc.name.size(), 24));
  std::size_t id_w = 4;
  if (!c.tasks.empty()) id_w = std::max(id_w, std::to_string(c.tasks.rbegin()->first).size());
  out.print("tasks         " + std::to_string(c.tasks.size()));
  out.print("  " + pad_left("id", id_w) + "  " + pad_right("name", name_w) +
            "     steps     parks     wakes   cancels cancelled  end");
  for (const auto& [id, tc] : c.tasks) {
    std::string name = tc.name.size() > 24 ? tc.name.substr(0, 23) + "~" : tc.name;
    out.print("  " + pad_left(std::to_string(id), id_w) + "  " + pad_right(name, name_w) +
              pad_left(std::to_string(tc.steps), 10) + pad_left(std::to_string(tc.parks), 10) +
              pad_left(std::to_string(tc.wakes), 10) + pad_left(std::to_string(tc.cancels), 10) +
              pad_left(std::to_string(tc.cancelled), 10) + "  " + tc.end);
  }
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.1f%% of decisions)",
                100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

}  // namespace

int run_stats(const std::vector<std::string>& args) {
  arguments a(args, {}, {});
  if (a.help()) {
    std::fputs(stats_usage, stdout);
    return exit_ok;
  }
  if (a.operands().size() != 1)
    throw usage_error(a.operands().empty() ? "no TRACE given"
                                           : "expected one TRACE, got " +
                                                 std::to_string(a.operands().size()));
  trace_reader r = open_trace(a.operands()[0]);
  const run_counts c = count(r);
  const trace_header& h = r.header();
  const trace_outcome& o = r.outcome();
  output out;
  std::vector<std::string> outcome = describe_outcome(o);
  outcome[0].replace(0, std::string("outcome: ").size(), "outcome       ");
  out.print("trace         " + printable(r.source()));
  out.print("test          " + quoted(h.test) + " (seed " + std::to_string(h.seed) +
            ", strategy " + describe_strategy(h) + ")");
  for (const std::string& line : outcome) out.print(line);
  out.print("virtual time  " + human_duration(o.time) + " (" + std::to_string(c.clock_jumps) +
            " clock jump" + (c.clock_jumps == 1 ? ")" : "s)"));
  std::uint64_t steps = 0;
  for (const auto& [id, tc] : c.tasks) steps += tc.steps;
  out.print("events        " + std::to_string(r.events_read()));
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    // fs lines are newer than this report's format: listed only when present.
    if (c.per_kind[k] == 0 && std::string_view(kinds[k]) == "fs") continue;
    out.print("  " + pad_right(kinds[k], 10) + pad_left(std::to_string(c.per_kind[k]), 10));
  }
  out.print("decisions     " + std::to_string(c.decisions) + " (largest ready set: " +
            std::to_string(c.largest_ready) + " tasks)");
  out.print("preemptions   " + std::to_string(c.preemptions) +
            percent(c.preemptions, c.decisions));
  // The two counts differ only in a trace that was cut or edited.
  out.print("steps         " + std::to_string(steps) +
            (steps == o.steps ? std::string()
                              : " (but the outcome line says " + std::to_string(o.steps) + ")"));
  out.print("draws         " + std::to_string(c.draws));
  print_tasks(out, c);
  return exit_ok;
}

}  // namespace anyio::sim::tool
