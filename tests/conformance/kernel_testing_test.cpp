// SPDX-License-Identifier: MIT
// Conformance: anyio::testing::wait_all_tasks_blocked on both backends.
#include <anyio/testing/catch.hpp>

#include <vector>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("wait_all_tasks_blocked: returns once every other task blocks", "[testing]") {
  std::vector<int> progress(3, 0);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([&](int k) -> anyio::task<> {
        for (int j = 0; j < 5; ++j) {
          ++progress[k];
          co_await anyio::checkpoint();
        }
        co_await anyio::sleep_forever();
      }, i);
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE(progress == std::vector<int>{5, 5, 5});
    tg.cancel_scope().cancel();
  });
}

ANYIO_TEST_CASE("wait_all_tasks_blocked: the smallest cushion wakes first", "[testing]") {
  std::vector<int> order;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await anyio::testing::wait_all_tasks_blocked(2ms);
      order.push_back(2);
    });
    tg.start_soon([&]() -> anyio::task<> {
      co_await anyio::testing::wait_all_tasks_blocked();
      order.push_back(1);
    });
    co_return;
  });
  REQUIRE(order == std::vector<int>{1, 2});
}
