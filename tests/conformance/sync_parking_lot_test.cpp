// SPDX-License-Identifier: MIT
// Conformance: anyio::lowlevel::parking_lot (trio.lowlevel.ParkingLot) and
// anyio::testing::sequencer (trio.testing.Sequencer) on both backends.
#include "tests/conformance/sync_test_support.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("parking_lot: unpark wakes in FIFO order, count at a time", "[sync][lot]") {
  anyio::lowlevel::parking_lot lot;
  std::vector<int> woken;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 5; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> {
        co_await lot.park();
        woken.push_back(k);
      }, i);
      co_await settle();
    }
    REQUIRE(lot.size() == 5);
    REQUIRE(lot.statistics().tasks_waiting == 5);
    REQUIRE(lot.unpark(2) == 2);
    REQUIRE(lot.size() == 3);
    co_await settle();
    std::sort(woken.begin(), woken.end());  // woken together: their run order is free
    REQUIRE(woken == std::vector<int>{0, 1});
    REQUIRE(lot.unpark() == 1);
    co_await settle();
    REQUIRE(lot.unpark_all() == 2);
    REQUIRE(lot.empty());
    REQUIRE(lot.unpark() == 0);
  });
  std::sort(woken.begin() + 3, woken.end());
  REQUIRE(woken == std::vector<int>{0, 1, 2, 3, 4});
}

ANYIO_TEST_CASE("parking_lot: repark moves waiters without waking them", "[sync][lot]") {
  anyio::lowlevel::parking_lot a;
  anyio::lowlevel::parking_lot b;
  std::vector<int> woken;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> {
        co_await a.park();
        woken.push_back(k);
      }, i);
      co_await settle();
    }
    REQUIRE(a.repark(b, 2) == 2);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 2);
    co_await settle();
    REQUIRE(woken.empty());
    REQUIRE(b.unpark() == 1);
    co_await settle();
    REQUIRE(woken == std::vector<int>{0});
    REQUIRE(a.repark_all(b) == 1);
    b.unpark_all();
  });
  REQUIRE(woken.size() == 3);
  REQUIRE(a.empty());
  REQUIRE(b.empty());
  REQUIRE_THROWS_AS(a.repark(a), anyio::usage_error);
}

ANYIO_TEST_CASE("parking_lot: a cancelled task leaves the lot", "[sync][lot]") {
  anyio::lowlevel::parking_lot lot;
  auto scope = anyio::move_on_after(5ms);
  co_await scope.run([&]() -> anyio::task<> { co_await lot.park(); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(lot.empty());
  REQUIRE(lot.unpark() == 0);
}

ANYIO_TEST_CASE("sequencer: steps run in order whatever the schedule", "[testing][sequencer]") {
  anyio::testing::sequencer seq;
  std::vector<std::string> log;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      {
        auto turn = co_await seq(1);
        log.push_back("b1");
        co_await anyio::sleep(1ms);  // the turn lasts across suspensions
        log.push_back("b2");
      }
      auto turn = co_await seq(3);
      REQUIRE(turn.position() == 3);
      log.push_back("d");
    });
    tg.start_soon([&]() -> anyio::task<> {
      {
        auto turn = co_await seq(2);
        log.push_back("c");
      }
      auto turn = co_await seq(4);
      log.push_back("e");
    });
    tg.start_soon([&]() -> anyio::task<> {
      auto turn = co_await seq(0);
      log.push_back("a");
    });
    co_return;
  });
  REQUIRE(log == std::vector<std::string>{"a", "b1", "b2", "c", "d", "e"});
}

ANYIO_TEST_CASE("sequencer: using a position twice is a usage_error", "[testing][sequencer]") {
  anyio::testing::sequencer seq;
  {
    auto turn = co_await seq(0);
    turn.end();
    turn.end();
  }
  auto msg = co_await sync_test::message_of<anyio::usage_error>([&] { return seq(0); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("position 0 was already used"));
  auto next = co_await seq(1);  // 0 ended, so 1 runs at once
  REQUIRE(next.position() == 1);
}

ANYIO_TEST_CASE("sequencer: a cancelled waiter breaks the sequence", "[testing][sequencer]") {
  anyio::testing::sequencer seq;
  bool other_broken = false;
  bool late_broken = false;
  auto scope = anyio::move_on_after(5ms);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      other_broken = co_await sync_test::raises<anyio::usage_error>([&] { return seq(2); });
    });
    co_await scope.run([&]() -> anyio::task<> { auto turn = co_await seq(1); });
    co_return;
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(other_broken);
  late_broken = co_await sync_test::raises<anyio::usage_error>([&] { return seq(0); });
  REQUIRE(late_broken);
}
