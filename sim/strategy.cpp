// SPDX-License-Identifier: MIT
// The scheduling strategies; see strategy.hpp. PCT follows Burckhardt,
// Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
// Probabilistic Guarantees of Finding Bugs" (ASPLOS'10): with n tasks, k
// steps and depth d, a depth-d bug is found with probability at least
// 1/(n k^(d-1)) per run. Tasks appear dynamically here, so a task receives
// its random initial priority when first seen ready.
#include "strategy.hpp"

#include <anyio/detail/assert.hpp>

#include <algorithm>

namespace anyio::sim {

std::size_t find_ready(const ready_view& ready, std::uint64_t id) noexcept {
  for (std::size_t i = 0; i < ready.size(); ++i)
    if (ready.task_id(i) == id) return i;
  return ready.size();
}

namespace {

class random_strategy final : public scheduler_strategy {
 public:
  explicit random_strategy(prng& rng) : rng_(rng) {}
  std::size_t pick(const ready_view& ready, std::uint64_t, std::size_t) override {
    const std::size_t n = ready.size();
    return n == 1 ? 0 : static_cast<std::size_t>(rng_.below(n));
  }

 private:
  prng& rng_;
};

class fifo_strategy final : public scheduler_strategy {
 public:
  std::size_t pick(const ready_view&, std::uint64_t, std::size_t) override { return 0; }
};

class nonpreemptive_strategy final : public scheduler_strategy {
 public:
  std::size_t pick(const ready_view& ready, std::uint64_t, std::size_t previous) override {
    return previous < ready.size() ? previous : 0;
  }
};

class pct_strategy final : public scheduler_strategy {
 public:
  pct_strategy(draw_fn draw, int depth, std::uint64_t steps) : draw_(std::move(draw)) {
    ANYIO_ASSERT(depth >= 1);
    const std::uint64_t k = steps == 0 ? 1 : steps;
    for (int i = 1; i < depth; ++i) change_points_[1 + draw_(k, "pct.change_point")] = i;
    low_base_ = static_cast<std::uint64_t>(depth);
  }

  std::size_t pick(const ready_view& ready, std::uint64_t step, std::size_t) override {
    std::size_t best = 0;
    std::uint64_t best_priority = 0;
    for (std::size_t i = 0; i < ready.size(); ++i) {
      std::uint64_t p = priority(ready.task_id(i));
      if (i == 0 || p > best_priority) {
        best = i;
        best_priority = p;
      }
    }
    // The step about to run is step+1; at a change point the task running it
    // drops below every initial priority (to the change point's index).
    auto cp = change_points_.find(step + 1);
    if (cp != change_points_.end()) {
      ANYIO_ASSERT(low_base_ > static_cast<std::uint64_t>(cp->second));
      priorities_[ready.task_id(best)] = low_base_ - cp->second;
    }
    return best;
  }

 private:
  std::uint64_t priority(std::uint64_t id) {
    // Task ids count up from 1, so a vector indexed by id replaces a map
    // lookup per ready task per step (pct scans every ready task).
    if (id >= priorities_.size())
      priorities_.resize(std::max<std::size_t>(id + 1, 2 * priorities_.size()));
    std::uint64_t& p = priorities_[id];
    // Initial priorities sit above every change-point priority (< depth);
    // 0 means "not drawn yet" (every priority is at least 1).
    if (p == 0) p = low_base_ + 1 + draw_(std::uint64_t{1} << 32, "pct.priority");
    return p;
  }

  draw_fn draw_;
  std::vector<std::uint64_t> priorities_;  // by task id; 0 = not drawn
  std::map<std::uint64_t, int> change_points_;  // step -> change point index (1..d-1)
  std::uint64_t low_base_ = 0;
};

}  // namespace

std::unique_ptr<scheduler_strategy> make_strategy(const options& opts, prng& rng, draw_fn draw) {
  switch (opts.strategy) {
    case strategy::random: return std::make_unique<random_strategy>(rng);
    case strategy::fifo: return std::make_unique<fifo_strategy>();
    case strategy::pct:
      return std::make_unique<pct_strategy>(std::move(draw), opts.pct_depth, opts.pct_steps);
    case strategy::replay:
    case strategy::exhaustive: return std::make_unique<nonpreemptive_strategy>();
  }
  return std::make_unique<fifo_strategy>();
}

}  // namespace anyio::sim
