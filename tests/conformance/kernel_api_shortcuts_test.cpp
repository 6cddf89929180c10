// SPDX-License-Identifier: MIT
// Conformance: the short forms of the common cases. A scope's run() takes an
// awaitable as well as a body — `co_await move_on_after(d).run(rx.receive())`
// gives std::optional<T>, `fail_after(d).run(...)` gives T or timeout_error —
// and awaits it inside the scope (a lazy task starts only there; a cancelled
// receive consumes nothing). sim::run takes the main function's arguments
// before its options, as anyio::run does. Durations are a few ms against 10 s,
// so a loaded machine cannot flip an outcome.
#include <anyio/testing/catch.hpp>

#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;

namespace {

anyio::task<int> twice(int n) {
  co_await anyio::checkpoint();
  co_return 2 * n;
}

// The deadline the task sees when it runs: proves where it ran.
anyio::task<anyio::clock::time_point> deadline_seen() {
  co_await anyio::checkpoint();
  co_return anyio::current_effective_deadline();
}

}  // namespace

ANYIO_TEST_CASE("scope.run(awaitable): move_on_after gives the received value",
                "[timeout][shortcut]") {
  auto s = anyio::create_memory_object_stream<int>(1);
  REQUIRE(s.send.try_send(7));
  std::optional<int> v = co_await anyio::move_on_after(10s).run(s.receive.receive());
  REQUIRE(v == std::optional<int>(7));
}

ANYIO_TEST_CASE("scope.run(awaitable): move_on_after gives nullopt when the deadline comes first",
                "[timeout][shortcut]") {
  auto s = anyio::create_memory_object_stream<int>(1);
  auto scope = anyio::move_on_after(5ms);
  std::optional<int> v = co_await scope.run(s.receive.receive());
  REQUIRE_FALSE(v.has_value());
  REQUIRE(scope.cancelled_caught());
  // The cancelled receive consumed nothing and left no waiter behind.
  REQUIRE(s.receive.statistics().tasks_waiting_receive == 0);
  REQUIRE(s.send.try_send(8));
  auto next = s.receive.try_receive();
  REQUIRE(next == std::optional<int>(8));
}

ANYIO_TEST_CASE("scope.run(awaitable): fail_after gives the value or timeout_error",
                "[timeout][shortcut]") {
  auto s = anyio::create_memory_object_stream<std::string>(1);
  REQUIRE(s.send.try_send("hello"));
  std::string got = co_await anyio::fail_after(10s).run(s.receive.receive());
  REQUIRE(got == "hello");
  std::string message;
  try {
    co_await anyio::fail_after(5ms).run(s.receive.receive());
  } catch (const anyio::timeout_error& e) {
    message = e.what();
  }
  REQUIRE(message == "fail_after(5ms): operation timed out");
}

ANYIO_TEST_CASE("scope.run(task): a task runs inside the scope and its value comes back",
                "[timeout][shortcut]") {
  std::optional<int> v = co_await anyio::move_on_after(10s).run(twice(21));
  REQUIRE(v == std::optional<int>(42));
  int w = co_await anyio::fail_after(10s).run(twice(5));
  REQUIRE(w == 10);
  // The task is lazy: made outside the scope, it runs under the scope's deadline.
  auto scope = anyio::move_on_after(10s);
  auto t = deadline_seen();
  auto seen = co_await scope.run(std::move(t));
  REQUIRE(seen == std::optional<anyio::clock::time_point>(scope.deadline()));
}

ANYIO_TEST_CASE("scope.run(awaitable): void awaitables (sleep, event::wait)",
                "[timeout][shortcut]") {
  auto scope = anyio::move_on_after(5ms);
  co_await scope.run(anyio::sleep(10s));
  REQUIRE(scope.cancelled_caught());
  anyio::event ev;
  ev.set();
  auto in_time = anyio::move_on_after(10s);
  co_await in_time.run(ev.wait());
  REQUIRE_FALSE(in_time.cancelled_caught());
  bool timed_out = false;
  try {
    anyio::event never;
    co_await anyio::fail_after(5ms).run(never.wait());
  } catch (const anyio::timeout_error&) {
    timed_out = true;
  }
  REQUIRE(timed_out);
}

ANYIO_TEST_CASE("scope.run(awaitable): a hand-made scope and shield work too",
                "[timeout][shortcut]") {
  anyio::cancel_scope outer;
  outer.cancel();
  int v = 0;
  co_await outer.run([&]() -> anyio::task<> {
    anyio::cancel_scope shield{{.shield = true}};
    auto got = co_await shield.run(twice(4));  // runs although `outer` is cancelled
    v = got.value_or(-1);
  });
  REQUIRE(v == 8);
}

ANYIO_TEST_CASE("scope.run(awaitable): an exception from the awaitable passes through",
                "[timeout][shortcut]") {
  auto s = anyio::create_memory_object_stream<int>(1);
  s.send.close();
  bool end = false;
  try {
    co_await anyio::move_on_after(10s).run(s.receive.receive());
  } catch (const anyio::end_of_stream&) {
    end = true;
  }
  REQUIRE(end);
}

ANYIO_TEST_CASE("an unentered helper scope is fine while an exception unwinds past it",
                "[timeout][shortcut]") {
  bool caught = false;
  try {
    auto scope = anyio::move_on_after(1s);
    anyio::event never;
    co_await anyio::fail_after(1ms).run(never.wait());
    co_await scope.run(anyio::sleep(0s));  // not reached: the timeout unwinds first
  } catch (const anyio::timeout_error&) {
    caught = true;  // a debug build would have aborted above if this were reported
  }
  REQUIRE(caught);
}

namespace {
anyio::task<int> add(int a, int b) {
  co_await anyio::sleep(1s);
  co_return a + b;
}
anyio::task<int> take(std::unique_ptr<int> p) {
  co_await anyio::checkpoint();
  co_return *p;
}
anyio::task<std::string> now_name(std::string prefix) {
  co_await anyio::sleep(90s);
  co_return prefix + std::to_string(anyio::current_time().time_since_epoch() / 1s);
}
}  // namespace

TEST_CASE("sim::run(fn, args..., options) as anyio::run(fn, args...)", "[sim][shortcut]") {
  REQUIRE(anyio::sim::run(add, 2, 3) == 5);
  REQUIRE(anyio::sim::run(add, 2, 3, {.seed = 7}) == 5);
  anyio::sim::options opts;
  opts.seed = 9;
  REQUIRE(anyio::sim::run(add, 4, 5, opts) == 9);
  REQUIRE(anyio::sim::run(now_name, std::string("t="), {.seed = 1}) == "t=90");
  // Move-only arguments are moved into the main task.
  REQUIRE(anyio::sim::run(take, std::make_unique<int>(11), {.seed = 2}) == 11);
  REQUIRE(anyio::run(take, std::make_unique<int>(12)) == 12);
}

TEST_CASE("sim::run with arguments: the determinism check runs fn twice with copies",
          "[sim][shortcut]") {
  REQUIRE(anyio::sim::run(add, 20, 22, {.seed = 3, .check_determinism = true}) == 42);
  // Move-only arguments cannot be given to two runs: a clear usage_error.
  REQUIRE_THROWS_WITH(
      anyio::sim::run(take, std::make_unique<int>(1), {.seed = 3, .check_determinism = true}),
      Catch::Contains("check_determinism runs the main function twice"));
}
