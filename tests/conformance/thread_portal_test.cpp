// SPDX-License-Identifier: MIT
// Conformance: from_thread::blocking_portal on both backends. A portal
// opened with with_blocking_portal is called from to_thread workers (sim:
// in lock-step, through from_thread, so every seed is deterministic): call
// returns the value or rethrows, start_task_soon's future can be cancelled,
// stop(true) cancels the tasks still running, a stopped portal refuses new
// calls, the run's own thread is refused. On realio a plain std::thread may
// call too; on sim it is a usage_error. start_blocking_portal (plain
// synchronous code, always realio) leaves no thread or descriptor behind.
#include "tests/conformance/sync_test_support.hpp"

#include <anyio/threads.hpp>

#include <dirent.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using anyio::from_thread::blocking_portal;

namespace {

anyio::task<int> slow_double(int x) {
  co_await anyio::sleep(2ms);
  co_return 2 * x;
}

anyio::task<int> fail_after_sleep() {
  co_await anyio::sleep(1ms);
  throw std::invalid_argument("portal task failed");
}

/// Entries of a /proc/self directory (threads, descriptors).
int count_entries(const char* dir) {
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

}  // namespace

ANYIO_TEST_CASE("blocking_portal: call runs a coroutine function in the run and returns its value",
                "[thread][portal]") {
  const anyio::clock::time_point before = anyio::current_time();
  int got = 0;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    got = co_await anyio::to_thread::run_sync([&] {
      const int a = portal.call(slow_double, 10);
      const int b = portal.call([] { return 1; });  // a plain function, on the run's thread
      return a + b;
    });
  });
  REQUIRE(got == 21);
  REQUIRE(anyio::current_time() - before >= 2ms);  // the sleep ran in the run
}

ANYIO_TEST_CASE("blocking_portal: an exception from the function reaches the calling thread",
                "[thread][portal]") {
  std::string message;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    message = co_await anyio::to_thread::run_sync([&] {
      try {
        portal.call(fail_after_sleep);
      } catch (const std::invalid_argument& e) {
        return std::string(e.what());
      }
      return std::string("no exception");
    });
  });
  REQUIRE(message == "portal task failed");
}

ANYIO_TEST_CASE("blocking_portal: a stopped portal refuses new calls with a clear error",
                "[thread][portal]") {
  std::string message;
  bool ran = false;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    message = co_await anyio::to_thread::run_sync([&] {
      portal.stop();
      try {
        portal.call([&] { ran = true; });
      } catch (const anyio::broken_resource_error& e) {
        return std::string(e.what());
      }
      return std::string("no exception");
    });
    co_await portal.sleep_until_stopped();  // returns: the portal was stopped
  });
  REQUIRE(!ran);
  REQUIRE(message.find("blocking_portal is stopped") != std::string::npos);
  REQUIRE(message.find("start_task_soon") != std::string::npos);
}

ANYIO_TEST_CASE("blocking_portal: start_task_soon returns a future that can be cancelled",
                "[thread][portal][cancel]") {
  bool finished_normally = false;
  bool cancelled_flag = false;
  bool cancel_result = false;
  bool done_after = false;
  std::string message;
  int quick = 0;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    co_await anyio::to_thread::run_sync([&] {
      auto forever = portal.start_task_soon([&]() -> anyio::task<> {
        co_await anyio::sleep_forever();
        finished_normally = true;
      });
      auto fast = portal.start_task_soon(slow_double, 4);
      quick = fast.get();
      cancel_result = forever.cancel();
      try {
        forever.get();
      } catch (const anyio::from_thread::task_cancelled_error& e) {
        message = e.what();
      }
      cancelled_flag = forever.cancelled();
      done_after = forever.done();
    });
  });
  REQUIRE(quick == 8);
  REQUIRE(cancel_result);
  REQUIRE(!finished_normally);
  REQUIRE(cancelled_flag);
  REQUIRE(done_after);
  REQUIRE(message.find("cancelled") != std::string::npos);
}

ANYIO_TEST_CASE("blocking_portal: cancel() of a finished task returns false and keeps its value",
                "[thread][portal][cancel]") {
  bool cancel_result = true;
  int value = 0;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    co_await anyio::to_thread::run_sync([&] {
      auto f = portal.start_task_soon(slow_double, 5);
      f.wait();
      cancel_result = f.cancel();
      value = f.get();
    });
  });
  REQUIRE(!cancel_result);
  REQUIRE(value == 10);
}

ANYIO_TEST_CASE("blocking_portal: stop(true) cancels the tasks still running",
                "[thread][portal][cancel]") {
  int finished = 0;
  int cancelled_count = 0;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    co_await anyio::to_thread::run_sync([&] {
      auto sleeper = [&]() -> anyio::task<> {
        co_await anyio::sleep(1h);
        ++finished;
      };
      auto a = portal.start_task_soon(sleeper);
      auto b = portal.start_task_soon(sleeper);
      portal.stop(true);
      a.wait();
      b.wait();
      cancelled_count = int(a.cancelled()) + int(b.cancelled());
    });
  });
  REQUIRE(finished == 0);
  REQUIRE(cancelled_count == 2);
}

