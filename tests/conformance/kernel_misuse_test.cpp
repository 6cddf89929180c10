// SPDX-License-Identifier: MIT
// Conformance: misuse of the API is a clear usage_error naming the problem,
// never a crash or a hang; and a deadlock on sim names every blocked task.
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

TEST_CASE("sim: a deadlock names every blocked task and its wait", "[sim][deadlock]") {
  auto body = []() -> anyio::task<> {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("stuck-forever"),
                    []() -> anyio::task<> { co_await anyio::sleep_forever(); });
      co_return;
    });
  };
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    std::optional<std::string> message;
    try {
      anyio::sim::run(body, {.seed = seed});
    } catch (const anyio::deadlock_error& e) {
      message = e.what();
    }
    REQUIRE(message.has_value());
    CHECK_THAT(*message, Catch::Contains("task 1 'main' waits on task_group: waiting for children"));
    CHECK_THAT(*message, Catch::Contains("task 2 'stuck-forever' waits on sleep_forever"));
  }
}
