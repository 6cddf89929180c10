// SPDX-License-Identifier: MIT
// Fixture test cases for checking the harness itself (tests/harness/
// CMakeLists.txt runs them through check_harness.cmake): hidden from normal
// runs by the [.fixture] tag. One has a real interleaving bug (a lost update
// across a checkpoint) that fails on some sim seeds but never on realio's FIFO
// order; one always passes. Others fail through Catch2 assertions, on
// every backend, or with values in their messages, and two have no tags.
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

// The lost update caught by a CHECK, which does not throw: the seed must
// still fail, in its outcome, its trace, a sweep and a shrink.
ANYIO_SIM_TEST_CASE("fixture: check fails", "[.fixture-check]") {
  co_await two_increments();
  CHECK(counter == 2);
}

// A REQUIRE failing in a child task reaches the run as an exception group
// of Catch2's empty TestFailureException: the trace must still say which
// assertion failed and with what values.
ANYIO_SIM_TEST_CASE("fixture: require fails in a child", "[.fixture-check]") {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([]() -> anyio::task<> {
      co_await two_increments();
      REQUIRE(counter == 2);
    });
    co_return;
  });
}

// Fails on realio and on every sim seed: both are reported.
ANYIO_TEST_CASE("fixture: fails everywhere", "[.fixture-both]") {
  co_await anyio::checkpoint();
  throw std::runtime_error("fails on every backend");
}

// Three increments: a lost update leaves 1 or 2, and the message says
// which. Losing two updates takes two preemptions, losing one takes one.
ANYIO_SIM_TEST_CASE("fixture: three increments", "[.fixture-values]") {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i) tg.start_soon(increment);
    co_return;
  });
  if (counter != 3) throw std::logic_error("lost update: counter is " + std::to_string(counter));
}

// Tags are optional, as in TEST_CASE.
ANYIO_TEST_CASE("fixture: untagged") { co_await anyio::checkpoint(); }
ANYIO_SIM_TEST_CASE("fixture: untagged on sim") { co_await anyio::checkpoint(); }

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

// The property fails through a CHECK, which does not throw.
TEST_CASE("fixture: rapidcheck sees a failed CHECK", "[.fixture-rc]") {
  auto body = []() -> anyio::task<> {
    co_await two_increments();
    CHECK(counter == 2);
  };
  auto r = anyio::rc::check_interleavings("rc check", body);
  REQUIRE(r.passed);
}
