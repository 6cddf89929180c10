// SPDX-License-Identifier: MIT
// Conformance: anyio::lock on both backends — mutual exclusion, strict FIFO
// hand-off, owner checks with clear usage errors, guards, statistics, and
// cancellation: a cancelled waiter takes nothing, while a waiter whose
// cancellation arrives after the hand-off keeps the lock (trio semantics).
#include "tests/conformance/sync_test_support.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;
using sync_test::my_id;
using sync_test::settle;

ANYIO_TEST_CASE("lock: one task at a time in the critical section", "[sync][lock]") {
  anyio::lock mutex;
  int inside = 0;
  int max_inside = 0;
  int entries = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 5; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        for (int round = 0; round < 3; ++round) {
          co_await mutex.acquire();
          ++inside;
          ++entries;
          max_inside = std::max(max_inside, inside);
          co_await anyio::checkpoint();
          co_await anyio::sleep(0s);
          --inside;
          mutex.release();
        }
      });
    co_return;
  });
  REQUIRE(max_inside == 1);
  REQUIRE(entries == 15);
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: waiters get the lock in FIFO order", "[sync][lock]") {
  anyio::lock mutex;
  std::vector<int> order;
  co_await mutex.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 5; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> {
        co_await mutex.acquire();
        order.push_back(k);
        co_await anyio::checkpoint();
        mutex.release();
      }, i);
      co_await settle();  // waiter i is queued before waiter i + 1 starts
    }
    REQUIRE(mutex.statistics().tasks_waiting == 5);
    mutex.release();
  });
  REQUIRE(order == std::vector<int>{0, 1, 2, 3, 4});
}

ANYIO_TEST_CASE("lock: release hands the lock straight to the first waiter", "[sync][lock]") {
  anyio::lock mutex;
  std::uint64_t waiter_id = 0;
  co_await mutex.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      waiter_id = my_id();
      co_await mutex.acquire();
      mutex.release();
    });
    co_await settle();
    mutex.release();
    // No barging: the lock already belongs to the waiter, before it even runs.
    REQUIRE(mutex.locked());
    REQUIRE(mutex.statistics().owner == waiter_id);
    REQUIRE_FALSE(mutex.try_acquire());
  });
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: statistics report owner and waiters", "[sync][lock]") {
  anyio::lock mutex;
  auto s = mutex.statistics();
  REQUIRE_FALSE(s.locked);
  REQUIRE(s.owner == 0);
  REQUIRE(s.tasks_waiting == 0);
  co_await mutex.acquire();
  s = mutex.statistics();
  REQUIRE(s.locked);
  REQUIRE(s.owner == my_id());
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        co_await mutex.acquire();
        mutex.release();
      });
    co_await settle();
    REQUIRE(mutex.statistics().tasks_waiting == 3);
    mutex.release();
  });
  s = mutex.statistics();
  REQUIRE_FALSE(s.locked);
  REQUIRE(s.tasks_waiting == 0);
}

ANYIO_TEST_CASE("lock: try_acquire never blocks", "[sync][lock]") {
  anyio::lock mutex;
  REQUIRE(mutex.try_acquire());
  REQUIRE(mutex.locked());
  bool other_got_it = true;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      other_got_it = mutex.try_acquire();
      co_return;
    });
    co_return;
  });
  REQUIRE_FALSE(other_got_it);
  mutex.release();
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: releasing a lock you do not hold is a usage_error", "[sync][lock]") {
  anyio::lock mutex;
  auto unlocked = sync_test::sync_message_of<anyio::usage_error>([&] { mutex.release(); });
  REQUIRE(unlocked);
  CHECK_THAT(*unlocked, Catch::Contains("anyio::lock::release()"));
  CHECK_THAT(*unlocked, Catch::Contains("nobody holds it"));
  co_await mutex.acquire();
  std::optional<std::string> other;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      other = sync_test::sync_message_of<anyio::usage_error>([&] { mutex.release(); });
      co_return;
    });
    co_return;
  });
  REQUIRE(other);
  CHECK_THAT(*other, Catch::Contains("does not hold this lock"));
  CHECK_THAT(*other, Catch::Contains("held by task " + std::to_string(my_id())));
  REQUIRE(mutex.statistics().owner == my_id());  // the failed release changed nothing
  mutex.release();
}

