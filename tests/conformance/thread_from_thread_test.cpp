// SPDX-License-Identifier: MIT
// Conformance: from_thread::run / run_sync on both backends — a worker
// started by to_thread calls back into the run (plain and coroutine
// functions), results and exceptions cross back, callbacks run in the
// calling task (they see its cancel scopes), and calling from a thread that
// to_thread did not start is a usage_error.
#include "tests/conformance/sync_test_support.hpp"

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("from_thread: run_sync calls into the run and returns the result",
                "[thread][from_thread]") {
  anyio::event done;
  auto worker = [&] {
    const int n = anyio::from_thread::run_sync([&] {
      done.set();  // a run object, touched on the run's thread
      return 20;
    });
    return n + 1;
  };
  const int got = co_await anyio::to_thread::run_sync(worker);
  REQUIRE(got == 21);
  REQUIRE(done.is_set());
}

ANYIO_TEST_CASE("from_thread: run awaits a coroutine function in the run",
                "[thread][from_thread]") {
  auto worker = [] {
    int total = 0;
    for (int i = 1; i <= 3; ++i)
      total += anyio::from_thread::run([i]() -> anyio::task<int> {
        co_await anyio::sleep(1ms);
        co_return i * 10;
      });
    return total;
  };
  const anyio::clock::time_point before = anyio::current_time();
  const int got = co_await anyio::to_thread::run_sync(worker);
  REQUIRE(got == 60);
  REQUIRE(anyio::current_time() - before >= 3ms);  // the sleeps ran in the run
}

ANYIO_TEST_CASE("from_thread: an exception crosses back to the worker", "[thread][from_thread]") {
  auto worker = [] {
    try {
      anyio::from_thread::run_sync([]() -> int { throw std::invalid_argument("bad callback"); });
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const std::string got = co_await anyio::to_thread::run_sync(worker);
  REQUIRE(got == "bad callback");
}

ANYIO_TEST_CASE("from_thread: a worker's exception after a callback reaches the caller",
                "[thread][from_thread]") {
  auto worker = [] {
    anyio::from_thread::run([]() -> anyio::task<> { co_await anyio::checkpoint(); });
    throw std::runtime_error("after the callback");
  };
  std::string message;
  try {
    co_await anyio::to_thread::run_sync(worker);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  REQUIRE(message == "after the callback");
}

ANYIO_TEST_CASE("from_thread: a callback sees the calling task's cancellation",
                "[thread][from_thread][cancel]") {
  bool callback_cancelled = false;
  auto worker = [&] {
    try {
      anyio::from_thread::run([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
    } catch (...) {  // anyio::cancelled, which is no std::exception
      callback_cancelled = true;
      throw;
    }
  };
  auto scope = anyio::move_on_after(5ms);
  co_await scope.run([&]() -> anyio::task<> { co_await anyio::to_thread::run_sync(worker); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(callback_cancelled);
}

ANYIO_TEST_CASE("from_thread: calling it from the run's own thread is a usage_error",
                "[thread][from_thread]") {
  std::string message;
  try {
    anyio::from_thread::run_sync([] {});
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("not on a worker thread started by anyio::to_thread::run_sync") !=
          std::string::npos);
  co_return;
}
