// SPDX-License-Identifier: MIT
// Conformance: anyio::condition on both backends — wait releases and
// re-acquires the lock, notify(n) / notify_all wake in FIFO order, misuse
// errors, and a cancelled wait that still re-acquires the lock.
#include "tests/conformance/sync_test_support.hpp"

#include <vector>

using namespace std::chrono_literals;
using sync_test::my_id;
using sync_test::settle;

namespace {

/// Start `n` waiters one by one; each appends its index once woken.
anyio::task<> start_waiters(anyio::task_group& tg, anyio::condition& cond, std::vector<int>& woken,
                            int n) {
  for (int i = 0; i < n; ++i) {
    tg.start_soon([&cond, &woken](int k) -> anyio::task<> {
      auto held = co_await cond.guard();
      co_await cond.wait();
      REQUIRE(cond.statistics().lock.owner == my_id());
      woken.push_back(k);
    }, i);
    co_await settle();
  }
}

}  // namespace

ANYIO_TEST_CASE("condition: wait releases the lock and notify wakes a waiter",
                "[sync][condition]") {
  anyio::condition cond;
  bool woken = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await cond.acquire();
      co_await cond.wait();
      REQUIRE(cond.locked());
      REQUIRE(cond.statistics().lock.owner == my_id());
      woken = true;
      cond.release();
    });
    co_await settle();
    REQUIRE_FALSE(cond.locked());  // the waiter released it
    REQUIRE(cond.statistics().tasks_waiting == 1);
    co_await cond.acquire();
    cond.notify();
    REQUIRE(cond.statistics().tasks_waiting == 0);
    co_await settle();
    REQUIRE_FALSE(woken);  // notified, but the lock is still ours
    cond.release();
  });
  REQUIRE(woken);
  REQUIRE_FALSE(cond.locked());
}

ANYIO_TEST_CASE("condition: notify(n) wakes n waiters in FIFO order", "[sync][condition]") {
  anyio::condition cond;
  std::vector<int> woken;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    co_await start_waiters(tg, cond, woken, 5);
    REQUIRE(cond.statistics().tasks_waiting == 5);
    {
      auto held = co_await cond.guard();
      cond.notify(2);
      REQUIRE(cond.statistics().tasks_waiting == 3);
      REQUIRE(cond.statistics().lock.tasks_waiting == 2);
    }
    co_await settle();
    REQUIRE(woken == std::vector<int>{0, 1});
    auto held = co_await cond.guard();
    cond.notify_all();
    REQUIRE(cond.statistics().tasks_waiting == 0);
  });
  REQUIRE(woken == std::vector<int>{0, 1, 2, 3, 4});
}

ANYIO_TEST_CASE("condition: waiting or notifying without the lock is a usage_error",
                "[sync][condition]") {
  anyio::condition cond;
  auto msg = co_await sync_test::message_of<anyio::usage_error>([&] { return cond.wait(); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("must hold the condition's lock"));
  REQUIRE(sync_test::sync_message_of<anyio::usage_error>([&] { cond.notify(); }));
  REQUIRE(sync_test::sync_message_of<anyio::usage_error>([&] { cond.notify_all(); }));
  REQUIRE_FALSE(cond.locked());
}

ANYIO_TEST_CASE("condition: a cancelled wait re-acquires the lock before raising",
                "[sync][condition]") {
  anyio::condition cond;
  bool held_after_cancel = false;
  anyio::cancel_scope scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await cond.acquire();
      co_await scope.run([&]() -> anyio::task<> { co_await cond.wait(); });
      held_after_cancel = cond.statistics().lock.owner == my_id();
      cond.release();
    });
    co_await settle();
    co_await cond.acquire();  // the waiter must wait for us to re-acquire
    scope.cancel();
    co_await settle();
    REQUIRE(cond.statistics().tasks_waiting == 0);
    REQUIRE(cond.statistics().lock.tasks_waiting == 1);
    cond.release();
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(held_after_cancel);
  REQUIRE_FALSE(cond.locked());
}

ANYIO_TEST_CASE("condition: cancelled after notify, the waiter still gets the lock",
                "[sync][condition]") {
  anyio::condition cond;
  anyio::cancel_scope scope;
  bool owner_after = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await cond.acquire();
      co_await scope.run([&]() -> anyio::task<> { co_await cond.wait(); });
      owner_after = cond.statistics().lock.owner == my_id();
      cond.release();
    });
    co_await settle();
    co_await cond.acquire();
    cond.notify();  // the waiter now queues for the lock...
    scope.cancel();  // ...and is cancelled there
    co_await settle();
    REQUIRE(cond.statistics().lock.tasks_waiting == 1);
    cond.release();
  });
  REQUIRE(owner_after);
  REQUIRE_FALSE(cond.locked());
}

ANYIO_TEST_CASE("condition: over an existing lock", "[sync][condition]") {
  anyio::lock mutex;
  anyio::condition cond(mutex);
  int stage = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      auto held = co_await mutex.guard();
      while (stage == 0) co_await cond.wait();
      REQUIRE(mutex.statistics().owner == my_id());
      stage = 2;
    });
    co_await settle();
    REQUIRE_FALSE(mutex.locked());
    auto held = co_await mutex.guard();
    REQUIRE(cond.locked());
    stage = 1;
    cond.notify_all();
  });
  REQUIRE(stage == 2);
}

ANYIO_TEST_CASE("condition: producer/consumer with a predicate loop", "[sync][condition]") {
  anyio::condition cond;
  std::vector<int> queue;
  std::vector<int> consumed;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (int n = 0; n < 10; ++n) {
        auto held = co_await cond.guard();
        while (queue.empty()) co_await cond.wait();
        consumed.push_back(queue.front());
        queue.erase(queue.begin());
      }
    });
    for (int i = 0; i < 10; ++i) {
      auto held = co_await cond.guard();
      queue.push_back(i);
      cond.notify();
      held.unlock();
      co_await anyio::sleep(i % 3 == 0 ? 1ms : 0ms);
    }
  });
  REQUIRE(consumed == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
