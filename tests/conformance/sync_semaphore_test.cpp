// SPDX-License-Identifier: MIT
// Conformance: anyio::semaphore on both backends — counting, FIFO hand-off,
// max_value errors, try_acquire, guards, statistics, and cancellation (a
// cancelled waiter takes no unit; a unit handed over before the cancellation
// arrived is kept).
#include "tests/conformance/sync_test_support.hpp"

#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("semaphore: acquire and release count down and up", "[sync][semaphore]") {
  anyio::semaphore sem(2);
  REQUIRE(sem.value() == 2);
  co_await sem.acquire();
  REQUIRE(sem.value() == 1);
  co_await sem.acquire();
  REQUIRE(sem.value() == 0);
  sem.release();
  REQUIRE(sem.value() == 1);
  sem.release();
  sem.release();  // no max_value: may go above the initial value
  REQUIRE(sem.value() == 3);
  REQUIRE_FALSE(sem.max_value());
}

ANYIO_TEST_CASE("semaphore: limits how many tasks run at once", "[sync][semaphore]") {
  anyio::semaphore sem(3);
  int inside = 0;
  int max_inside = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 8; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        auto held = co_await sem.guard();
        max_inside = std::max(max_inside, ++inside);
        co_await anyio::sleep(1ms);
        --inside;
      });
    co_return;
  });
  REQUIRE(max_inside == 3);
  REQUIRE(sem.value() == 3);
}

ANYIO_TEST_CASE("semaphore: waiters are served in FIFO order", "[sync][semaphore]") {
  anyio::semaphore sem(0);
  std::vector<int> order;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> {
        co_await sem.acquire();
        order.push_back(k);
      }, i);
      co_await settle();
    }
    REQUIRE(sem.statistics().tasks_waiting == 4);
    for (int i = 0; i < 4; ++i) {
      sem.release();
      REQUIRE(sem.value() == 0);  // the unit went straight to a waiter
      co_await settle();
    }
  });
  REQUIRE(order == std::vector<int>{0, 1, 2, 3});
}

ANYIO_TEST_CASE("semaphore: releasing beyond max_value is a usage_error", "[sync][semaphore]") {
  anyio::semaphore sem(1, 2);
  REQUIRE(sem.max_value() == std::optional<std::size_t>(2));
  sem.release();
  REQUIRE(sem.value() == 2);
  auto msg = sync_test::sync_message_of<anyio::usage_error>([&] { sem.release(); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("released too many times"));
  REQUIRE(sem.value() == 2);
  co_await sem.acquire();
  sem.release();
  REQUIRE(sem.statistics().max_value == std::optional<std::size_t>(2));
}

ANYIO_TEST_CASE("semaphore: max_value below initial_value is a usage_error", "[sync][semaphore]") {
  auto msg = sync_test::sync_message_of<anyio::usage_error>([] { anyio::semaphore bad(3, 2); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("max_value"));
  anyio::semaphore fine(2, 2);
  REQUIRE(fine.value() == 2);
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("semaphore: try_acquire takes a unit only if one is free", "[sync][semaphore]") {
  anyio::semaphore sem(1);
  REQUIRE(sem.try_acquire());
  REQUIRE(sem.value() == 0);
  REQUIRE_FALSE(sem.try_acquire());
  REQUIRE(sem.value() == 0);
  sem.release();
  REQUIRE(sem.try_acquire());
  sem.release();
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("semaphore: a cancelled waiter takes no unit", "[sync][semaphore]") {
  anyio::semaphore sem(0);
  int got = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      auto scope = anyio::move_on_after(5ms);
      co_await scope.run([&]() -> anyio::task<> {
        co_await sem.acquire();
        ++got;
      });
      REQUIRE(scope.cancelled_caught());
    });
    co_await anyio::sleep(20ms);
    REQUIRE(sem.statistics().tasks_waiting == 0);
    sem.release();
  });
  REQUIRE(got == 0);
  REQUIRE(sem.value() == 1);
}

ANYIO_TEST_CASE("semaphore: a cancellation after the hand-off keeps the unit",
                "[sync][semaphore]") {
  anyio::semaphore sem(0);
  anyio::cancel_scope scope;
  bool acquired = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        co_await sem.acquire();
        acquired = true;
        co_await anyio::checkpoint();
      });
    });
    co_await settle();
    sem.release();
    scope.cancel();
  });
  REQUIRE(acquired);
  REQUIRE(scope.cancelled_caught());
  REQUIRE(sem.value() == 0);  // the unit was taken, not lost and not returned
}

ANYIO_TEST_CASE("semaphore: statistics", "[sync][semaphore]") {
  anyio::semaphore sem(0, 5);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 2; ++i)
      tg.start_soon([&]() -> anyio::task<> { co_await sem.acquire(); });
    co_await settle();
    auto s = sem.statistics();
    REQUIRE(s.value == 0);
    REQUIRE(s.max_value == std::optional<std::size_t>(5));
    REQUIRE(s.tasks_waiting == 2);
    sem.release();
    sem.release();
    REQUIRE(sem.statistics().tasks_waiting == 0);
  });
  REQUIRE(sem.statistics().value == 0);
}
