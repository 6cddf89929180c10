// SPDX-License-Identifier: MIT
// Simulated filesystem throughput: write+sync pairs per second of real time
// on one core (one op = a 128-byte append and a sync of the file, each an
// operation queued in virtual time with a seeded latency draw, delivered by
// the backend, and applied to the in-memory model with its durability
// bookkeeping). Untraced, as a sweep runs it. Target: 200,000 ops/s, so a
// test that writes and syncs a thousand records runs in milliseconds and a
// sweep of a crash test covers thousands of seeds a minute.
#include "harness.hpp"

#include <anyio/files.hpp>
#include <anyio/sim.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace {

void on_sim(std::uint64_t ops) {
  anyio::sim::options opts;
  opts.seed = 1;
  std::uint64_t size = 0;
  anyio::sim::run(
      [ops, &size]() -> anyio::task<> {
        const std::string record(127, 'r');
        auto f = co_await anyio::open_file("/tmp/bench.log", "w");
        anyio_bench::begin_measure();
        for (std::uint64_t i = 0; i < ops; ++i) {
          (void)co_await f.write(record + "\n");
          co_await f.sync();
        }
        anyio_bench::end_measure();
        size = co_await f.tell();
        co_await f.aclose();
      },
      opts);
  if (size != ops * 128) throw std::runtime_error("not every record was written");
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "sim_files",
    .label = "sim file write+sync",
    .unit = "write+sync",
    .ops = 50'000,
    .goals = {.min_sim_rate = 200'000, .sim_rate_unit = "write+sync"},
    .variants = {{"sim", on_sim}},
});

}  // namespace
