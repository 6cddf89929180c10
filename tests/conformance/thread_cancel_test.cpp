// SPDX-License-Identifier: MIT
// Conformance: cancelling to_thread::run_sync on both backends. Without
// `cancellable` the call waits for its thread, then raises cancelled (the
// result is dropped); with it the call returns at once and the thread runs
// on, holding its limiter token until it finishes. A call in a scope that is
// already cancelled never starts the function.
#include "tests/conformance/sync_test_support.hpp"

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// Sleep until `flag` is set (a worker waiting for the test to let it go).
void wait_for(const std::atomic<bool>& flag) {
  while (!flag.load()) std::this_thread::sleep_for(100us);
}

/// Sleep (virtual time on sim) until `limiter` has no borrowers; false if it
/// never gets there.
anyio::task<bool> drained(anyio::capacity_limiter& limiter) {
  for (int i = 0; i < 20000 && limiter.borrowed_tokens() != 0; ++i) co_await anyio::sleep(1ms);
  co_return limiter.borrowed_tokens() == 0;
}

}  // namespace

ANYIO_TEST_CASE("to_thread: a cancelled call waits for its thread, then raises cancelled",
                "[thread][cancel]") {
  std::atomic<bool> finished{false};
  int result = 0;
  auto slow = [&] {
    std::this_thread::sleep_for(5ms);
    finished = true;
    return 7;
  };
  auto scope = anyio::move_on_after(1ms);
  co_await scope.run([&]() -> anyio::task<> {
    result = co_await anyio::to_thread::run_sync(slow, anyio::to_thread::options{.sim_duration = 5ms});
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(finished.load());  // it waited for the thread
  REQUIRE(result == 0);      // and dropped the result
  REQUIRE(anyio::to_thread::current_default_thread_limiter().borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("to_thread: a cancellable call abandons its thread, which keeps its token",
                "[thread][cancel]") {
  anyio::capacity_limiter limiter(1);
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  auto blocked = [&] {
    wait_for(release);
    finished = true;
  };
  auto scope = anyio::move_on_after(1ms);
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::to_thread::run_sync(
        blocked, anyio::to_thread::options{.cancellable = true, .limiter = &limiter,
                                           .sim_duration = 10ms});
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(finished.load());  // the call returned while the thread still ran
  REQUIRE(limiter.borrowed_tokens() == 1);
  release = true;
  const bool back = co_await drained(limiter);
  REQUIRE(back);  // the token came back when the abandoned thread finished
  REQUIRE(finished.load());
}

ANYIO_TEST_CASE("to_thread: a call in a cancelled scope never runs the function",
                "[thread][cancel]") {
  std::atomic<bool> ran{false};
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::to_thread::run_sync([&] { ran = true; });
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(ran.load());
  REQUIRE(anyio::to_thread::current_default_thread_limiter().borrowed_tokens() == 0);
}

ANYIO_TEST_CASE("to_thread: callbacks of an abandoned thread fail with broken_resource_error",
                "[thread][cancel]") {
  std::atomic<bool> release{false};
  std::atomic<bool> broken{false};
  std::atomic<bool> finished{false};
  auto late = [&] {
    wait_for(release);
    try {
      anyio::from_thread::run_sync([] {});
    } catch (const anyio::broken_resource_error&) {
      broken = true;
    }
    finished = true;
  };
  auto scope = anyio::move_on_after(1ms);
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::to_thread::run_sync(
        late, anyio::to_thread::options{.cancellable = true, .sim_duration = 10ms});
  });
  REQUIRE(scope.cancelled_caught());
  release = true;
  const bool back = co_await drained(anyio::to_thread::current_default_thread_limiter());
  REQUIRE(back);
  REQUIRE(finished.load());
  REQUIRE(broken.load());
}