ANYIO_TEST_CASE("lock: acquiring a lock you hold is a usage_error", "[sync][lock]") {
  anyio::lock mutex;
  co_await mutex.acquire();
  auto msg = co_await sync_test::message_of<anyio::usage_error>([&] { return mutex.acquire(); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("not reentrant"));
  REQUIRE_THROWS_AS((void)mutex.try_acquire(), anyio::usage_error);
  REQUIRE(mutex.statistics().tasks_waiting == 0);
  mutex.release();
}

ANYIO_TEST_CASE("lock: guard releases at scope exit and across co_await", "[sync][lock]") {
  anyio::lock mutex;
  {
    auto held = co_await mutex.guard();
    REQUIRE(held.owns());
    REQUIRE(mutex.statistics().owner == my_id());
    co_await anyio::sleep(1ms);  // still held across a suspension
    REQUIRE(mutex.locked());
  }
  REQUIRE_FALSE(mutex.locked());
  auto held = co_await mutex.guard();
  anyio::sync_guard moved = std::move(held);
  REQUIRE_FALSE(held.owns());
  REQUIRE(moved.owns());
  moved.unlock();
  REQUIRE_FALSE(mutex.locked());
  moved.unlock();  // a second unlock does nothing
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: a guard's release wakes the next waiter", "[sync][lock]") {
  anyio::lock mutex;
  std::vector<std::string> log;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto held = co_await mutex.guard();
    tg.start_soon([&]() -> anyio::task<> {
      auto mine = co_await mutex.guard();
      log.push_back("waiter");
    });
    co_await settle();
    log.push_back("holder");
    held.unlock();
  });
  REQUIRE(log == std::vector<std::string>{"holder", "waiter"});
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: a cancelled waiter leaves the queue without the lock", "[sync][lock]") {
  anyio::lock mutex;
  std::vector<int> order;
  anyio::cancel_scope victim;
  co_await mutex.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await victim.run([&]() -> anyio::task<> {
        co_await mutex.acquire();
        order.push_back(1);  // never reached
        mutex.release();
      });
    });
    co_await settle();
    tg.start_soon([&]() -> anyio::task<> {
      co_await mutex.acquire();
      order.push_back(2);
      mutex.release();
    });
    co_await settle();
    REQUIRE(mutex.statistics().tasks_waiting == 2);
    victim.cancel();
    co_await settle();
    REQUIRE(victim.cancelled_caught());
    REQUIRE(mutex.statistics().tasks_waiting == 1);
    REQUIRE(mutex.statistics().owner == my_id());
    mutex.release();
  });
  REQUIRE(order == std::vector<int>{2});
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: a cancellation after the hand-off keeps the lock", "[sync][lock]") {
  anyio::lock mutex;
  anyio::cancel_scope scope;
  bool acquired = false;
  bool released = false;
  co_await mutex.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        co_await mutex.acquire();
        acquired = true;  // the acquire completed although its scope was cancelled
        co_await anyio::checkpoint();
      });
      REQUIRE(scope.cancelled_caught());
      REQUIRE(mutex.statistics().owner == my_id());
      mutex.release();
      released = true;
    });
    co_await settle();
    mutex.release();  // hands the lock to the waiter...
    scope.cancel();   // ...whose cancellation comes too late to undo it
  });
  REQUIRE(acquired);
  REQUIRE(released);
  REQUIRE_FALSE(mutex.locked());
}

ANYIO_TEST_CASE("lock: acquire in a cancelled scope takes nothing", "[sync][lock]") {
  anyio::lock mutex;
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> { co_await mutex.acquire(); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(mutex.locked());
}
