// SPDX-License-Identifier: MIT
// Shrinking a failing run (issue: "the other half is handing the user the
// smallest one"). A run is re-executed from a decision list — entry k names
// the task decision k runs, 0 means "what a non-preemptive scheduler would
// do" — so an empty list is the calmest schedule and removing entries
// removes preemptions. Passes, each keeping a change only if the run still
// fails the same way and its (preemptions, steps, decisions) strictly drop:
// delta debugging over the preemptive entries, then over trailing entries
// (shorter runs), then one entry at a time. After every accepted run the
// list is rebuilt from what the run actually did, so it never holds stale
// entries. Fault decisions (faults_api.hpp: buggify, the world's faults)
// shrink first, by the same passes over the recorded faults — removed
// (served 0), then weakened (a lower value, by bisection) — so the minimal
// trace injects only the faults the bug needs.
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>

#include "faults_api.hpp"
#include "sim_backend.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <stdexcept>
#include <tuple>

namespace anyio::sim {

namespace {

struct signature {
  std::string kind, type, message;
  std::vector<std::string> blocked;  // deadlocks: "name: wait", sorted
  bool operator==(const signature&) const = default;
};

// Two failures are "the same" when their signatures are equal. By default
// the numbers in a message do not count (failure_pattern): several bugs
// print which worker or what total, and a smaller schedule that loses a
// different update is still the same bug.
signature signature_of(const std::string& kind, const std::string& type,
                       const std::string& message,
                       const std::vector<run_outcome::blocked_task>& blocked,
                       failure_match match) {
  signature s{kind, type, match == failure_match::exact_message ? message
                                                                  : failure_pattern(message),
              {}};
  if (kind == "deadlock") {
    s.message.clear();  // it names the step and time, which shrinking changes
    for (const auto& b : blocked) s.blocked.push_back(b.name + ": " + b.wait);
    std::sort(s.blocked.begin(), s.blocked.end());
  }
  return s;
}

// Fault decisions by purpose, in the order a run made them (faults_api.hpp):
// what a shrink run serves; 0 or a missing entry is "no fault".
using fault_map = std::map<std::string, std::vector<std::uint64_t>, std::less<>>;

struct attempt {
  fault_map faults;                    // canonical: no trailing zeros, no empty lists
  std::vector<std::string> fault_names;  // the faults made (fault_name), first one first
  std::vector<std::uint64_t> choices;  // canonical: non-default decisions only
  std::vector<bool> preempt;           // choices[k] was a preemption
  std::vector<std::vector<std::uint64_t>> ready;  // ready tasks at each decision
  std::vector<std::uint64_t> chosen;               // the task each decision ran
  schedule_stats stats{};
  signature sig{};
  std::string message;  // as the run printed it (the signature may mask it)
};

// Fewest faults first (the ones the bug needs), then the weakest, then the
// schedule; a run without faults compares as it always did.
auto key(const schedule_stats& s) {
  return std::tie(s.faults, s.fault_strength, s.preemptions, s.steps, s.decisions);
}

/// What shrinking takes from the failing trace. The trace is streamed, so a
/// long failing run costs a task id per decision, not a parsed event.
struct failing_run {
  trace_header header;
  trace_outcome outcome;
  std::vector<detail::scripted_draw> draws;  // all but fault decisions
  fault_map faults;
  std::vector<std::uint64_t> decisions;  // the task each decision ran
};

failing_run read_failing_run(const std::string& path) {
  trace_reader r(path);
  failing_run f;
  f.header = r.header();
  while (const trace_event* e = r.next()) {
    if (e->kind == "draw" && detail::is_fault_purpose(e->purpose))
      f.faults[e->purpose].push_back(e->value);
    else if (e->kind == "draw")
      f.draws.push_back({e->bound, e->value, e->purpose});
    if (e->kind == "decide") f.decisions.push_back(e->task);
  }
  f.outcome = r.outcome();
  return f;
}

class shrinker {
 public:
  shrinker(const body_fn& body, const failing_run& failing, const shrink_options& opts)
      : body_(body), opts_(opts), draws_(failing.draws) {
    base_.seed = failing.header.seed;
    base_.test_name = failing.header.test;
    base_.strategy = strategy::replay;
    base_.liveness_after = clock::duration(failing.header.liveness_after_ns);
    if (failing.header.liveness_after_ns > 0)
      base_.liveness_bound = clock::duration(failing.header.liveness_bound_ns);
    // A shrunk schedule may loop where the original did not: bound it.
    base_.max_steps = std::max<std::uint64_t>(failing.outcome.steps * 20, 100000);
    target_ = signature_of(failing.outcome.kind, failing.outcome.exception_type,
                           failing.outcome.message, failing.outcome.blocked, opts.match);
  }

