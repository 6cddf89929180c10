// SPDX-License-Identifier: MIT
// w3: one task doing 1,000,000 checkpoints — the cost of one trip through
// the scheduler. On sim every checkpoint is one scheduling step, so this is
// also the simulator's steps/s. The baseline is the same loop in one raw
// Asio C++20 coroutine: `co_await asio::post(executor, use_awaitable)`.
// Also the "no heap allocation per checkpoint" check (targets below).
#include "harness.hpp"

#include <anyio/lowlevel.hpp>
#include <anyio/run.hpp>
#include <anyio/sim.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdint>
#include <exception>

namespace {

anyio::task<> checkpoints(std::uint64_t n) {
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) co_await anyio::checkpoint();
  anyio_bench::end_measure();
}

void on_realio(std::uint64_t n) { anyio::run(checkpoints, n); }

void on_sim(std::uint64_t n) {
  anyio::sim::run([n] { return checkpoints(n); }, {.seed = 1});
}

asio::awaitable<void> asio_posts(std::uint64_t n) {
  auto ex = co_await asio::this_coro::executor;
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) co_await asio::post(ex, asio::use_awaitable);
  anyio_bench::end_measure();
}

void on_asio(std::uint64_t n) {
  asio::io_context ctx(1);
  std::exception_ptr error;
  asio::co_spawn(ctx, asio_posts(n), [&](std::exception_ptr e) { error = e; });
  ctx.run();
  if (error) std::rethrow_exception(error);
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "w3_checkpoint",
    .label = "w3 checkpoints",
    .unit = "checkpoint",
    .ops = 1'000'000,
    .goals = {.min_ratio_vs_asio = 3.0, .min_sim_rate = 10e6, .max_allocs_per_op = 0.0},
    .variants = {{"realio", on_realio}, {"sim", on_sim}, {"asio", on_asio}},
});

}  // namespace
