// SPDX-License-Identifier: MIT
// Tutorial, "Timeouts": instead of a timeout argument on every operation, a
// block of code gets a deadline. move_on_after(d) cancels the block when the
// deadline passes and carries on silently (scope.cancelled_caught() tells you
// it happened); fail_after(d) raises anyio::timeout_error instead.
//
// Each never-printed line would come right after a "sleeping 2s" line, so
// these regexes pin what follows it ('.' also matches the newline):
// test-expect: move_on_after.1s.: sleeping 2s.move_on_after.1s.: moved on, cancelled_caught=true
// test-expect: fail_after.500ms.: sleeping 2s.fail_after.500ms.: caught timeout_error
// test-expect: caught timeout_error: fail_after.500ms.: operation timed out
// test-expect: fail_after.10s.: returned 42
#include "example_main.hpp"

#include <cstdio>

using namespace std::chrono_literals;

namespace {

anyio::task<> amain() {
  // move_on_after: the sleep takes 2s but the scope allows 1s. The scope
  // cancels its body at the deadline and absorbs that cancellation itself.
  auto scope = anyio::move_on_after(1s);
  co_await scope.run([]() -> anyio::task<> {
    std::printf("move_on_after(1s): sleeping 2s\n");
    co_await anyio::sleep(2s);
    std::printf("This should never be printed\n");
  });
  std::printf("move_on_after(1s): moved on, cancelled_caught=%s\n",
              scope.cancelled_caught() ? "true" : "false");

  // fail_after: same idea, but the expiry is an error the caller must handle.
  try {
    co_await anyio::fail_after(500ms).run([]() -> anyio::task<> {
      std::printf("fail_after(500ms): sleeping 2s\n");
      co_await anyio::sleep(2s);
      std::printf("This should never be printed\n");
    });
  } catch (const anyio::timeout_error& e) {
    std::printf("fail_after(500ms): caught timeout_error: %s\n", e.what());
  }

  // A body that finishes in time just returns its value through the scope.
  int answer = co_await anyio::fail_after(10s).run([]() -> anyio::task<int> {
    co_await anyio::sleep(10ms);
    co_return 42;
  });
  std::printf("fail_after(10s): returned %d\n", answer);
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
