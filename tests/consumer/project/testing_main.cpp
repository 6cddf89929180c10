// SPDX-License-Identifier: MIT
// A downstream test program on the installed anyio::testing: one
// ANYIO_TEST_CASE (run on realio and on sim seeds) with main() supplied by
// the library, proving the Catch2 harness and its dependencies install and
// link from the package.
#include <anyio/testing/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("consumer: children finish before the group exits", "[consumer]") {
  int finished = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([&finished](int ms) -> anyio::task<> {
        co_await anyio::sleep(std::chrono::milliseconds(ms));
        ++finished;
      }, i);
    co_return;
  });
  REQUIRE(finished == 3);
}
