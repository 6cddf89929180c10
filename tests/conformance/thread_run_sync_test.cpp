// SPDX-License-Identifier: MIT
// Conformance: to_thread::run_sync on both backends — results and arguments
// move through, exceptions propagate, the default limiter (40 tokens, one per
// run) and a caller's limiter bound how many calls run at once, and a
// function really runs off the run's thread.
#include "tests/conformance/sync_test_support.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {
int add(int a, int b) { return a + b; }
}  // namespace

ANYIO_TEST_CASE("to_thread: run_sync returns the function's result", "[thread]") {
  const int sum = co_await anyio::to_thread::run_sync(add, 2, 40);
  REQUIRE(sum == 42);
  auto greet = [](std::string who) { return "hello " + who; };
  const std::string s = co_await anyio::to_thread::run_sync(greet, std::string("thread"));
  REQUIRE(s == "hello thread");
}

ANYIO_TEST_CASE("to_thread: run_sync moves a move-only argument and result", "[thread]") {
  auto bump = [](std::unique_ptr<int> p) {
    ++*p;
    return p;
  };
  std::unique_ptr<int> out = co_await anyio::to_thread::run_sync(bump, std::make_unique<int>(6));
  REQUIRE(out != nullptr);
  REQUIRE(*out == 7);
}

ANYIO_TEST_CASE("to_thread: the function runs off the run's thread", "[thread]") {
  const std::thread::id loop = std::this_thread::get_id();
  auto id = [] { return std::this_thread::get_id(); };
  const std::thread::id worker = co_await anyio::to_thread::run_sync(id);
  REQUIRE(worker != loop);
}

ANYIO_TEST_CASE("to_thread: an exception from the function reaches the caller", "[thread]") {
  auto fail = [] { throw std::runtime_error("disk on fire"); };
  std::string message;
  try {
    co_await anyio::to_thread::run_sync(fail);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  REQUIRE(message == "disk on fire");
  // The token went back: the limiter is whole again.
  REQUIRE(anyio::to_thread::current_default_thread_limiter().borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("to_thread: the default limiter has 40 tokens", "[thread]") {
  anyio::capacity_limiter& limiter = anyio::to_thread::current_default_thread_limiter();
  REQUIRE(limiter.total_tokens() == 40);
  REQUIRE(&limiter == &anyio::to_thread::current_default_thread_limiter());
  std::size_t during = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      // On sim the call takes 1 ms of virtual time: the waiter sees it running.
      co_await anyio::to_thread::run_sync([] { std::this_thread::sleep_for(1ms); },
                                          anyio::to_thread::options{.sim_duration = 1ms});
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    during = limiter.borrowed_tokens();
  });
  REQUIRE(during == 1);
  REQUIRE(limiter.borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("to_thread: a limiter of 2 runs at most 2 calls at once", "[thread]") {
  anyio::capacity_limiter limiter(2);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  auto work = [&] {
    const int now = ++inside;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(1ms);
    --inside;
  };
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 6; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        co_await anyio::to_thread::run_sync(work, anyio::to_thread::options{.limiter = &limiter});
      });
    co_return;
  });
  REQUIRE(most.load() >= 1);
  REQUIRE(most.load() <= 2);
  REQUIRE(limiter.borrowed_tokens() == 0);
}
