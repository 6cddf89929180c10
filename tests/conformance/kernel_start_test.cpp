// SPDX-License-Identifier: MIT
// Conformance: task_group::start() (trio's nursery.start). The caller waits
// until the child calls task_status::started(v) and gets v back; until then
// the child belongs to the caller — its exception goes to the caller as is,
// the caller's cancellation cancels it — and afterwards it belongs to the
// group. Returning without started(), or calling it twice, is a usage_error.
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("start: returns the started value, child keeps running", "[group][start]") {
  std::vector<int> log;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    int port = co_await tg.start([&](anyio::task_status<int>& status) -> anyio::task<> {
      log.push_back(1);
      status.started(8080);
      co_await anyio::sleep(1ms);
      log.push_back(3);
    });
    log.push_back(port == 8080 ? 2 : -1);
  });
  REQUIRE(log == std::vector<int>{1, 2, 3});
}

ANYIO_TEST_CASE("start: exception before started() goes to the caller", "[group][start]") {
  bool caught = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    try {
      co_await tg.start([](anyio::task_status<>&) -> anyio::task<> {
        throw std::invalid_argument("bad config");
        co_return;
      });
    } catch (const std::invalid_argument&) {
      caught = true;
    }
  });
  REQUIRE(caught);
}

ANYIO_TEST_CASE("start: returning without started() is a usage_error", "[group][start]") {
  bool caught = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    try {
      co_await tg.start([](anyio::task_status<>&) -> anyio::task<> { co_return; });
    } catch (const anyio::usage_error& e) {
      caught = std::string(e.what()).find("without calling task_status::started()") !=
               std::string::npos;
    }
  });
  REQUIRE(caught);
}

ANYIO_TEST_CASE("start: started() twice is a usage_error", "[group][start]") {
  bool caught = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    co_await tg.start([&](anyio::task_status<>& status) -> anyio::task<> {
      status.started();
      try {
        status.started();
      } catch (const anyio::usage_error&) {
        caught = true;
      }
      co_return;
    });
  });
  REQUIRE(caught);
}

ANYIO_TEST_CASE("start: cancelling the caller cancels the starting child", "[group][start]") {
  bool child_cancelled = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto scope = anyio::move_on_after(2ms);
    co_await scope.run([&]() -> anyio::task<> {
      co_await tg.start([&](anyio::task_status<>& status) -> anyio::task<> {
        try {
          co_await anyio::sleep_forever();
        } catch (const anyio::cancelled&) {
          child_cancelled = true;
          throw;
        }
        status.started();
      });
    });
    REQUIRE(scope.cancelled_caught());
  });
  REQUIRE(child_cancelled);
}

ANYIO_TEST_CASE("start: after started() the child is cancelled with the group, not the caller",
                "[group][start]") {
  bool child_finished = false;
  bool child_cancelled = false;
  anyio::cancel_scope caller_scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    co_await caller_scope.run([&]() -> anyio::task<> {
      co_await tg.start([&](anyio::task_status<>& status) -> anyio::task<> {
        // A scope entered before started() moves with the task.
        anyio::cancel_scope own;
        co_await own.run([&]() -> anyio::task<> {
          status.started();
          co_await anyio::sleep(3ms);
          child_finished = true;
          try {
            co_await anyio::sleep_forever();
          } catch (const anyio::cancelled&) {
            child_cancelled = true;
            throw;
          }
        });
      });
      caller_scope.cancel();  // must not reach the started child
      co_await anyio::sleep_forever();
    });
    REQUIRE(caller_scope.cancelled_caught());
    for (int i = 0; i < 5000 && !child_finished; ++i) co_await anyio::sleep(1ms);
    REQUIRE_FALSE(child_cancelled);
    tg.cancel_scope().cancel();  // this one does
  });
  REQUIRE(child_finished);
  REQUIRE(child_cancelled);
}

ANYIO_TEST_CASE("start: a failure after started() goes to the group", "[group][start]") {
  bool start_returned = false;
  std::string member_task;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      co_await tg.start(anyio::task_name("service"),
                        [](anyio::task_status<>& status) -> anyio::task<> {
                          status.started();
                          co_await anyio::sleep(1ms);
                          throw std::runtime_error("service crashed");
                        });
      start_returned = true;
      co_await anyio::sleep_forever();
    });
  } catch (const anyio::exception_group& g) {
    REQUIRE(g.size() == 1);
    REQUIRE(g.contains<std::runtime_error>());
    member_task = g.members()[0].task;
  }
  REQUIRE(start_returned);
  REQUIRE(member_task == "service");
}

