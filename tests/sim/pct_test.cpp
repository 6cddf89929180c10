// SPDX-License-Identifier: MIT
// PCT (Burckhardt et al., ASPLOS'10) against uniform random scheduling on a
// bug of depth 3: it shows only when task A finishes its first phase before
// B finishes, B finishes before A's second phase, and A's second phase ends
// before C finishes — three ordering constraints between long-running tasks.
// Random scheduling keeps every task progressing at about the same speed, so
// it almost never lets A run 2K steps before C runs K; PCT's priorities plus
// two change points produce exactly such schedules. The test counts the
// schedules each strategy needs to find the bug and requires PCT to need far
// fewer.
#include <anyio/testing/catch.hpp>

#include <cstdio>
#include <string>

namespace {

constexpr int phase = 40;  // steps per phase
std::string order;         // milestones in the order they happened

anyio::task<> run_phase(char milestone) {
  for (int i = 0; i < phase; ++i) co_await anyio::checkpoint();
  order += milestone;
}

anyio::task<> task_a() {
  co_await run_phase('1');  // A's first phase
  co_await run_phase('2');  // A's second phase
}

anyio::task<> depth3_bug() {
  order.clear();
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("A"), task_a);
    tg.start_soon(anyio::task_name("B"), run_phase, 'B');
    tg.start_soon(anyio::task_name("C"), run_phase, 'C');
    co_return;
  });
  if (order == "1B2C") throw std::logic_error("depth-3 ordering bug: " + order);
}

// Seeds tried until the first failure (limit + 1 if none failed).
std::uint64_t schedules_to_find(anyio::sim::strategy s, std::uint64_t limit, int depth = 3) {
  for (std::uint64_t seed = 0; seed < limit; ++seed) {
    anyio::sim::options opts;
    opts.seed = seed;
    opts.strategy = s;
    opts.pct_depth = depth;
    opts.pct_steps = 4 * phase + 10;
    if (!anyio::sim::run_body(depth3_bug, opts).passed()) return seed + 1;
  }
  return limit + 1;
}

}  // namespace

TEST_CASE("pct finds a depth-3 bug in far fewer schedules than random", "[sim][pct]") {
  const std::uint64_t limit = 200000;
  std::uint64_t pct = schedules_to_find(anyio::sim::strategy::pct, limit);
  std::uint64_t random = schedules_to_find(anyio::sim::strategy::random, limit);
  std::printf("depth-3 bug: pct needed %llu schedules, random %s%llu\n",
              static_cast<unsigned long long>(pct), random > limit ? "more than " : "",
              static_cast<unsigned long long>(random > limit ? limit : random));
  REQUIRE(pct <= limit);
  REQUIRE(pct * 20 < random);
  // The bug really has depth 3: PCT with fewer change points cannot produce it.
  REQUIRE(schedules_to_find(anyio::sim::strategy::pct, 2000, 2) > 2000);
}
