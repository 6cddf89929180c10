// SPDX-License-Identifier: MIT
// Conformance: task groups and start().
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("task group: failing child cancels siblings and body", "[group]") {
  bool sibling_cancelled = false;
  bool body_cancelled = false;
  bool raised = false;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("sleeper"), [&]() -> anyio::task<> {
        try {
          co_await anyio::sleep(1h);
        } catch (const anyio::cancelled&) {
          sibling_cancelled = true;
          throw;
        }
      });
      tg.start_soon(anyio::task_name("failer"), []() -> anyio::task<> {
        co_await anyio::sleep(1ms);
        throw std::runtime_error("boom");
      });
      try {
        co_await anyio::sleep(1h);
      } catch (const anyio::cancelled&) {
        body_cancelled = true;
        throw;
      }
    });
  } catch (const anyio::exception_group& g) {
    raised = g.size() == 1 && g.contains<std::runtime_error>() &&
             std::string(g.what()).find("'failer'") != std::string::npos;
  }
  REQUIRE(raised);
  REQUIRE(sibling_cancelled);
  REQUIRE(body_cancelled);
}

ANYIO_TEST_CASE("task group: all failures collected", "[group]") {
  std::size_t n = 0;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < 3; ++i)
        tg.start_soon([](int k) -> anyio::task<> {
          throw std::runtime_error("fail " + std::to_string(k));
          co_return;
        }, i);
      co_return;
    });
  } catch (const anyio::exception_group& g) {
    n = g.size();
  }
  REQUIRE(n == 3);
}

ANYIO_TEST_CASE("task group: cancelled by its own scope is absorbed", "[group]") {
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
    co_await anyio::sleep(1ms);
    tg.cancel_scope().cancel();
  });
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("task group: shielded cleanup in a child finishes before exit", "[group]") {
  bool cleaned = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      std::exception_ptr cancel;
      try {
        co_await anyio::sleep_forever();
      } catch (const anyio::cancelled&) {
        cancel = std::current_exception();
      }
      anyio::cancel_scope shield{{.shield = true}};
      co_await shield.run([&]() -> anyio::task<> {
        co_await anyio::sleep(5ms);
        cleaned = true;
      });
      std::rethrow_exception(cancel);
    });
    co_await anyio::sleep(1ms);
    tg.cancel_scope().cancel();
  });
  REQUIRE(cleaned);
}

ANYIO_TEST_CASE("task group: outer cancellation propagates through the group", "[group]") {
  auto scope = anyio::move_on_after(2ms);
  bool after_group = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
      co_return;
    });
    after_group = true;
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(after_group);
}

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

ANYIO_SIM_TEST_CASE("sim: an hour of sleeps takes no real time", "[sim]") {
  auto start = anyio::current_time();
  for (int i = 0; i < 3600; ++i) co_await anyio::sleep(1s);
  REQUIRE(anyio::current_time() - start == 3600s);
}
