// SPDX-License-Identifier: MIT
// Conformance: anyio::capacity_limiter on both backends — token accounting,
// run-time total_tokens changes, borrowers, FIFO, misuse errors, guards,
// statistics, and cancellation (no token taken; a token handed over before
// the cancellation arrived is kept).
#include "tests/conformance/sync_test_support.hpp"

#include <algorithm>
#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("capacity_limiter: at most total_tokens tasks at once", "[sync][limiter]") {
  anyio::capacity_limiter limiter(2);
  int inside = 0;
  int max_inside = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 6; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        co_await limiter.acquire();
        max_inside = std::max(max_inside, ++inside);
        REQUIRE(limiter.borrowed_tokens() <= 2);
        co_await anyio::sleep(2ms);
        --inside;
        limiter.release();
      });
    co_return;
  });
  REQUIRE(max_inside == 2);
  REQUIRE(limiter.borrowed_tokens() == 0);
  REQUIRE(limiter.available_tokens() == 2);
}

ANYIO_TEST_CASE("capacity_limiter: token counts", "[sync][limiter]") {
  anyio::capacity_limiter limiter(3);
  REQUIRE(limiter.total_tokens() == 3);
  REQUIRE(limiter.available_tokens() == 3);
  co_await limiter.acquire();
  REQUIRE(limiter.borrowed_tokens() == 1);
  REQUIRE(limiter.available_tokens() == 2);
  int a = 0;
  int b = 0;
  co_await limiter.acquire_on_behalf_of(&a);
  REQUIRE(limiter.try_acquire_on_behalf_of(&b));
  REQUIRE(limiter.available_tokens() == 0);
  int c = 0;
  REQUIRE_FALSE(limiter.try_acquire_on_behalf_of(&c));
  auto s = limiter.statistics();
  REQUIRE(s.borrowed_tokens == 3);
  REQUIRE(s.total_tokens == 3);
  REQUIRE(s.borrowers.size() == 3);
  REQUIRE(s.borrowers[1] == &a);
  REQUIRE(s.borrowers[2] == &b);
  limiter.release_on_behalf_of(&a);
  limiter.release_on_behalf_of(&b);
  limiter.release();
  REQUIRE(limiter.borrowed_tokens() == 0);
  REQUIRE(limiter.statistics().borrowers.empty());
}

ANYIO_TEST_CASE("capacity_limiter: raising total_tokens wakes waiters", "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  int running = 0;
  co_await limiter.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        co_await limiter.acquire();
        ++running;
        co_await anyio::sleep_forever();
      });
    co_await settle();
    REQUIRE(limiter.statistics().tasks_waiting == 3);
    limiter.set_total_tokens(3);  // two more tokens: two waiters run
    REQUIRE(limiter.statistics().tasks_waiting == 1);
    REQUIRE(limiter.borrowed_tokens() == 3);
    co_await settle();
    REQUIRE(running == 2);
    limiter.set_total_tokens(anyio::unbounded);
    co_await settle();
    REQUIRE(running == 3);
    tg.cancel_scope().cancel();
  });
}

ANYIO_TEST_CASE("capacity_limiter: lowering total_tokens lets borrowers finish",
                "[sync][limiter]") {
  anyio::capacity_limiter limiter(3);
  int a = 0;
  int b = 0;
  int c = 0;
  co_await limiter.acquire_on_behalf_of(&a);
  co_await limiter.acquire_on_behalf_of(&b);
  limiter.set_total_tokens(1);
  REQUIRE(limiter.borrowed_tokens() == 2);
  REQUIRE(limiter.available_tokens() == 0);
  REQUIRE_FALSE(limiter.try_acquire_on_behalf_of(&c));
  limiter.release_on_behalf_of(&a);
  REQUIRE_FALSE(limiter.try_acquire_on_behalf_of(&c));  // still 1 borrowed of 1
  limiter.release_on_behalf_of(&b);
  REQUIRE(limiter.try_acquire_on_behalf_of(&c));
  limiter.release_on_behalf_of(&c);
}

