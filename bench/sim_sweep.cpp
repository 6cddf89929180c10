// SPDX-License-Identifier: MIT
// Seeds per second for a sweep of a small test — three tasks, about 100
// scheduling steps in all — on one core, as `--anyio-sweep` runs it: one
// untraced simulated run per seed, kernel and backend built afresh each time.
// Target: at least 5,000 seeds/s, so a 10,000-seed sweep takes seconds.
#include "harness.hpp"

#include <anyio/lowlevel.hpp>
#include <anyio/sim.hpp>
#include <anyio/task_group.hpp>

#include <cstdint>
#include <stdexcept>

namespace {

anyio::task<> small_test() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        for (int k = 0; k < 32; ++k) co_await anyio::checkpoint();
      });
    co_return;
  });
}

void on_sim(std::uint64_t seeds) {
  anyio::sim::sweep_options opts;
  opts.seeds = {0, seeds};
  opts.progress = false;
  anyio_bench::begin_measure();
  anyio::sim::sweep_summary s = anyio::sim::sweep(small_test, opts);
  anyio_bench::end_measure();
  if (s.seeds_run != seeds || !s.failures.empty() || s.steps < seeds * 96)
    throw std::runtime_error("sweep did not run every seed");
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "sim_sweep",
    .label = "sweep, 3-task 100-step test",
    .unit = "seed",
    .ops = 20'000,
    .goals = {.min_sim_rate = 5000, .sim_rate_unit = "seed"},
    .variants = {{"sim", on_sim}},
});

}  // namespace