  attempt run(const std::vector<std::uint64_t>& choices, const fault_map& faults,
              const std::string& trace_path = {}) {
    ++runs_;
    auto sc = std::make_shared<detail::script>();
    sc->lenient = true;
    sc->choices = choices;
    sc->draws = draws_;
    sc->faults_keyed = true;
    sc->faults = faults;
    options opts = base_;
    opts.trace_path = trace_path;
    detail::sim_backend b(opts, nullptr, nullptr, sc);
    std::vector<detail::decision_record> log;
    b.log_decisions(&log);
    std::vector<detail::fault_record> fault_log;
    b.log_faults(&fault_log);
    auto rerun = [&]() {
      try {
        anyio::detail::run_on(b, anyio::detail::run_config{}, [this]() { return body_(); });
      } catch (...) {  // the backend recorded how it ended
      }
    };
    if (opts_.context)
      opts_.context(rerun);
    else
      rerun();
    const run_outcome& o = b.outcome();
    attempt a;
    a.sig = signature_of(o.kind, o.exception_type, o.message, o.blocked, opts_.match);
    a.message = o.message;
    a.stats.steps = o.steps;
    for (const detail::decision_record& d : log) {
      a.choices.push_back(d.default_choice ? 0 : d.task);
      a.preempt.push_back(d.preemption);
      a.ready.push_back(d.ready);
      a.chosen.push_back(d.task);
      a.stats.preemptions += d.preemption ? 1 : 0;
      a.stats.decisions += d.default_choice ? 0 : 1;
    }
    while (!a.choices.empty() && a.choices.back() == 0) a.choices.pop_back();
    a.preempt.resize(a.choices.size());
    for (const detail::fault_record& f : fault_log) {
      a.faults[f.purpose].push_back(f.value);
      if (f.value == 0) continue;
      ++a.stats.faults;
      a.stats.fault_strength += f.value;
      std::string name = detail::fault_name(f.purpose);
      if (std::find(a.fault_names.begin(), a.fault_names.end(), name) == a.fault_names.end())
        a.fault_names.push_back(std::move(name));
    }
    for (auto it = a.faults.begin(); it != a.faults.end();) {
      while (!it->second.empty() && it->second.back() == 0) it->second.pop_back();
      it = it->second.empty() ? a.faults.erase(it) : std::next(it);
    }
    return a;
  }
  attempt run(const std::vector<std::uint64_t>& choices, const std::string& trace_path = {}) {
    return run(choices, best_.faults, trace_path);
  }

  // Run `choices`; keep it if it fails the same way with a strictly smaller
  // schedule. Returns the run (for the searches that go on from it).
  attempt evaluate(const std::vector<std::uint64_t>& choices, const fault_map& faults) {
    attempt a = run(choices, faults);
    show_progress();
    if (a.sig == target_ && key(a.stats) < key(best_.stats)) best_ = a;
    return a;
  }
  attempt evaluate(const std::vector<std::uint64_t>& choices) {
    return evaluate(choices, best_.faults);
  }

  bool try_accept(const std::vector<std::uint64_t>& choices, const fault_map& faults) {
    if (runs_ >= opts_.max_runs) return false;
    const schedule_stats before = best_.stats;
    evaluate(choices, faults);
    return key(best_.stats) < key(before);
  }
  bool try_accept(const std::vector<std::uint64_t>& choices) {
    return try_accept(choices, best_.faults);
  }
  bool try_accept_faults(const fault_map& faults) { return try_accept(best_.choices, faults); }

  // The fault decisions of the best run that inject a fault, in map order.
  std::vector<std::pair<std::string, std::size_t>> injected() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (const auto& [purpose, values] : best_.faults)
      for (std::size_t k = 0; k < values.size(); ++k)
        if (values[k] != 0) out.emplace_back(purpose, k);
    return out;
  }

