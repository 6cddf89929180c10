// SPDX-License-Identifier: MIT
// w1: one task group spawns 100,000 tasks that each `co_await
// anyio::sleep(0s)` (a checkpoint), then joins them all — the cost of a
// task's whole life: frame, kernel record, two scheduling steps, exit and
// join. The baseline spawns as many raw Asio coroutines with co_spawn, each
// doing `co_await asio::post(use_awaitable)`, joined by a counter whose
// last decrement wakes the spawner (cancels a timer it waits on).
#include "harness.hpp"

#include <anyio/run.hpp>
#include <anyio/sim.hpp>
#include <anyio/task_group.hpp>
#include <anyio/time.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>

namespace {

using namespace std::chrono_literals;

anyio::task<> sleeper(std::uint64_t* done) {
  co_await anyio::sleep(0s);
  ++*done;
}

anyio::task<> spawn_join(std::uint64_t n) {
  std::uint64_t done = 0;
  anyio_bench::begin_measure();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (std::uint64_t i = 0; i < n; ++i) tg.start_soon(sleeper, &done);
    co_return;
  });
  anyio_bench::end_measure();
  if (done != n) throw std::logic_error("w1: not every task ran");
}

void on_realio(std::uint64_t n) { anyio::run(spawn_join, n); }

void on_sim(std::uint64_t n) {
  anyio::sim::run([n] { return spawn_join(n); }, {.seed = 1});
}

// The same run with the fifo strategy: the simulator's machinery without the
// uniform random pick, whose jumps over 100,000 parked frames miss the cache
// (issue 9, point 11: sim-fifo runs as fast as realio, sim does not).
void on_sim_fifo(std::uint64_t n) {
  anyio::sim::run([n] { return spawn_join(n); },
                  {.seed = 1, .strategy = anyio::sim::strategy::fifo});
}

struct join_counter {
  std::uint64_t remaining;
  asio::steady_timer all_done;
};

asio::awaitable<void> asio_child(join_counter& join) {
  co_await asio::post(asio::use_awaitable);
  if (--join.remaining == 0) join.all_done.cancel();
}

asio::awaitable<void> asio_spawn_join(std::uint64_t n) {
  auto ex = co_await asio::this_coro::executor;
  join_counter join{n, asio::steady_timer(ex, asio::steady_timer::time_point::max())};
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) asio::co_spawn(ex, asio_child(join), asio::detached);
  std::error_code ec;
  co_await join.all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  anyio_bench::end_measure();
  if (join.remaining != 0) throw std::logic_error("w1: not every Asio coroutine ran");
}

void on_asio(std::uint64_t n) {
  asio::io_context ctx(1);
  std::exception_ptr error;
  asio::co_spawn(ctx, asio_spawn_join(n), [&](std::exception_ptr e) { error = e; });
  ctx.run();
  if (error) std::rethrow_exception(error);
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "w1_spawn_join",
    .label = "w1 spawn+join",
    .unit = "task",
    .ops = 100'000,
    .goals = {.min_ratio_vs_asio = 2.0},
    .variants = {{"realio", on_realio}, {"sim", on_sim}, {"asio", on_asio},
                 {"sim-fifo", on_sim_fifo}},
});

}  // namespace
