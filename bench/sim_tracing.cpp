// SPDX-License-Identifier: MIT
// Simulator scheduling steps/s with tracing off and on: three tasks doing
// checkpoints, so every step is a real scheduling decision (two trace lines
// per step: the decision and the step). The traced variant writes a JSON
// Lines trace to a temporary file, as a failing seed's rerun does. Target:
// tracing costs at most 3x, cheap enough to leave on for failing seeds.
#include "harness.hpp"

#include <anyio/lowlevel.hpp>
#include <anyio/sim.hpp>
#include <anyio/task_group.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace {

anyio::task<> three_tasks(std::uint64_t steps) {
  const std::uint64_t each = steps / 3;
  anyio_bench::begin_measure();
  co_await anyio::with_task_group([each](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([](std::uint64_t n) -> anyio::task<> {
        for (std::uint64_t k = 0; k < n; ++k) co_await anyio::checkpoint();
      }, each);
    co_return;
  });
  anyio_bench::end_measure();
}

void run_sim(std::uint64_t steps, const std::string& trace) {
  anyio::sim::options opts;
  opts.seed = 1;
  opts.trace_path = trace;
  auto r = anyio::sim::run_body([steps] { return three_tasks(steps); }, opts);
  if (!r.passed() || r.steps < steps) throw std::runtime_error("sim run did not finish");
}

void on_sim(std::uint64_t steps) { run_sim(steps, ""); }

void on_sim_traced(std::uint64_t steps) {
  auto path = (std::filesystem::temp_directory_path() / "anyio-bench-trace.jsonl").string();
  run_sim(steps, path);
  if (std::filesystem::file_size(path) < steps * 40) throw std::runtime_error("trace too small");
  std::filesystem::remove(path);
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "sim_tracing",
    .label = "sim steps, 3 tasks",
    .unit = "step",
    .ops = 600'000,
    .goals = {.min_sim_rate = 10e6, .max_trace_cost = 3.0},
    .variants = {{"sim", on_sim}, {"sim-traced", on_sim_traced}},
});

}  // namespace
