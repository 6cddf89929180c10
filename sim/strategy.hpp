// SPDX-License-Identifier: MIT
// Scheduling strategies of the simulator: given the ready tasks (in the
// kernel's queue order) and the number of steps so far, choose the next one.
// random draws uniformly; fifo takes the oldest; pct is Burckhardt et al.'s
// probabilistic concurrency testing (random task priorities, the running
// task demoted at d-1 random change points, always the highest priority
// runs); nonpreemptive keeps running the previous task while it is ready.
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
  /// `previous` = id of the task that ran last (0 before the first step).
  virtual std::size_t pick(const ready_view& ready, std::uint64_t step,
                           std::uint64_t previous) = 0;
};

/// The strategy named by `opts`; strategy::replay maps to nonpreemptive
/// (decisions come from the replay script, which overrides the strategy).
/// `rng` serves draws that the decide event already records (random picks);
/// `draw` serves draws that must appear in the trace (pct's priorities).
std::unique_ptr<scheduler_strategy> make_strategy(const options& opts, prng& rng, draw_fn draw);

/// Index of task `id` in `ready`, or ready.size() if absent.
std::size_t find_ready(const ready_view& ready, std::uint64_t id) noexcept;
/// Like find_ready for the task that ran last: a task that yielded was
/// pushed at the back, behind only what woke during or after its step, so
/// only the last 64 entries are searched (O(1) even with 100,000 ready
/// tasks; a task deeper than that counts as not ready).
std::size_t find_recent(const ready_view& ready, std::uint64_t id) noexcept;
/// The same over ids already copied out of the ready queue (all of them).
std::size_t find_recent(std::span<const std::uint64_t> ids, std::uint64_t id) noexcept;

}  // namespace anyio::sim