  // Faults first: none at all; then delta debugging over the injected ones
  // (removing chunks, halving); then one at a time; then each one weakened
  // to the lowest strength that still fails (by bisection).
  void shrink_faults() {
    if (best_.stats.faults == 0 || try_accept_faults({})) return;
    std::size_t n = 2;
    while (runs_ < opts_.max_runs) {
      const auto idx = injected();
      if (idx.empty()) break;
      n = std::min(n, idx.size());
      const std::size_t chunk = (idx.size() + n - 1) / n;
      bool progressed = false;
      for (std::size_t start = 0; start < idx.size() && !progressed; start += chunk) {
        fault_map f = best_.faults;
        for (std::size_t j = start; j < std::min(idx.size(), start + chunk); ++j)
          f[idx[j].first][idx[j].second] = 0;
        progressed = try_accept_faults(f);
      }
      if (progressed) {
        n = std::max<std::size_t>(n - 1, 2);
      } else {
        if (n >= idx.size()) break;
        n = std::min(2 * n, idx.size());
      }
    }
    for (bool progressed = true; progressed && runs_ < opts_.max_runs;) {
      progressed = false;
      for (const auto& [purpose, k] : injected()) {
        fault_map f = best_.faults;
        f[purpose][k] = 0;
        if ((progressed = try_accept_faults(f))) break;  // the map changed: start over
      }
    }
    weaken_faults();
  }

  void weaken_faults() {
    for (const auto& [purpose, k] : injected()) {
      // Bisect [1, value): the lowest strength that still fails. An
      // accepted run rebuilds the map, so look the entry up again each time.
      std::uint64_t lo = 1;
      while (runs_ < opts_.max_runs) {
        const auto it = best_.faults.find(purpose);
        if (it == best_.faults.end() || k >= it->second.size() || it->second[k] <= lo) break;
        const std::uint64_t hi = it->second[k];
        const std::uint64_t mid = lo + (hi - lo) / 2;
        fault_map f = best_.faults;
        f[purpose][k] = mid;
        if (!try_accept_faults(f)) lo = mid + 1;
      }
    }
  }

  // Delta debugging: zero chunks of the entries `pick` selects, halving.
  template <class Pick> void reduce(Pick pick) {
    std::size_t n = 2;
    while (runs_ < opts_.max_runs) {
      std::vector<std::size_t> idx;
      for (std::size_t k = 0; k < best_.choices.size(); ++k)
        if (best_.choices[k] != 0 && pick(k)) idx.push_back(k);
      if (idx.empty()) return;
      n = std::min(n, idx.size());
      const std::size_t chunk = (idx.size() + n - 1) / n;
      bool progressed = false;
      for (std::size_t start = 0; start < idx.size() && !progressed; start += chunk) {
        std::vector<std::uint64_t> c = best_.choices;
        for (std::size_t j = start; j < std::min(idx.size(), start + chunk); ++j) c[idx[j]] = 0;
        progressed = try_accept(c);
      }
      if (progressed) {
        n = std::max<std::size_t>(n - 1, 2);
      } else {
        if (n >= idx.size()) return;
        n = std::min(2 * n, idx.size());
      }
    }
  }

  shrink_result shrink(const std::string& out_path) {
    best_ = run(recorded_, recorded_faults_);
    if (best_.sig != target_)
      throw std::invalid_argument(
          "shrink: the failure recorded in the trace does not reproduce (the program or the "
          "build changed since it was recorded): the rerun ended '" + best_.sig.kind + "' " +
          best_.sig.type + " " + best_.message);
    shrink_result r;
    r.before = best_.stats;
    // Faults: the fewest and weakest the failure needs (the schedule is the
    // recorded one meanwhile). Then the schedule, with those faults:
    // 0: preemption bounding (CHESS): the calmest schedules first — none,
    // then every single deviation from it — which escapes the local minima
    // that only removing decisions cannot. 1: fewer preemptions. 2: shorter
    // runs, dropping the last decisions first. 3: one decision at a time.
    shrink_faults();
    bounded_search();
    reduce([this](std::size_t k) { return preemptive(k); });
    for (std::size_t keep = best_.choices.size(); keep-- > 0 && runs_ < opts_.max_runs;) {
      std::vector<std::uint64_t> c = best_.choices;
      c.resize(std::min(keep, c.size()));
      if (!try_accept(c)) break;
    }
    for (std::size_t k = 0; k < best_.choices.size() && runs_ < opts_.max_runs; ++k) {
      if (best_.choices[k] == 0) continue;
      std::vector<std::uint64_t> c = best_.choices;
      c[k] = 0;
      if (try_accept(c)) k = static_cast<std::size_t>(-1);  // the list changed: start over
    }
    // A calmer schedule may need fewer faults.
    if (best_.stats.faults > 0) shrink_faults();
    finish_progress();
    attempt final_run = run(best_.choices, out_path);
    if (final_run.sig != target_)
      throw std::logic_error("shrink: the minimal schedule did not fail when traced");
    r.after = final_run.stats;
    r.runs = runs_;
    r.outcome = target_.kind;
    r.exception_type = target_.type;
    r.message = final_run.message;
    r.trace_path = out_path;
    r.faults = final_run.fault_names;
    return r;
  }

