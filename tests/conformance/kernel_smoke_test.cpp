// SPDX-License-Identifier: MIT
// Smoke test for the kernel: a task group of sleepers finishes on both
// backends. The first thing to run when the kernel does not work at all; the
// behaviour itself is pinned by the other kernel_*_test.cpp files.
#include <anyio/testing/catch.hpp>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("smoke: sleep and task group", "[smoke]") {
  int done = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([&](int n) -> anyio::task<> {
        co_await anyio::sleep(std::chrono::milliseconds(n));
        ++done;
      }, i);
    co_return;
  });
  REQUIRE(done == 3);
}