ANYIO_TEST_CASE("blocking_portal: without cancel_remaining the portal waits for its tasks",
                "[thread][portal]") {
  bool finished = false;
  std::optional<anyio::from_thread::portal_future<int>> future;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    co_await anyio::to_thread::run_sync([&] {
      future = portal.start_task_soon([&]() -> anyio::task<int> {
        co_await anyio::sleep(5ms);
        finished = true;
        co_return 3;
      });
    });
    // The body ends at once; with_blocking_portal waits for the task.
  });
  REQUIRE(finished);
  REQUIRE(future->done());
  REQUIRE(future->get() == 3);  // finished: get() does not block, even here
}

ANYIO_TEST_CASE("blocking_portal: the run's own thread is refused (it would block the run)",
                "[thread][portal]") {
  std::optional<std::string> message;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    message =
        sync_test::sync_message_of<anyio::usage_error>([&] { portal.call([] { return 1; }); });
    co_return;
  });
  REQUIRE(message.has_value());
  REQUIRE(message->find("own run thread") != std::string::npos);
}

ANYIO_TEST_CASE("blocking_portal: a failing body cancels the portal's tasks", "[thread][portal]") {
  bool task_cancelled = false;
  bool body_error_seen = false;
  try {
    co_await anyio::from_thread::with_blocking_portal(
        [&](blocking_portal& portal) -> anyio::task<> {
          auto f = co_await anyio::to_thread::run_sync([&] {
            return portal.start_task_soon([&]() -> anyio::task<> {
              try {
                co_await anyio::sleep_forever();
              } catch (const anyio::cancelled&) {
                task_cancelled = true;
                throw;
              }
            });
          });
          (void)f;
          co_await anyio::sleep(1ms);
          throw std::runtime_error("body failed");
        });
  } catch (const anyio::exception_group& group) {
    body_error_seen = group.contains<std::runtime_error>();
  }
  REQUIRE(body_error_seen);
  REQUIRE(task_cancelled);
}

ANYIO_TEST_CASE_WITH("blocking_portal (realio): a plain std::thread calls into the run",
                     "[thread][portal]", {.sim = false}) {
  std::atomic<int> got{0};
  std::atomic<bool> thread_done{false};
  int in_run = 0;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    std::thread t([&] {
      got = portal.call([&]() -> anyio::task<int> {
        co_await anyio::sleep(1ms);
        ++in_run;  // on the run's thread: no data race
        co_return 42;
      });
      thread_done = true;
    });
    while (!thread_done.load()) co_await anyio::sleep(1ms);
    t.join();
  });
  REQUIRE(got.load() == 42);
  REQUIRE(in_run == 1);
}

ANYIO_SIM_TEST_CASE("blocking_portal (sim): a plain std::thread is a usage_error naming why",
                    "[thread][portal][sim]") {
  std::string message;
  co_await anyio::from_thread::with_blocking_portal([&](blocking_portal& portal) -> anyio::task<> {
    std::thread t([&] {
      try {
        portal.call([] { return 1; });
      } catch (const anyio::usage_error& e) {
        message = e.what();
      }
    });
    t.join();  // the call fails at once: a short real wait on the run's thread
    co_return;
  });
  REQUIRE(message.find("only the run's to_thread workers") != std::string::npos);
}

TEST_CASE("blocking_portal: start_blocking_portal from plain code, no thread or fd leaks",
          "[thread][portal]") {
  const int threads_before = count_entries("/proc/self/task");
  const int fds_before = count_entries("/proc/self/fd");
  {
    auto portal = anyio::from_thread::start_blocking_portal();
    REQUIRE(portal->call(slow_double, 21) == 42);
    std::string message;
    try {
      portal->call(fail_after_sleep);
    } catch (const std::invalid_argument& e) {
      message = e.what();
    }
    REQUIRE(message == "portal task failed");
    auto forever =
        portal->start_task_soon([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
    REQUIRE(forever.cancel());
    REQUIRE_THROWS_AS(forever.get(), anyio::from_thread::task_cancelled_error);
    auto pending = portal->start_task_soon([]() -> anyio::task<> { co_await anyio::sleep(1h); });
    portal.stop(true);  // cancels `pending`, ends the loop, joins its thread
    REQUIRE(pending.cancelled());
    REQUIRE_THROWS_AS(portal->call([] { return 1; }), anyio::broken_resource_error);
  }
  REQUIRE(count_entries("/proc/self/task") == threads_before);
  REQUIRE(count_entries("/proc/self/fd") == fds_before);
}

TEST_CASE("blocking_portal: start_blocking_portal inside a run is a usage_error",
          "[thread][portal]") {
  std::string message;
  anyio::run([&]() -> anyio::task<> {
    try {
      auto p = anyio::from_thread::start_blocking_portal();
    } catch (const anyio::usage_error& e) {
      message = e.what();
    }
    co_return;
  });
  REQUIRE(message.find("inside anyio::run()") != std::string::npos);
}
