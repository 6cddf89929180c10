// SPDX-License-Identifier: MIT
// Conformance: timeouts — move_on_after/move_on_at end the body silently and
// report it through cancelled_caught(); fail_after/fail_at turn their own
// expiry into timeout_error naming the timeout, and return the body's value
// when it finishes in time. Nested timeouts: whichever deadline is earlier
// fires, and only the scope that owns it absorbs the cancellation. Durations
// are a few ms against 10 s, so a loaded machine cannot flip an outcome.
#include <anyio/testing/catch.hpp>

#include <optional>
#include <string>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("move_on_after: times out silently", "[timeout]") {
  auto scope = anyio::move_on_after(5ms);
  bool reached = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::sleep(10s);
    reached = true;
  });
  REQUIRE_FALSE(reached);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("fail_after: raises timeout_error", "[timeout]") {
  bool raised = false;
  try {
    co_await anyio::fail_after(5ms).run([&]() -> anyio::task<> { co_await anyio::sleep(10s); });
  } catch (const anyio::timeout_error& e) {
    raised = std::string(e.what()) == "fail_after(5ms): operation timed out";
  }
  REQUIRE(raised);
}

ANYIO_TEST_CASE("fail_after: returns the body's value in time", "[timeout]") {
  int v = co_await anyio::fail_after(10s).run([&]() -> anyio::task<int> {
    co_await anyio::sleep(1ms);
    co_return 42;
  });
  REQUIRE(v == 42);
}

ANYIO_TEST_CASE("move_on_after: a body finishing in time returns its value", "[timeout]") {
  auto scope = anyio::move_on_after(10s);
  std::optional<int> v = co_await scope.run([&]() -> anyio::task<int> {
    co_await anyio::sleep(1ms);
    co_return 7;
  });
  REQUIRE(v == 7);
  REQUIRE_FALSE(scope.cancelled_caught());
  auto expired = anyio::move_on_after(2ms);
  std::optional<int> none = co_await expired.run([&]() -> anyio::task<int> {
    co_await anyio::sleep(10s);
    co_return 7;
  });
  REQUIRE_FALSE(none.has_value());
  REQUIRE(expired.cancelled_caught());
}

ANYIO_TEST_CASE("move_on_at: an absolute deadline ends the body", "[timeout]") {
  auto start = anyio::current_time();
  auto scope = anyio::move_on_at(start + 3ms);
  REQUIRE(scope.deadline() == start + 3ms);
  bool reached = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::sleep(10s);
    reached = true;
  });
  REQUIRE_FALSE(reached);
  REQUIRE(scope.cancelled_caught());
  REQUIRE(anyio::current_time() >= start + 3ms);  // never early
  REQUIRE(anyio::current_time() - start < 5s);
}

ANYIO_TEST_CASE("fail_at: raises timeout_error naming the deadline", "[timeout]") {
  auto deadline = anyio::current_time() + 2ms;
  std::string message;
  try {
    co_await anyio::fail_at(deadline).run([&]() -> anyio::task<> { co_await anyio::sleep(10s); });
  } catch (const anyio::timeout_error& e) {
    message = e.what();
    REQUIRE(e.code() == anyio::errc::timeout);
  }
  REQUIRE(message.rfind("fail_at(t=", 0) == 0);
  REQUIRE(message.find("): operation timed out") != std::string::npos);
  REQUIRE(message.find("timed out: operation timed out") == std::string::npos);  // said once
  int v = co_await anyio::fail_at(anyio::current_time() + 10s).run(
      [&]() -> anyio::task<int> { co_return 5; });
  REQUIRE(v == 5);
}

ANYIO_TEST_CASE("fail_after: the timeout_error is a std::system_error, cancelled is not",
                "[timeout]") {
  // Catching std::exception catches the timeout but could never swallow the
  // cancellation that produced it.
  bool caught_as_std = false;
  try {
    co_await anyio::fail_after(1ms).run([&]() -> anyio::task<> {
      try {
        co_await anyio::sleep(10s);
      } catch (const std::exception&) {
        FAIL("cancelled must not be a std::exception");
      }
    });
  } catch (const std::system_error& e) {
    caught_as_std = e.code() == anyio::errc::timeout;
  }
  REQUIRE(caught_as_std);
}