  void set_recorded(std::vector<std::uint64_t> choices, fault_map faults) {
    recorded_ = std::move(choices);
    recorded_faults_ = std::move(faults);
  }

  // Preemption bounding: schedules that deviate from the non-preemptive one
  // at 1, then 2, ... decisions (depth-first from each deviation's own run,
  // since a deviation changes what follows), fewer than the best so far,
  // within half the budget.
  void bounded_search() {
    if (best_.stats.preemptions == 0 || try_accept({})) return;
    search_budget_ = std::min(opts_.max_runs, runs_ + opts_.max_runs / 2);
    for (std::uint64_t depth = 1; depth < best_.stats.preemptions; ++depth)
      if (!deviate(run({}), {}, 0, depth)) return;
  }

  // False when the budget ran out.
  bool deviate(const attempt& from, const std::vector<std::uint64_t>& prefix, std::size_t first,
               std::uint64_t depth) {
    for (std::size_t k = first; k < from.ready.size(); ++k) {
      for (std::uint64_t task : from.ready[k]) {
        if (task == from.chosen[k]) continue;
        if (runs_ >= search_budget_) return false;
        std::vector<std::uint64_t> c = prefix;
        c.resize(k + 1, 0);
        c[k] = task;
        attempt a = evaluate(c);
        if (best_.stats.preemptions <= depth) return true;  // cannot do better at this depth
        if (depth > 1 && !deviate(a, c, k + 1, depth - 1)) return false;
      }
    }
    return true;
  }

 private:
  bool preemptive(std::size_t k) const { return k < best_.preempt.size() && best_.preempt[k]; }

  void show_progress() {
    if (!opts_.progress || isatty(2) == 0) return;
    std::fprintf(stderr, "\r[shrink] %llu runs: %llu preemptions, %llu steps, %llu decisions  ",
                 static_cast<unsigned long long>(runs_),
                 static_cast<unsigned long long>(best_.stats.preemptions),
                 static_cast<unsigned long long>(best_.stats.steps),
                 static_cast<unsigned long long>(best_.stats.decisions));
    std::fflush(stderr);
    shown_ = true;
  }
  void finish_progress() {
    if (shown_) std::fprintf(stderr, "\n");
  }

  const body_fn& body_;
  shrink_options opts_;
  options base_;
  std::vector<detail::scripted_draw> draws_;
  signature target_;
  std::vector<std::uint64_t> recorded_;
  fault_map recorded_faults_;
  attempt best_;
  std::uint64_t runs_ = 0;
  std::uint64_t search_budget_ = 0;
  bool shown_ = false;
};

}  // namespace

std::string shrink_result::summary() const {
  auto arrow = [](const char* what, std::uint64_t a, std::uint64_t b) {
    return std::string(what) + " " + std::to_string(a) + " -> " + std::to_string(b);
  };
  std::string out;
  if (before.faults > 0) {  // a run without faults reads as it always did
    out = arrow("faults", before.faults, after.faults);
    for (std::size_t i = 0; i < faults.size(); ++i) out += (i == 0 ? " (" : ", ") + faults[i];
    out += faults.empty() ? ", " : "), ";
  }
  return out + arrow("preemptions", before.preemptions, after.preemptions) + ", " +
         arrow("steps", before.steps, after.steps) + ", " +
         arrow("decisions", before.decisions, after.decisions);
}

shrink_result shrink(const body_fn& body, const std::string& failing_trace,
                     const std::string& out_path, const shrink_options& opts) {
  failing_run f = read_failing_run(failing_trace);
  if (f.outcome.kind == "passed")
    throw std::invalid_argument("shrink: " + failing_trace +
                                " records a passing run; there is no failure to shrink");
  shrinker s(body, f, opts);
  s.set_recorded(std::move(f.decisions), std::move(f.faults));
  return s.shrink(out_path);
}

}  // namespace anyio::sim
