// SPDX-License-Identifier: MIT
// Conformance: cancel scopes — level-triggered cancellation, absorption of
// only a scope's own cancellation, shields, deadlines moved while entered,
// cancel before enter / after exit. Each case runs on realio and on sim.
#include <anyio/testing/catch.hpp>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("cancel scope: every checkpoint raises until the scope exits", "[cancel]") {
  anyio::cancel_scope scope;
  int raised = 0;
  co_await scope.run([&]() -> anyio::task<> {
    scope.cancel();
    for (int i = 0; i < 3; ++i) {
      try {
        co_await anyio::checkpoint();
      } catch (const anyio::cancelled&) {
        ++raised;
      }
    }
    co_await anyio::sleep(1h);  // also raises: the scope absorbs it
    FAIL("unreachable");
  });
  REQUIRE(raised == 3);
  REQUIRE(scope.cancelled_caught());
  co_await anyio::checkpoint();  // outside the scope: no longer cancelled
}

ANYIO_TEST_CASE("cancel scope: absorbs only its own cancellation", "[cancel]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope inner;
  bool after_inner = false;
  co_await outer.run([&]() -> anyio::task<> {
    co_await inner.run([&]() -> anyio::task<> {
      outer.cancel();
      co_await anyio::checkpoint();
    });
    after_inner = true;
  });
  REQUIRE_FALSE(after_inner);
  REQUIRE_FALSE(inner.cancelled_caught());
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: both cancelled, the outer one absorbs", "[cancel]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope inner;
  co_await outer.run([&]() -> anyio::task<> {
    co_await inner.run([&]() -> anyio::task<> {
      inner.cancel();
      outer.cancel();
      co_await anyio::checkpoint();
    });
  });
  REQUIRE_FALSE(inner.cancelled_caught());
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: shield blocks outer cancellation", "[cancel]") {
  anyio::cancel_scope outer;
  bool cleanup_done = false;
  co_await outer.run([&]() -> anyio::task<> {
    outer.cancel();
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run([&]() -> anyio::task<> {
      co_await anyio::sleep(5ms);
      co_await anyio::checkpoint();
      cleanup_done = true;
    });
    co_await anyio::checkpoint();
  });
  REQUIRE(cleanup_done);
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: shield blocks an outer deadline", "[cancel]") {
  auto outer = anyio::move_on_after(5ms);
  bool finished = false;
  co_await outer.run([&]() -> anyio::task<> {
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run([&]() -> anyio::task<> {
      co_await anyio::sleep(30ms);
      finished = true;
    });
  });
  REQUIRE(finished);
}

ANYIO_TEST_CASE("cancel scope: deadline moved earlier takes effect", "[cancel]") {
  anyio::cancel_scope scope;
  auto start = anyio::current_time();
  co_await scope.run([&]() -> anyio::task<> {
    scope.set_deadline(anyio::current_time() + 10ms);
    co_await anyio::sleep(10s);
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(anyio::current_time() - start < 5s);
}

ANYIO_TEST_CASE("cancel scope: deadline moved later takes effect", "[cancel]") {
  auto scope = anyio::move_on_after(5ms);
  bool slept = false;
  co_await scope.run([&]() -> anyio::task<> {
    scope.set_deadline(anyio::clock::time_point::max());
    co_await anyio::sleep(20ms);
    slept = true;
  });
  REQUIRE(slept);
  REQUIRE_FALSE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: cancel before entering hits the first checkpoint", "[cancel]") {
  anyio::cancel_scope scope;
  scope.cancel();
  bool before_checkpoint = false;
  co_await scope.run([&]() -> anyio::task<> {
    before_checkpoint = true;
    co_await anyio::checkpoint();
    FAIL("unreachable");
  });
  REQUIRE(before_checkpoint);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: cancelling an exited scope is a no-op", "[cancel]") {
  anyio::cancel_scope scope;
  co_await scope.run([&]() -> anyio::task<> { co_await anyio::checkpoint(); });
  scope.cancel();
  REQUIRE_FALSE(scope.cancel_called());
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("cancel scope: entering twice is a usage_error", "[cancel][misuse]") {
  anyio::cancel_scope scope;
  co_await scope.run([&]() -> anyio::task<> { co_return; });
  bool raised = false;
  try {
    co_await scope.run([&]() -> anyio::task<> { co_return; });
  } catch (const anyio::usage_error& e) {
    raised = std::string(e.what()).find("entered only once") != std::string::npos;
  }
  REQUIRE(raised);
}

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
    raised = std::string(e.what()).find("fail_after(5ms)") != std::string::npos;
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

ANYIO_TEST_CASE("current_effective_deadline: nearest unshielded deadline", "[timeout]") {
  REQUIRE(anyio::current_effective_deadline() == anyio::clock::time_point::max());
  auto deadline = anyio::current_time() + 10s;
  auto outer = anyio::move_on_at(deadline);
  co_await outer.run([&]() -> anyio::task<> {
    REQUIRE(anyio::current_effective_deadline() == deadline);
    auto inner = anyio::move_on_at(deadline + 10s);
    co_await inner.run([&]() -> anyio::task<> {
      REQUIRE(anyio::current_effective_deadline() == deadline);
      co_return;
    });
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run([&]() -> anyio::task<> {
      REQUIRE(anyio::current_effective_deadline() == anyio::clock::time_point::max());
      co_return;
    });
    outer.cancel();
    REQUIRE(anyio::current_effective_deadline() == anyio::clock::time_point::min());
  });
}
