// SPDX-License-Identifier: MIT
// explore_cancellation: cancellation at every cancel point, one run per
// point. The body runs inside an outer cancel scope; the kernel counts cancel
// points (cancellation checks and waits, over all tasks) and calls a trap at
// the n-th, which cancels that scope — or, per task, the innermost scope of
// the task that reached it. Same seed every run, so point n of one run is
// point n of the next up to the cancellation. Checks follow the issue: no
// task left waiting (a deadlock), every shielded cleanup finished, no
// exception but the expected cancellation escaped, the invariant holds.
#include <anyio/cancel_scope.hpp>
#include <anyio/detail/explore_hooks.hpp>
#include <anyio/sim.hpp>

#include "sim_backend.hpp"

#include <filesystem>

namespace anyio::sim {

namespace {

struct trap_context {
  cancel_scope* outer = nullptr;
  bool per_task = false;
  std::string target{};
};

void spring(void* context, anyio::detail::task_record& t) {
  auto& ctx = *static_cast<trap_context*>(context);
  if (ctx.per_task && anyio::detail::cancel_innermost_scope(t)) {
    ctx.target = "the innermost scope of " + anyio::detail::describe_task(t);
    return;
  }
  ctx.target = "the outermost scope";
  ctx.outer->cancel();
}

task<> under_trap(const body_fn& body, trap_context& ctx, std::uint64_t point) {
  cancel_scope outer;
  ctx.outer = &outer;
  if (point != 0)
    anyio::detail::set_cancel_point_trap({point, &spring, static_cast<void*>(&ctx)});
  co_await outer.run([&]() -> task<> { co_await body(); });
}

struct run_report {
  run_outcome outcome;
  std::string target;
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
  trap_context ctx;
  ctx.per_task = per_task;
  try {
    anyio::detail::run_on(b, anyio::detail::run_config{},
                          [&]() { return under_trap(body, ctx, point); });
  } catch (...) {  // the backend recorded how the run ended
  }
  return {b.outcome(), ctx.target};
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
  result.points = std::min(baseline.outcome.cancel_points, opts.max_points);
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
