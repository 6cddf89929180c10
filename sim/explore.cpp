// SPDX-License-Identifier: MIT
// explore_cancellation: cancellation at every cancel point, one run per
// point. The body runs inside an outer cancel scope; an instrument counts the
// kernel's cancel_point events (cancellation checks and abortable waits, over
// all tasks — a wait nothing can abort would be a wasted run) and at the n-th
// cancels that scope — or, per task, the innermost scope of the task that
// reached it — before the kernel looks at cancellation there. Same seed every
// run, so point n of one run is point n of the next up to the cancellation.
// Checks follow the issue: no task left waiting (a deadlock), every shielded
// cleanup finished, no exception but the expected cancellation escaped, the
// invariant holds.
#include <anyio/cancel_scope.hpp>
#include <anyio/detail/assert.hpp>
#include <anyio/instrument.hpp>
#include <anyio/detail/explore_hooks.hpp>
#include <anyio/sim.hpp>

#include "sim_backend.hpp"

#include <filesystem>

namespace anyio::sim {

namespace {

// Counts cancel points; at point `at` (0: never) cancels. The event comes
// from the task reaching the point, while it runs, before its check.
class cancel_point_trap final : public instrument {
 public:
  cancel_point_trap(std::uint64_t at, bool per_task) : at_(at), per_task_(per_task) {}
  void on_event(const kernel_event& e) override {
    if (e.kind != event_kind::cancel_point || ++count_ != at_ || outer_ == nullptr) return;
    auto& t = anyio::detail::current_task_record("explore_cancellation");
    ANYIO_ASSERT(anyio::detail::task_id(t) == e.task);
    if (per_task_ && anyio::detail::cancel_innermost_scope(t)) {
      target_ = "the innermost scope of task " + std::to_string(e.task) + " '" +
                std::string(e.task_name) + "'";
      return;
    }
    target_ = "the outermost scope";
    outer_->cancel();
  }
  std::uint64_t count() const noexcept { return count_; }
  const std::string& target() const noexcept { return target_; }
  cancel_scope* outer_ = nullptr;

 private:
  std::uint64_t at_;
  bool per_task_;
  std::uint64_t count_ = 0;
  std::string target_{};
};

task<> under_trap(const body_fn& body, cancel_point_trap& trap) {
  cancel_scope outer;
  trap.outer_ = &outer;
  struct disarm {  // the scope dies with this frame, however it is left
    cancel_point_trap& trap;
    ~disarm() { trap.outer_ = nullptr; }
  } guard{trap};
  co_await outer.run([&]() -> task<> { co_await body(); });
}

struct run_report {
  run_outcome outcome;
  std::string target;
  std::uint64_t points = 0;  ///< cancel points reached
};

run_report run_point(const body_fn& body, const explore_options& opts, std::uint64_t point,
                     bool per_task, const std::string& trace_path) {
  if (opts.reset) opts.reset();
  options o;
  o.seed = opts.seed;
  o.strategy = opts.strategy;
  o.test_name = opts.test_name;
  o.trace_path = trace_path;
  o.max_steps = 10'000'000;  // a cancellation that makes the body spin is a finding too
  detail::sim_backend b(o, nullptr, nullptr, nullptr);
  cancel_point_trap trap(point, per_task);
  try {
    anyio::detail::run_on(b, anyio::detail::run_config{&trap},
                          [&]() { return under_trap(body, trap); });
  } catch (...) {  // the backend recorded how the run ended
  }
  return {b.outcome(), trap.target(), trap.count()};
}

// What went wrong in a run, or "" if nothing did.
std::string problem_of(const run_report& r, const explore_options& opts) {
  const run_outcome& o = r.outcome;
  if (o.kind == "deadlock") {
    std::string s = "tasks left waiting forever after the cancellation:";
    for (const auto& b : o.blocked) s += " task " + std::to_string(b.id) + " '" + b.name +
                                         "' (" + b.wait + ")";
    return s;
  }
  if (o.kind != "passed")
    return "an exception other than the cancellation escaped: " + o.exception_type + ": " +
           o.message;
  if (o.shielded_failures != 0)
    return std::to_string(o.shielded_failures) +
           " shielded scope(s) were left by an exception: a cleanup did not finish";
  if (opts.invariant) {
    try {
      opts.invariant();
    } catch (const std::exception& e) {
      return std::string("invariant violated: ") + e.what();
    }
  }
  return "";
}

}  // namespace

std::string explore_result::report() const {
  std::string out;
  for (const cancellation_failure& f : failures) {
    out += "cancel point " + std::to_string(f.point) + " (cancelling " + f.target +
           "): " + f.problem;
    if (!f.trace_path.empty()) out += "\n  trace: " + f.trace_path;
    out += "\n";
  }
  return out;
}

explore_result explore_cancellation(const body_fn& body, const explore_options& opts) {
  explore_result result;
  run_report baseline = run_point(body, opts, 0, false, "");
  ++result.runs;
  if (std::string p = problem_of(baseline, opts); !p.empty())
    throw std::invalid_argument("explore_cancellation: the body fails without any cancellation: " +
                                p);
  result.points = std::min(baseline.points, opts.max_points);
  for (int pass = 0; pass < (opts.per_task ? 2 : 1); ++pass) {
    const bool per_task = pass == 1;
    for (std::uint64_t n = 1; n <= result.points; ++n) {
      run_report r = run_point(body, opts, n, per_task, "");
      ++result.runs;
      std::string problem = problem_of(r, opts);
      if (problem.empty()) continue;
      cancellation_failure f{n, r.target, problem, ""};
      if (!opts.trace_dir.empty()) {
        f.trace_path = (std::filesystem::path(opts.trace_dir) /
                        ((opts.test_name.empty() ? std::string("explore") : opts.test_name) +
                         "-point" + std::to_string(n) + (per_task ? "-task" : "") + ".jsonl"))
                           .string();
        (void)run_point(body, opts, n, per_task, f.trace_path);
      }
      result.failures.push_back(std::move(f));
    }
  }
  return result;
}

}  // namespace anyio::sim
