// SPDX-License-Identifier: MIT
// Fixture test cases for checking the harness itself (tests/harness/
// CMakeLists.txt runs them through check_harness.cmake): hidden from normal
// runs by the [.fixture] tag. One has a real interleaving bug (a lost update
// across a checkpoint) that fails on some sim seeds but never on realio's FIFO
// order; one always passes.
#include <anyio/rapidcheck.hpp>
#include <anyio/testing/catch.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {
int counter = 0;

anyio::task<> increment() {
  int seen = counter;
  co_await anyio::checkpoint();  // another task may update counter here
  counter = seen + 1;
}

anyio::task<> two_increments() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("left"), increment);
    tg.start_soon(anyio::task_name("right"), increment);
    co_return;
  });
}
}  // namespace

ANYIO_SIM_TEST_CASE("fixture: lost update", "[.fixture]") {
  co_await two_increments();
  if (counter != 2) throw std::logic_error("lost update: counter is " + std::to_string(counter));
}

// The same race, but the bug is a crash (an assert in a release build, a
// null pointer): the process dies, so the harness cannot rerun the seed
// with a trace itself.
ANYIO_SIM_TEST_CASE("fixture: crashes", "[.crash]") {
  co_await two_increments();
  if (counter != 2) std::abort();
}

ANYIO_SIM_TEST_CASE("fixture: always passes", "[.fixture]") {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep(std::chrono::seconds(1)); });
    co_return;
  });
}

TEST_CASE("fixture: rapidcheck finds the lost update", "[.fixture-rc]") {
  auto body = []() -> anyio::task<> {
    counter = 0;
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(increment);
      tg.start_soon(increment);
      co_return;
    });
    if (counter != 2) throw std::logic_error("lost update: counter is " + std::to_string(counter));
  };
  auto r = anyio::rc::check_interleavings("rc lost update", body);
  REQUIRE(r.passed);
}
