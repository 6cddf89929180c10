// SPDX-License-Identifier: MIT
// Scheduling strategies of the simulator: given the ready tasks (in the
// kernel's queue order) and the number of steps so far, choose the next one.
// random draws uniformly; fifo takes the oldest; pct is Burckhardt et al.'s
// probabilistic concurrency testing (random task priorities, the running
// task demoted at d-1 random change points, always the highest priority
// runs); nonpreemptive keeps running the previous task while it is ready
// (replay and exhaustive runs, whose scripts override it where they choose).
// All randomness comes through a draw function so it is seeded and traced.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/sim.hpp>

#include "prng.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

namespace anyio::sim {

using draw_fn = std::function<std::uint64_t(std::uint64_t bound, const char* purpose)>;

class scheduler_strategy {
 public:
  virtual ~scheduler_strategy() = default;
  /// `ready` holds at least one task; `step` = steps taken so far;
  /// `previous` = ready.previous_index(): where the task that ran last is,
  /// if it yielded and could go on (else ready.size()).
  virtual std::size_t pick(const ready_view& ready, std::uint64_t step,
                           std::size_t previous) = 0;
};

/// The strategy named by `opts`; strategy::replay and strategy::exhaustive
/// map to nonpreemptive (decisions come from a script, which overrides it).
/// `rng` serves draws that the decide event already records (random picks);
/// `draw` serves draws that must appear in the trace (pct's priorities).
std::unique_ptr<scheduler_strategy> make_strategy(const options& opts, prng& rng, draw_fn draw);

/// PCT's steps per run for a sweep that leaves it 0: estimated from a few
/// runs of the test itself (schedules.cpp).
std::uint64_t estimate_pct_steps(const body_fn& body, const sweep_options& opts);
/// sweep() with strategy::exhaustive: explore_schedules over the first seed.
sweep_summary exhaustive_sweep(const body_fn& body, const sweep_options& opts);

/// Add probe counts (of a run, or of another summary) into `into`, which
/// stays sorted by name (sweep.cpp).
void add_probe_counts(std::vector<probe_count>& into, const std::vector<probe_count>& from);

/// Index of task `id` in `ready`, or ready.size() if absent.
std::size_t find_ready(const ready_view& ready, std::uint64_t id) noexcept;

}  // namespace anyio::sim
