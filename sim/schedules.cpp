// SPDX-License-Identifier: MIT
// Choosing schedules over many runs, where one run's strategy cannot: the
// bounded exhaustive search (CHESS's preemption bounding: Musuvathi and
// Qadeer, "Iterative Context Bounding for Systematic Testing of
// Multithreaded Programs", PLDI'07) and PCT's run-length estimate.
//
// The search is stateless, by re-execution: a run follows a prefix of
// choices (indices into the ready tasks at each decision) and then runs
// non-preemptively; its decision log says, at every decision, how many tasks
// were ready, which one had just yielded (could go on) and which ran. The
// next schedule changes the deepest decision that still has an untried
// alternative within the bound, depth first. Choosing the yielded task is
// free, choosing another one costs a preemption; where the previous task
// blocked or finished every choice is free. Each schedule is run once, so
// the count of runs is the size of the space.
#include <anyio/detail/assert.hpp>
#include <anyio/sim.hpp>

#include "sim_backend.hpp"
#include "strategy.hpp"

#include <algorithm>
#include <stdexcept>

namespace anyio::sim {

namespace {

run_result run_logged(const body_fn& body, const options& o,
                      std::vector<detail::decision_record>* log) {
  auto b = detail::make_backend(o);
  auto* sb = static_cast<detail::sim_backend*>(b.get());
  if (log != nullptr) sb->log_decisions(log);
  try {
    anyio::detail::run_on(*b, anyio::detail::run_config{}, [&body]() { return body(); });
  } catch (...) {  // the backend recorded how the run ended
  }
  return sb->result(o.trace_path);
}

// The choices at a decision, in the order the search tries them: the
// default (the yielded task, else the first ready) and then the others.
std::size_t default_choice(const detail::decision_record& d) {
  return d.previous < d.ready_count ? d.previous : 0;
}
std::size_t nth_choice(const detail::decision_record& d, std::size_t pos) {
  const std::size_t def = default_choice(d);
  if (pos == 0) return def;
  return pos - 1 < def ? pos - 1 : pos;
}
std::size_t position_of(const detail::decision_record& d, std::size_t choice) {
  const std::size_t def = default_choice(d);
  if (choice == def) return 0;
  return choice < def ? choice + 1 : choice;
}
bool preempts(const detail::decision_record& d, std::size_t choice) {
  return d.previous < d.ready_count && choice != d.previous;
}

}  // namespace

std::string schedule_result::summary(int preemption_bound) const {
  std::string s = std::to_string(schedules) + (schedules == 1 ? " schedule" : " schedules") +
                  " within " + std::to_string(preemption_bound) +
                  (preemption_bound == 1 ? " preemption: " : " preemptions: ");
  s += covered ? "covered" : "NOT covered (stopped early)";
  s += failures.empty() ? ", no failure"
                        : ", " + std::to_string(failures.size()) + " failing";
  return s;
}

schedule_result explore_schedules(const body_fn& body, const schedule_options& opts) {
  if (opts.preemption_bound < 0)
    throw std::invalid_argument("explore_schedules: preemption_bound must not be negative");
  if (opts.max_schedules == 0)
    throw std::invalid_argument("explore_schedules: max_schedules must be at least 1");
  const auto bound = static_cast<std::uint64_t>(opts.preemption_bound);
  options o;
  o.seed = opts.seed;
  o.strategy = strategy::exhaustive;
  o.preemption_bound = opts.preemption_bound;
  o.max_steps = opts.max_steps;
  o.test_name = opts.test_name;
  o.plan = opts.plan;
  schedule_result result;
  std::vector<detail::decision_record> log;
  while (result.schedules < opts.max_schedules) {
    log.clear();
    run_result r = run_logged(body, o, &log);
    ++result.schedules;
    result.steps += r.steps;
    add_probe_counts(result.probes, r.probes);
    // The prefix must have been followed: the same seed and choices give the
    // same run, or the search would skip and repeat schedules.
    for (std::size_t k = 0; k < o.schedule.size(); ++k)
      if (k >= log.size() || log[k].chosen != o.schedule[k] - 1)
        throw std::runtime_error(
            "explore_schedules: schedule " + std::to_string(result.schedules) +
            " did not follow its prefix at decision " + std::to_string(k + 1) +
            ": the body does not run the same way twice (state kept between runs?)");
    ANYIO_ASSERT(r.preemptions <= bound);
    result.max_preemptions = std::max(result.max_preemptions, r.preemptions);
    if (!r.passed()) {
      schedule_failure f{result.schedules, {}, r};
      for (const detail::decision_record& d : log) f.choices.push_back(d.chosen + 1);
      if (!opts.trace_dir.empty()) {
        options traced = o;
        traced.schedule = f.choices;
        traced.trace_path = opts.trace_dir + "/" + file_stem(opts.test_name) + "-schedule" +
                            std::to_string(result.schedules) + ".jsonl";
        f.result = run_logged(body, traced, nullptr);
      }
      result.failures.push_back(std::move(f));
      if (opts.stop_at_first_failure) return result;
    }
    // Preemptions before each decision.
    std::vector<std::uint64_t> before(log.size() + 1, 0);
    for (std::size_t k = 0; k < log.size(); ++k)
      before[k + 1] = before[k] + (preempts(log[k], log[k].chosen) ? 1 : 0);
    // The deepest decision with an untried choice within the bound.
    bool next = false;
    for (std::size_t k = log.size(); k-- > 0;) {
      const detail::decision_record& d = log[k];
      const std::size_t pos = position_of(d, d.chosen) + 1;
      if (pos >= d.ready_count) continue;
      const std::size_t choice = nth_choice(d, pos);
      if (before[k] + (preempts(d, choice) ? 1 : 0) > bound) continue;
      o.schedule.resize(k + 1);
      for (std::size_t j = 0; j < k; ++j) o.schedule[j] = log[j].chosen + 1;
      o.schedule[k] = choice + 1;
      next = true;
      break;
    }
    if (!next) {
      result.covered = true;
      return result;
    }
  }
  return result;
}

std::uint64_t estimate_pct_steps(const body_fn& body, const sweep_options& opts) {
  // PCT's change points must fall inside the run (Burckhardt et al. take k
  // to be the run's length): the longest of a few random runs of the
  // range's first seeds, whichever shard this is, so every shard agrees.
  std::uint64_t k = 1;
  const std::uint64_t probes = std::min<std::uint64_t>(opts.seeds.count, 3);
  for (std::uint64_t s = 0; s < probes; ++s) {
    options o;
    o.seed = opts.seeds.first + s;
    o.max_steps = opts.max_steps;
    o.max_virtual_time = opts.max_virtual_time;
    o.test_name = opts.test_name;
    o.plan = opts.plan;
    k = std::max(k, run_logged(body, o, nullptr).steps);
  }
  return k;
}

sweep_summary exhaustive_sweep(const body_fn& body, const sweep_options& opts) {
  if (opts.shard.count != 1)
    throw std::invalid_argument(
        "sim::sweep: the exhaustive strategy does not shard (it searches one seed's "
        "schedules depth first); run it without --shard");
  schedule_options so;
  so.seed = opts.seeds.first;
  so.preemption_bound = opts.preemption_bound;
  so.max_schedules = opts.max_schedules;
  so.stop_at_first_failure = opts.stop_at_first_failure || opts.max_failures == 1;
  so.max_steps = opts.max_steps;
  so.trace_dir = opts.trace_dir;
  so.test_name = opts.test_name;
  so.plan = opts.plan;
  schedule_result r = explore_schedules(body, so);
  sweep_summary summary;
  summary.strategy = to_string(strategy::exhaustive);
  summary.first_seed = opts.seeds.first;
  summary.seed_count = 1;
  summary.shard = opts.shard;
  if (!opts.test_name.empty()) summary.tests.push_back(opts.test_name);
  summary.seeds_run = r.schedules;
  summary.steps = r.steps;
  summary.preemption_bound = opts.preemption_bound;
  summary.covered = r.covered;
  summary.probes = r.probes;
  for (const schedule_failure& f : r.failures)
    summary.failures.push_back({opts.seeds.first, opts.test_name, f.result.outcome,
                                f.result.exception_type, f.result.message, f.result.trace_path,
                                f.result.steps, f.result.preemptions});
  summary.required_probes = opts.required_probes;
  summary.check_required_probes();
  if (opts.on_failure)
    for (const sweep_failure& f : summary.failures) opts.on_failure(f);
  if (opts.on_progress)
    opts.on_progress(summary.seeds_run, summary.seeds_run, summary.failures.size());
  return summary;
}

}  // namespace anyio::sim
