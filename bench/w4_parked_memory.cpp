// SPDX-License-Identifier: MIT
// w4: memory per parked task. One task group spawns 1,000,000 tasks that each
// sleep for an hour; once the last one is parked, the resident set size the
// run gained, divided by the task count, is what one parked task costs. The
// figure that matters is what a task costs beyond its own coroutine frame
// (the kernel's record, the root frame around it, allocator rounding, the
// run queue and the deadline heap): target <= 256 bytes. The frame size is
// measured by creating one such coroutine and counting the bytes operator
// new hands out. Each round is one repetition in a fresh process (one_shot),
// because a second run in the same process would reuse freed memory and show
// no growth. The timed region is spawning until the last task is parked.
// No Asio baseline: Asio has no task record or cancellation to compare.
#include "harness.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/run.hpp>
#include <anyio/sim.hpp>
#include <anyio/sync.hpp>
#include <anyio/task_group.hpp>
#include <anyio/time.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace {

struct census {
  std::uint64_t parked = 0;
  std::uint64_t total = 0;
  anyio::event all_parked;
};

anyio::task<> sleeper(census* c) {
  if (++c->parked == c->total) c->all_parked.set();
  co_await anyio::sleep(std::chrono::hours(1));
}

// The bytes one sleeper's frame takes: the frame allocator rounds a frame up
// to its 64-byte size class, so this is what a frame really occupies.
std::uint64_t frame_bytes(census* c) {
  const std::uint64_t before = anyio_bench::operator_new_bytes();
  anyio::task<> probe = sleeper(c);  // lazy: allocates the frame, runs nothing
  const std::uint64_t bytes = anyio_bench::operator_new_bytes() - before;
  if (bytes == 0) throw std::logic_error("w4: the probe frame came from the frame cache");
  return bytes;
}

anyio::task<> park_many(std::uint64_t n) {
  census c;
  c.total = n;
  const std::uint64_t frame = frame_bytes(&c);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    const std::uint64_t before = anyio_bench::resident_bytes();
    anyio_bench::begin_measure();
    for (std::uint64_t i = 0; i < n; ++i) tg.start_soon(sleeper, &c);
    co_await c.all_parked.wait();
    anyio_bench::end_measure();
    const std::uint64_t after = anyio_bench::resident_bytes();
    anyio_bench::note_memory(after > before ? after - before : 0, frame);
    tg.cancel_scope().cancel();
  });
  if (c.parked != n) throw std::logic_error("w4: not every task parked");
}

void on_realio(std::uint64_t n) { anyio::run(park_many, n); }

void on_sim(std::uint64_t n) {
  anyio::sim::run([n] { return park_many(n); }, {.seed = 1});
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "w4_parked_memory",
    .label = "w4 parked tasks",
    .unit = "task",
    .ops = 1'000'000,
    .goals = {.max_bytes_beyond_frame = 256},
    .variants = {{"realio", on_realio}, {"sim", on_sim}},
    .one_shot = true,
});

}  // namespace