ANYIO_TEST_CASE("start: an exception before started() leaves the group untouched",
                "[group][start]") {
  bool sibling_finished = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await anyio::sleep(2ms);
      sibling_finished = true;
    });
    bool caught_group = false;
    try {
      co_await tg.start([](anyio::task_status<int>&) -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::out_of_range("no port");
      });
    } catch (const std::out_of_range&) {
    } catch (const anyio::exception_group&) {
      caught_group = true;
    }
    REQUIRE_FALSE(caught_group);
    REQUIRE_FALSE(tg.cancel_scope().cancel_called());  // the group is not failing
  });
  REQUIRE(sibling_finished);
}

ANYIO_TEST_CASE("start: passes arguments and a task name", "[group][start]") {
  std::string name;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    std::string greeting = co_await tg.start(
        anyio::task_name("greeter"),
        [&](anyio::task_status<std::string>& status, std::string who, int n) -> anyio::task<> {
          name = anyio::current_task().name;
          status.started("hello " + who + " x" + std::to_string(n));
          co_return;
        },
        std::string("world"), 3);
    REQUIRE(greeting == "hello world x3");
  });
  REQUIRE(name == "greeter");
}

// Issue 9.2 (trio's TaskStatus.started, anyio 4's start()): started() called
// after the caller's scope was cancelled does not hand the task over. The
// child stays with the caller, so it is cancelled; start() raises
// `cancelled` once it has exited, and the caller's timeout absorbs that.
ANYIO_TEST_CASE("start: started() after the caller timed out does not hand the task over",
                "[group][start][cancel]") {
  bool start_returned = false;
  bool server_cancelled = false;
  bool server_ran_on = false;
  const auto began = anyio::current_time();
  auto timeout = anyio::move_on_after(std::chrono::milliseconds(2));
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    co_await timeout.run([&]() -> anyio::task<> {
      co_await tg.start([&](anyio::task_status<int>& status) -> anyio::task<> {
        anyio::cancel_scope setup{{.shield = true}};
        co_await setup.run([]() -> anyio::task<> { co_await anyio::sleep(20ms); });
        status.started(8080);  // the caller's scope is cancelled by now
        try {
          co_await anyio::sleep(10s);
          server_ran_on = true;
        } catch (const anyio::cancelled&) {
          server_cancelled = true;
          throw;
        }
      });
      start_returned = true;
    });
  });
  REQUIRE_FALSE(start_returned);
  REQUIRE(timeout.cancelled_caught());
  REQUIRE(server_cancelled);
  REQUIRE_FALSE(server_ran_on);
  REQUIRE(anyio::current_time() - began < 5s);  // the group did not wait for the server
}

ANYIO_TEST_CASE("start: a child that finishes after a cancelled started() still cancels start()",
                "[group][start][cancel]") {
  // trio raises Cancelled from start() even when the child, after its
  // started() was refused, returns without reaching another checkpoint.
  bool start_returned = false;
  bool child_returned = false;
  anyio::cancel_scope caller;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    co_await caller.run([&]() -> anyio::task<> {
      co_await tg.start([&](anyio::task_status<>& status) -> anyio::task<> {
        caller.cancel();
        status.started();
        child_returned = true;
        co_return;
      });
      start_returned = true;
    });
  });
  REQUIRE(child_returned);
  REQUIRE_FALSE(start_returned);
  REQUIRE(caller.cancelled_caught());
}

ANYIO_TEST_CASE("start: a task moving into a cancelled group is cancelled there",
                "[group][start][cancel]") {
  // The caller is shielded, so started() hands the task over; the scope the
  // task entered moves under the group's cancelled scope and becomes
  // cancelled with it (the cached state follows the move).
  bool start_returned = false;
  bool child_cancelled = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    anyio::cancel_scope shielded{{.shield = true}};
    co_await shielded.run([&]() -> anyio::task<> {
      co_await tg.start([&](anyio::task_status<>& status) -> anyio::task<> {
        anyio::cancel_scope own;
        co_await own.run([&]() -> anyio::task<> {
          tg.cancel_scope().cancel();
          co_await anyio::checkpoint();  // still with the shielded caller
          status.started();
          try {
            co_await anyio::sleep(1h);
          } catch (const anyio::cancelled&) {
            child_cancelled = true;
            throw;
          }
        });
      });
      start_returned = true;
    });
  });
  REQUIRE(start_returned);
  REQUIRE(child_cancelled);
}
