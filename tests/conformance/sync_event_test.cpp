// SPDX-License-Identifier: MIT
// Conformance: anyio::event (anyio.Event / trio.Event) on both backends —
// waking every waiter, waiting on a set event as a checkpoint, statistics,
// and a cancelled waiter leaving without disturbing the others.
#include "tests/conformance/sync_test_support.hpp"

#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("event: set wakes every waiter", "[sync][event]") {
  anyio::event ev;
  int woken = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        co_await ev.wait();
        REQUIRE(ev.is_set());
        ++woken;
      });
    co_await settle();
    REQUIRE(woken == 0);
    REQUIRE_FALSE(ev.is_set());
    REQUIRE(ev.statistics().tasks_waiting == 4);
    ev.set();
    REQUIRE(ev.is_set());
    REQUIRE(ev.statistics().tasks_waiting == 0);
  });
  REQUIRE(woken == 4);
}

ANYIO_TEST_CASE("event: waiting on a set event returns at once", "[sync][event]") {
  anyio::event ev;
  ev.set();
  ev.set();  // setting twice does nothing
  auto before = anyio::current_time();
  co_await ev.wait();
  co_await ev.wait();
  REQUIRE(anyio::current_time() - before < 1s);
  REQUIRE(ev.statistics().tasks_waiting == 0);
  REQUIRE(ev.statistics().is_set);
}

ANYIO_TEST_CASE("event: wait on a set event is still a cancel point", "[sync][event]") {
  anyio::event ev;
  ev.set();
  bool after = false;
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> {
    co_await ev.wait();
    after = true;
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(after);
}

ANYIO_TEST_CASE("event: a cancelled waiter leaves, the others still wake", "[sync][event]") {
  anyio::event ev;
  std::vector<int> woken;
  anyio::cancel_scope victim;
  bool victim_cancelled = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await ev.wait();
      woken.push_back(1);
    });
    tg.start_soon([&]() -> anyio::task<> {
      co_await victim.run([&]() -> anyio::task<> {
        co_await ev.wait();
        woken.push_back(2);
      });
      victim_cancelled = victim.cancelled_caught();
    });
    co_await settle();
    REQUIRE(ev.statistics().tasks_waiting == 2);
    victim.cancel();
    co_await settle();
    REQUIRE(victim_cancelled);
    REQUIRE(ev.statistics().tasks_waiting == 1);
    ev.set();
  });
  REQUIRE(woken == std::vector<int>{1});
}

ANYIO_TEST_CASE("event: a waiter times out with move_on_after", "[sync][event]") {
  anyio::event ev;
  auto scope = anyio::move_on_after(10ms);
  co_await scope.run([&]() -> anyio::task<> { co_await ev.wait(); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(ev.statistics().tasks_waiting == 0);
  REQUIRE_FALSE(ev.is_set());
}

ANYIO_TEST_CASE("event: set from a task wakes a waiter in another", "[sync][event]") {
  anyio::event ready;
  anyio::event done;
  int value = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await ready.wait();
      value = 42;
      done.set();
    });
    co_await anyio::sleep(1ms);
    ready.set();
    co_await done.wait();
    REQUIRE(value == 42);
  });
}
