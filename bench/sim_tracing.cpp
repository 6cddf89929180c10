// SPDX-License-Identifier: MIT
// Simulator scheduling steps/s with tracing off and on: three tasks doing
// checkpoints, so every step is a real scheduling decision (one decide line
// per step), and a second, event-heavy workload over a channel. The traced
// variants write a JSON Lines trace to a temporary file, as a failing seed's
// rerun does; the whole run is timed, opening and closing the file included.
// Target: tracing costs at most 3x, cheap enough to leave on for failing
// seeds. The harness also records CPU time, which counts the trace file's
// writer thread (sim/trace_file.hpp) that wall-clock time may hide.
#include "harness.hpp"

#include <anyio/lowlevel.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/sim.hpp>
#include <anyio/task_group.hpp>
#include <anyio/time.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace {

anyio::task<> three_tasks(std::uint64_t steps) {
  const std::uint64_t each = steps / 3;
  co_await anyio::with_task_group([each](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([](std::uint64_t n) -> anyio::task<> {
        for (std::uint64_t k = 0; k < n; ++k) co_await anyio::checkpoint();
      }, each);
    co_return;
  });
}

// Event-heavy steps: two producers hand messages to a consumer over an
// unbuffered channel and the consumer sleeps now and then, so lines for
// park, wake and clock jumps come between the decisions (about 4 lines per
// message).
anyio::task<> channel_traffic(std::uint64_t messages) {
  auto [tx, rx] = anyio::create_memory_object_stream<std::uint64_t>(0);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int p = 0; p < 2; ++p)
      tg.start_soon([](anyio::memory_object_send_stream<std::uint64_t> out,
                       std::uint64_t n) -> anyio::task<> {
        for (std::uint64_t k = 0; k < n; ++k) co_await out.send(k);
      }, tx.clone(), messages / 2);
    tx.close();
    tg.start_soon([](anyio::memory_object_receive_stream<std::uint64_t> in) -> anyio::task<> {
      for (std::uint64_t got = 0;; ++got) {
        try {
          (void)co_await in.receive();
        } catch (const anyio::end_of_stream&) {
          co_return;
        }
        if (got % 16 == 0) co_await anyio::sleep(std::chrono::milliseconds(1));
      }
    }, std::move(rx));
    co_return;
  });
}

// One timed sim run of `work(ops)` (seed 1), traced to the temp directory
// when `trace_file` is given. The whole run is timed, so the traced variant
// pays for opening, the last write and closing its file (and for the writer
// thread). The trace must hold at least `min_bytes_per_op` bytes per op;
// ANYIO_BENCH_KEEP_TRACE=1 keeps it, to look at what was measured.
void run_timed(anyio::task<> (*work)(std::uint64_t), std::uint64_t ops,
               const char* trace_file = nullptr, std::uint64_t min_bytes_per_op = 0) {
  anyio::sim::options opts;
  opts.seed = 1;
  if (trace_file != nullptr)
    opts.trace_path = (std::filesystem::temp_directory_path() / trace_file).string();
  anyio_bench::begin_measure();
  auto r = anyio::sim::run_body([work, ops] { return work(ops); }, opts);
  anyio_bench::end_measure();
  if (!r.passed() || r.steps < ops) throw std::runtime_error("sim run did not finish");
  if (trace_file == nullptr) return;
  if (std::filesystem::file_size(opts.trace_path) < ops * min_bytes_per_op)
    throw std::runtime_error("trace too small");
  const char* keep = std::getenv("ANYIO_BENCH_KEEP_TRACE");
  if (keep == nullptr || std::string(keep) != "1") std::filesystem::remove(opts.trace_path);
}

void on_sim(std::uint64_t steps) { run_timed(three_tasks, steps); }
void on_sim_traced(std::uint64_t steps) {
  run_timed(three_tasks, steps, "anyio-bench-trace.jsonl", 40);
}
void on_traffic(std::uint64_t messages) { run_timed(channel_traffic, messages); }
void on_traffic_traced(std::uint64_t messages) {
  run_timed(channel_traffic, messages, "anyio-bench-events.jsonl", 100);
}

[[maybe_unused]] const int registered_events = anyio_bench::add({
    .name = "sim_tracing_events",
    .label = "sim messages, channel + sleeps",
    .unit = "message",
    .ops = 200'000,
    .goals = {},  // no target: it shows what steps with several events each cost
    .variants = {{"sim", on_traffic}, {"sim-traced", on_traffic_traced}},
});

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "sim_tracing",
    .label = "sim steps, 3 tasks",
    .unit = "step",
    .ops = 600'000,
    .goals = {.min_sim_rate = 10e6, .max_trace_cost = 3.0},
    .variants = {{"sim", on_sim}, {"sim-traced", on_sim_traced}},
});

}  // namespace
