// SPDX-License-Identifier: MIT
// to_thread: round trips of to_thread::run_sync, one call in flight at a
// time: the run's thread hands a small function (a few dozen instructions of
// arithmetic) to a worker and waits for its result. One op is one call.
// `realio` is anyio::to_thread::run_sync on the realio pool; `sim` the same
// code on sim (each call a lock-step hand-off to a worker thread: a real
// thread switch per call, measured in real time); `asio` the same work
// posted to an asio::thread_pool(1) whose completion is posted back to an
// io_context(1) running on the calling thread, where the next call starts —
// completion handlers, no coroutine frames.
#include "harness.hpp"

#include <anyio/run.hpp>
#include <anyio/sim.hpp>
#include <anyio/threads.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <cstdint>
#include <stdexcept>

namespace {

// The work: cheap, so the hand-offs are what is measured.
std::uint64_t work(std::uint64_t x) {
  for (int i = 0; i < 16; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

std::uint64_t expected(std::uint64_t ops) {
  std::uint64_t x = 1;
  for (std::uint64_t i = 0; i < ops; ++i) x = work(x);
  return x;
}

anyio::task<> anyio_calls(std::uint64_t ops) {
  std::uint64_t x = 1;
  (void)co_await anyio::to_thread::run_sync(work, std::uint64_t{0});  // a worker exists
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < ops; ++i) x = co_await anyio::to_thread::run_sync(work, x);
  anyio_bench::end_measure();
  if (x != expected(ops)) throw std::logic_error("to_thread: wrong result");
}

void on_realio(std::uint64_t ops) { anyio::run(anyio_calls, ops); }

void on_sim(std::uint64_t ops) {
  anyio::sim::options opts;
  opts.seed = 1;
  anyio::sim::run(anyio_calls, ops, opts);
}

struct asio_chain {
  asio::io_context& loop;
  asio::thread_pool& pool;
  std::uint64_t left = 0;
  std::uint64_t x = 1;

  void next() {
    if (left == 0) {
      anyio_bench::end_measure();
      loop.stop();
      return;
    }
    --left;
    asio::post(pool, [this, v = x] {
      const std::uint64_t r = work(v);
      asio::post(loop, [this, r] {
        x = r;
        next();
      });
    });
  }
};

void on_asio(std::uint64_t ops) {
  asio::io_context loop(1);
  asio::thread_pool pool(1);
  auto guard = asio::make_work_guard(loop);
  asio_chain chain{loop, pool, ops};
  asio::post(loop, [&] {
    anyio_bench::begin_measure();
    chain.next();
  });
  loop.run();
  pool.join();
  if (chain.x != expected(ops)) throw std::logic_error("to_thread asio: wrong result");
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "to_thread",
    .label = "to_thread round trips",
    .unit = "call",
    .ops = 20'000,
    .goals = {.min_ratio_vs_asio = 0.8},
    .variants = {{"realio", on_realio}, {"sim", on_sim}, {"asio", on_asio}},
});

}  // namespace