ANYIO_TEST_CASE("nested timeouts: the inner, shorter one fires and only it absorbs",
                "[timeout]") {
  auto outer = anyio::move_on_after(10s);
  auto inner = anyio::move_on_after(2ms);
  bool after_inner = false;
  co_await outer.run([&]() -> anyio::task<> {
    co_await inner.run([&]() -> anyio::task<> { co_await anyio::sleep(10s); });
    after_inner = true;
  });
  REQUIRE(inner.cancelled_caught());
  REQUIRE(after_inner);
  REQUIRE_FALSE(outer.cancel_called());
  REQUIRE_FALSE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("nested timeouts: the outer, shorter one fires through a longer inner",
                "[timeout]") {
  auto outer = anyio::move_on_after(2ms);
  bool timeout_raised = false;
  bool after_inner = false;
  co_await outer.run([&]() -> anyio::task<> {
    try {
      co_await anyio::fail_after(10s).run([&]() -> anyio::task<> { co_await anyio::sleep(10s); });
    } catch (const anyio::timeout_error&) {
      timeout_raised = true;  // wrong: the inner timeout did not expire
    }
    after_inner = true;
  });
  REQUIRE_FALSE(timeout_raised);
  REQUIRE_FALSE(after_inner);
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("nested timeouts: an inner fail_after fires inside an outer fail_after",
                "[timeout]") {
  std::string inner_message;
  int v = co_await anyio::fail_after(10s).run([&]() -> anyio::task<int> {
    try {
      co_await anyio::fail_after(2ms).run([&]() -> anyio::task<> { co_await anyio::sleep(10s); });
    } catch (const anyio::timeout_error& e) {
      inner_message = e.what();
    }
    co_await anyio::checkpoint();  // the outer scope is not cancelled
    co_return 1;
  });
  REQUIRE(v == 1);
  REQUIRE(inner_message.find("fail_after(2ms)") != std::string::npos);
}

ANYIO_TEST_CASE("timeouts: a deadline is a scope property, readable and movable", "[timeout]") {
  auto start = anyio::current_time();
  auto scope = anyio::move_on_after(10s);
  REQUIRE(scope.deadline() >= start + 10s);
  REQUIRE(scope.deadline() - start < 20s);
  co_await scope.run([&]() -> anyio::task<> {
    REQUIRE(anyio::current_effective_deadline() == scope.deadline());
    scope.set_deadline(anyio::current_time() - 1ms);  // in the past: cancels now
    REQUIRE(scope.cancel_called());
    co_await anyio::checkpoint();
    FAIL("unreachable");
  });
  REQUIRE(scope.cancelled_caught());
}

// Issue 9.3 (anyio 4): fail_after/fail_at raise timeout_error only when the
// scope caught its cancellation and the deadline has passed. Cancelled by
// hand, a fail scope behaves like move_on_after.
ANYIO_TEST_CASE("fail_after: cancelled by hand exits silently", "[timeout][cancel]") {
  auto scope = anyio::fail_after(10s);
  bool reached = false;
  co_await scope.run([&]() -> anyio::task<> {
    scope.cancel();
    co_await anyio::checkpoint();
    reached = true;
  });
  REQUIRE_FALSE(reached);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("fail_after: cancelled by hand, then past its deadline, raises timeout_error",
                "[timeout][cancel]") {
  bool raised = false;
  auto scope = anyio::fail_after(2ms);
  try {
    co_await scope.run([&]() -> anyio::task<> {
      scope.cancel();
      anyio::cancel_scope shielded{{.shield = true}};
      co_await shielded.run([]() -> anyio::task<> { co_await anyio::sleep(10ms); });
      co_await anyio::checkpoint();
    });
  } catch (const anyio::timeout_error&) {
    raised = true;
  }
  REQUIRE(raised);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("fail_after: a value body cancelled by hand is a usage_error, not a value",
                "[timeout][cancel][misuse]") {
  // The value is lost and fail_scope::run promises one, so it says so; the
  // body's value survives a cancel() it finishes before reaching a checkpoint.
  auto scope = anyio::fail_after(10s);
  std::string message;
  try {
    (void)co_await scope.run([&]() -> anyio::task<int> {
      scope.cancel();
      co_await anyio::checkpoint();
      co_return 1;
    });
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(scope.cancelled_caught());
  REQUIRE(message.find("fail_after(10s): the scope was cancelled by cancel()") !=
          std::string::npos);
  auto late = anyio::fail_after(10s);
  int v = co_await late.run([&]() -> anyio::task<int> {
    late.cancel();
    co_return 3;
  });
  REQUIRE(v == 3);
  REQUIRE(late.cancel_called());
  REQUIRE_FALSE(late.cancelled_caught());
}

ANYIO_TEST_CASE("fail_after: a value body past its deadline raises timeout_error",
                "[timeout]") {
  bool raised = false;
  try {
    (void)co_await anyio::fail_after(2ms).run([&]() -> anyio::task<int> {
      co_await anyio::sleep(10s);
      co_return 1;
    });
  } catch (const anyio::timeout_error&) {
    raised = true;
  }
  REQUIRE(raised);
}
