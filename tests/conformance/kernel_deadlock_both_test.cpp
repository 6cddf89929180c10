// SPDX-License-Identifier: MIT
// Conformance: a program in which every task waits forever, with no timer
// and nothing in flight, is a deadlock_error naming the blocked tasks on
// both backends — realio must not hang in epoll_wait forever.
#include <anyio/testing/catch.hpp>

#include <optional>
#include <string>

namespace {
anyio::task<> everyone_waits() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("waiter"), []() -> anyio::task<> {
      co_await anyio::sleep_forever();
    });
    co_return;
  });
}

std::optional<std::string> deadlock_message(bool sim) {
  try {
    if (sim)
      anyio::sim::run(everyone_waits, {.seed = 4});
    else
      anyio::run(everyone_waits);
  } catch (const anyio::deadlock_error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}
}  // namespace

TEST_CASE("deadlock: reported on realio and on sim alike", "[deadlock]") {
  for (bool sim : {false, true}) {
    INFO((sim ? "sim" : "realio"));
    auto message = deadlock_message(sim);
    REQUIRE(message.has_value());
    CHECK_THAT(*message, Catch::Contains("task 2 'waiter' waits on sleep_forever"));
    CHECK_THAT(*message,
               Catch::Contains("task 1 'main' waits on task_group: waiting for children"));
  }
}