ANYIO_TEST_CASE("capacity_limiter: misuse is a clear usage_error", "[sync][limiter]") {
  anyio::capacity_limiter limiter(2);
  co_await limiter.acquire();
  auto twice =
      co_await sync_test::message_of<anyio::usage_error>([&] { return limiter.acquire(); });
  REQUIRE(twice);
  CHECK_THAT(*twice, Catch::Contains("already holding one of this capacity_limiter's tokens"));
  REQUIRE(limiter.borrowed_tokens() == 1);
  limiter.release();
  auto not_held = sync_test::sync_message_of<anyio::usage_error>([&] { limiter.release(); });
  REQUIRE(not_held);
  CHECK_THAT(*not_held, Catch::Contains("isn't holding any"));
  int x = 0;
  REQUIRE(sync_test::sync_message_of<anyio::usage_error>(
      [&] { limiter.release_on_behalf_of(&x); }));
  REQUIRE(sync_test::sync_message_of<anyio::usage_error>([&] { limiter.set_total_tokens(0); }));
  REQUIRE(sync_test::sync_message_of<anyio::usage_error>([] { anyio::capacity_limiter z(0); }));
  REQUIRE(limiter.total_tokens() == 2);
}

ANYIO_TEST_CASE("capacity_limiter: a borrower waiting twice is a usage_error",
                "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  int holder = 0;
  int borrower = 0;
  co_await limiter.acquire_on_behalf_of(&holder);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await limiter.acquire_on_behalf_of(&borrower);
      limiter.release_on_behalf_of(&borrower);
    });
    co_await settle();
    REQUIRE(sync_test::sync_message_of<anyio::usage_error>(
        [&] { (void)limiter.try_acquire_on_behalf_of(&borrower); }));
    limiter.release_on_behalf_of(&holder);
  });
  REQUIRE(limiter.borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("capacity_limiter: waiters get tokens in FIFO order", "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  std::vector<int> order;
  co_await limiter.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> {
        auto held = co_await limiter.guard();
        order.push_back(k);
        co_await anyio::checkpoint();
      }, i);
      co_await settle();
    }
    limiter.release();
  });
  REQUIRE(order == std::vector<int>{0, 1, 2, 3});
}

ANYIO_TEST_CASE("capacity_limiter: a cancelled waiter takes no token", "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  anyio::cancel_scope victim;
  std::vector<int> got;
  co_await limiter.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await victim.run([&]() -> anyio::task<> {
        co_await limiter.acquire();
        got.push_back(1);
      });
    });
    co_await settle();
    tg.start_soon([&]() -> anyio::task<> {
      auto held = co_await limiter.guard();
      got.push_back(2);
    });
    co_await settle();
    victim.cancel();
    co_await settle();
    REQUIRE(limiter.statistics().tasks_waiting == 1);
    REQUIRE(limiter.borrowed_tokens() == 1);
    limiter.release();
  });
  REQUIRE(got == std::vector<int>{2});
  REQUIRE(limiter.borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("capacity_limiter: a cancellation after the hand-off keeps the token",
                "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  anyio::cancel_scope scope;
  bool acquired = false;
  bool holds_after = false;
  co_await limiter.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        co_await limiter.acquire();
        acquired = true;
        co_await anyio::checkpoint();
      });
      holds_after = limiter.borrowed_tokens() == 1;
      limiter.release();
    });
    co_await settle();
    limiter.release();
    scope.cancel();
  });
  REQUIRE(acquired);
  REQUIRE(holds_after);
  REQUIRE(limiter.borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("capacity_limiter: guard gives the token back", "[sync][limiter]") {
  anyio::capacity_limiter limiter(1);
  {
    auto held = co_await limiter.guard();
    REQUIRE(limiter.borrowed_tokens() == 1);
    co_await anyio::sleep(1ms);
    REQUIRE(limiter.available_tokens() == 0);
  }
  REQUIRE(limiter.borrowed_tokens() == 0);
  REQUIRE(limiter.try_acquire());
  limiter.release();
}
