// SPDX-License-Identifier: MIT
// Conformance: what only the simulator can promise — a virtual clock that
// starts at zero and jumps (an hour of sleeps in no real time, every wake at
// its exact virtual instant), deadlock detection naming every blocked task
// and its wait (and destroying their frames), and seeded scheduling: the
// same seed gives the same interleaving, different seeds explore different
// ones, and the fifo strategy runs tasks in spawn order. Cases that call
// sim::run themselves are plain TEST_CASEs: a run cannot nest in a run.
#include <anyio/testing/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;

ANYIO_SIM_TEST_CASE("sim: the virtual clock starts at zero", "[sim][time]") {
  REQUIRE(anyio::current_time() == anyio::clock::time_point{});
  co_await anyio::sleep(250ms);
  REQUIRE(anyio::current_time() == anyio::clock::time_point{} + 250ms);
}

ANYIO_SIM_TEST_CASE("sim: an hour of sleeps takes no real time", "[sim][time]") {
  // steady_clock here measures the test, not the run: the kernel never reads it.
  auto wall_start = std::chrono::steady_clock::now();
  auto start = anyio::current_time();
  for (int i = 0; i < 3600; ++i) co_await anyio::sleep(1s);
  REQUIRE(anyio::current_time() - start == 3600s);
  REQUIRE(std::chrono::steady_clock::now() - wall_start < 5s);
}

ANYIO_SIM_TEST_CASE("sim: concurrent sleepers wake at their exact virtual times",
                    "[sim][time]") {
  auto start = anyio::current_time();
  std::vector<std::pair<std::string, anyio::clock::duration>> woke;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto sleeper = [&](std::string name, anyio::clock::duration d) -> anyio::task<> {
      co_await anyio::sleep(d);
      woke.emplace_back(std::move(name), anyio::current_time() - start);
    };
    tg.start_soon(sleeper, std::string("two-hours"), anyio::clock::duration(2h));
    tg.start_soon(sleeper, std::string("half-hour"), anyio::clock::duration(30min));
    tg.start_soon(sleeper, std::string("one-hour"), anyio::clock::duration(1h));
    co_return;
  });
  using entry = std::pair<std::string, anyio::clock::duration>;
  REQUIRE(woke == std::vector<entry>{{"half-hour", 30min}, {"one-hour", 1h}, {"two-hours", 2h}});
  REQUIRE(anyio::current_time() - start == 2h);  // concurrent: the longest, not the sum
}

ANYIO_SIM_TEST_CASE("sim: timeouts expire at their exact virtual deadline", "[sim][time]") {
  auto start = anyio::current_time();
  auto scope = anyio::move_on_after(90s);
  co_await scope.run([&]() -> anyio::task<> { co_await anyio::sleep(1h); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(anyio::current_time() - start == 90s);
}

TEST_CASE("sim: a deadlock names every blocked task and its wait", "[sim][deadlock]") {
  auto body = []() -> anyio::task<> {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("stuck-forever"),
                    []() -> anyio::task<> { co_await anyio::sleep_forever(); });
      co_return;
    });
  };
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    std::optional<std::string> message;
    try {
      anyio::sim::run(body, {.seed = seed});
    } catch (const anyio::deadlock_error& e) {
      message = e.what();
    }
    REQUIRE(message.has_value());
    CHECK_THAT(*message,
               Catch::Contains("task 1 'main' waits on task_group: waiting for children"));
    CHECK_THAT(*message, Catch::Contains("task 2 'stuck-forever' waits on sleep_forever"));
  }
}

namespace {
struct frame_guard {
  int* destroyed;
  ~frame_guard() { ++*destroyed; }
};
}  // namespace

TEST_CASE("sim: a deadlock names custom waits and destroys every blocked frame",
          "[sim][deadlock]") {
  int destroyed = 0;
  std::optional<std::string> message;
  try {
    anyio::sim::run([&destroyed]() -> anyio::task<> {
      co_await anyio::with_task_group([&destroyed](anyio::task_group& tg) -> anyio::task<> {
        for (int i = 0; i < 2; ++i)
          tg.start_soon(anyio::task_name("consumer-" + std::to_string(i)),
                        [&destroyed]() -> anyio::task<> {
                          frame_guard guard{&destroyed};
                          auto abort = []() noexcept { return anyio::abort_result::succeeded; };
                          co_await anyio::lowlevel::wait_task_rescheduled(
                              abort, "queue: waiting for an item");
                        });
        co_await anyio::sleep(5s);  // time passes first: a deadlock needs no timer left
        co_return;
      });
    });
  } catch (const anyio::deadlock_error& e) {
    message = e.what();
  }
  REQUIRE(message.has_value());
  CHECK_THAT(*message, Catch::Contains("deadlock"));
  CHECK_THAT(*message, Catch::Contains("t=5s"));
  CHECK_THAT(*message, Catch::Contains("'consumer-0' waits on queue: waiting for an item"));
  CHECK_THAT(*message, Catch::Contains("'consumer-1' waits on queue: waiting for an item"));
  CHECK_THAT(*message, Catch::Contains("'main' waits on task_group: waiting for children"));
  REQUIRE(destroyed == 2);  // both blocked frames were unwound, nothing leaked
}

namespace {
// Four tasks, three steps each, a checkpoint between steps: the interleaving
// is exactly the sequence of scheduling decisions.
std::vector<int> record_order(std::uint64_t seed, anyio::sim::strategy strategy) {
  std::vector<int> order;
  anyio::sim::options opts;
  opts.seed = seed;
  opts.strategy = strategy;
  anyio::sim::run(
      [&order]() -> anyio::task<> {
        co_await anyio::with_task_group([&order](anyio::task_group& tg) -> anyio::task<> {
          for (int k = 0; k < 4; ++k)
            tg.start_soon([&order](int id) -> anyio::task<> {
              for (int step = 0; step < 3; ++step) {
                order.push_back(id * 10 + step);
                co_await anyio::checkpoint();
              }
            }, k);
          co_return;
        });
      },
      opts);
  REQUIRE(order.size() == 12);
  return order;
}
}  // namespace

TEST_CASE("sim: the same seed gives the same interleaving", "[sim][determinism]") {
  for (std::uint64_t seed : {0ULL, 1ULL, 7ULL, 12345ULL}) {
    INFO("seed " << seed);
    REQUIRE(record_order(seed, anyio::sim::strategy::random) ==
            record_order(seed, anyio::sim::strategy::random));
  }
}

TEST_CASE("sim: different seeds explore different interleavings", "[sim][determinism]") {
  std::set<std::vector<int>> orders;
  for (std::uint64_t seed = 0; seed < 30; ++seed)
    orders.insert(record_order(seed, anyio::sim::strategy::random));
  // 12 steps of 4 tasks have 369,600 interleavings; 30 seeds that agree
  // would mean the scheduler is not choosing at all.
  REQUIRE(orders.size() >= 2);
}

TEST_CASE("sim: the fifo strategy runs tasks in spawn order", "[sim][determinism]") {
  const std::vector<int> round_robin{0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32};
  for (std::uint64_t seed : {0ULL, 3ULL, 99ULL}) {
    INFO("seed " << seed);
    REQUIRE(record_order(seed, anyio::sim::strategy::fifo) == round_robin);
  }
}
