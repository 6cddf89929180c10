// SPDX-License-Identifier: MIT
// Conformance: misuse of the API is a clear usage_error naming the problem
// and, where there is one, the fix — never a crash or a hang: the API outside
// run(), run() inside run(), groups and scopes entered twice or used after
// exit, waking a task that is not parked. (Deadlocks: kernel_sim_test.cpp.)
#include <anyio/testing/catch.hpp>

#include <optional>
#include <string>

using namespace std::chrono_literals;

namespace {
bool message_has(const std::exception& e, const char* text) {
  return std::string(e.what()).find(text) != std::string::npos;
}
}  // namespace

TEST_CASE("misuse: API outside run() is a usage_error", "[misuse]") {
  REQUIRE_THROWS_WITH(anyio::current_time(),
                      Catch::Contains("anyio::current_time() was called outside anyio::run()"));
  REQUIRE_THROWS_AS(anyio::current_task(), anyio::usage_error);
  REQUIRE_THROWS_AS(anyio::move_on_after(1s), anyio::usage_error);
}

ANYIO_TEST_CASE("misuse: run() inside run() is a usage_error", "[misuse]") {
  bool raised = false;
  try {
    anyio::run([]() -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    raised = message_has(e, "inside a running anyio::run()");
  }
  REQUIRE(raised);
  co_return;
}

ANYIO_TEST_CASE("misuse: awaiting a task twice is a usage_error", "[misuse]") {
  auto make = []() -> anyio::task<int> { co_return 7; };
  anyio::task<int> t = make();
  int first = co_await t;
  bool raised = false;
  try {
    (void)co_await t;
  } catch (const anyio::usage_error& e) {
    raised = message_has(e, "awaited twice");
  }
  REQUIRE(first == 7);
  REQUIRE(raised);
}

ANYIO_TEST_CASE("misuse: start_soon on a group that has exited", "[misuse]") {
  anyio::task_group group;
  co_await group.run([](anyio::task_group&) -> anyio::task<> { co_return; });
  bool raised = false;
  try {
    group.start_soon([]() -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    raised = message_has(e, "has exited");
  }
  REQUIRE(raised);
}

ANYIO_TEST_CASE("misuse: start_soon on a group never entered", "[misuse]") {
  anyio::task_group group;
  bool raised = false;
  try {
    group.start_soon([]() -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    raised = message_has(e, "not running");
  }
  REQUIRE(raised);
  co_return;
}

ANYIO_TEST_CASE("misuse: a task group entered twice", "[misuse]") {
  anyio::task_group group;
  co_await group.run([](anyio::task_group&) -> anyio::task<> { co_return; });
  bool raised = false;
  try {
    co_await group.run([](anyio::task_group&) -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    raised = message_has(e, "already entered");
  }
  REQUIRE(raised);
}

TEST_CASE("misuse: every kernel entry point names itself outside run()", "[misuse]") {
  REQUIRE_THROWS_WITH(anyio::current_effective_deadline(),
                      Catch::Contains("anyio::current_effective_deadline() was called outside"));
  REQUIRE_THROWS_WITH(anyio::clock::now(), Catch::Contains("anyio::clock::now()"));
  REQUIRE_THROWS_WITH(anyio::lowlevel::current_task_handle(),
                      Catch::Contains("anyio::lowlevel::current_task_handle()"));
  REQUIRE_THROWS_WITH(anyio::lowlevel::reschedule({}),
                      Catch::Contains("anyio::lowlevel::reschedule()"));
  REQUIRE_THROWS_WITH(anyio::fail_after(1s), Catch::Contains("start the program with anyio::run"));
  // A scope or group that is never entered needs no kernel at all.
  anyio::cancel_scope scope;
  scope.cancel();
  REQUIRE(scope.cancel_called());
  anyio::task_group group;
  REQUIRE_THROWS_WITH(group.start_soon([]() -> anyio::task<> { co_return; }),
                      Catch::Contains("task_group::start_soon()"));
}

ANYIO_TEST_CASE("misuse: sim::run() inside a run is a usage_error too", "[misuse]") {
  std::string message;
  try {
    anyio::sim::run([]() -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("inside a running anyio::run()") != std::string::npos);
  co_await anyio::checkpoint();  // the outer run is unharmed
}

ANYIO_TEST_CASE("misuse: rescheduling a task that is not parked is a usage_error", "[misuse]") {
  std::string message;
  try {
    anyio::lowlevel::reschedule(anyio::lowlevel::current_task_handle());  // running, not parked
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("not parked in wait_task_rescheduled") != std::string::npos);
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("misuse: start() on a group that has exited", "[misuse][start]") {
  anyio::task_group group;
  co_await group.run([](anyio::task_group&) -> anyio::task<> { co_return; });
  std::string message;
  try {
    co_await group.start([](anyio::task_status<>& status) -> anyio::task<> {
      status.started();
      co_return;
    });
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("task_group::start(): this task group has exited") != std::string::npos);
}

ANYIO_TEST_CASE("misuse: a usage_error in a child is reported like any failure", "[misuse]") {
  // Misuse inside a child must not crash the kernel: it becomes a member of
  // the group's exception_group, named after the child.
  std::string what;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("reuser"), []() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await scope.run([]() -> anyio::task<> { co_return; });
        co_await scope.run([]() -> anyio::task<> { co_return; });
      });
      co_return;
    });
  } catch (const anyio::exception_group& g) {
    REQUIRE(g.contains<anyio::usage_error>());
    what = g.what();
  }
  REQUIRE(what.find("in task 'reuser': anyio::usage_error") != std::string::npos);
  REQUIRE(what.find("entered only once") != std::string::npos);
}

// Issue 9.4: a task_handle outlives its task; using it must be a clear
// usage_error, not a read of freed memory — nor a wake-up of another task
// that happens to reuse the frame.
ANYIO_TEST_CASE("misuse: rescheduling a task that has exited is a usage_error", "[misuse]") {
  anyio::lowlevel::task_handle gone;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      gone = anyio::lowlevel::current_task_handle();
      co_return;
    });
    co_return;
  });
  REQUIRE(gone);
  // A new task, likely in the recycled frame of the old one, parks: the old
  // handle must not wake it.
  bool woken = false;
  std::string message;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    anyio::lowlevel::task_handle parked;
    tg.start_soon([&]() -> anyio::task<> {
      parked = anyio::lowlevel::current_task_handle();
      auto abort = []() noexcept { return anyio::abort_result::succeeded; };
      co_await anyio::lowlevel::wait_task_rescheduled(abort, "test: parked");
      woken = true;
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    try {
      anyio::lowlevel::reschedule(gone);
    } catch (const anyio::usage_error& e) {
      message = e.what();
    }
    co_await anyio::checkpoint();
    REQUIRE_FALSE(woken);
    REQUIRE(parked != gone);
    anyio::lowlevel::reschedule(parked);
  });
  REQUIRE(woken);
  REQUIRE(message.find("has exited") != std::string::npos);
}

TEST_CASE("misuse: a task_handle from an earlier run is a usage_error", "[misuse]") {
  for (bool sim : {false, true}) {
    INFO((sim ? "sim" : "realio"));
    auto get = []() -> anyio::task<anyio::lowlevel::task_handle> {
      co_return anyio::lowlevel::current_task_handle();
    };
    auto old = sim ? anyio::sim::run(get, {.seed = 1}) : anyio::run(get);
    REQUIRE(old.id() == 1);
    auto use = [old]() -> anyio::task<std::string> {
      std::string message;
      try {
        anyio::lowlevel::reschedule(old);  // task 1 of this run is alive: same id, other run
      } catch (const anyio::usage_error& e) {
        message = e.what();
      }
      co_return message;
    };
    std::string message = sim ? anyio::sim::run(use, {.seed = 1}) : anyio::run(use);
    REQUIRE(message.find("has exited") != std::string::npos);
  }
}
