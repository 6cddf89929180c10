// SPDX-License-Identifier: MIT
// Tutorial, "Shielded cleanup after cancellation": when a timeout cancels an
// important operation, async cleanup must still run. Catch anyio::cancelled,
// do the cleanup inside a cancel_scope{{.shield = true}} — without the shield
// it would be cancelled at once, because the enclosing scope stays cancelled
// — and then rethrow the cancellation so the scope that caused it absorbs it.
//
// The output, in order ('.' in these regexes also matches the newline):
// test-expect: ^operation: started.operation: cancelled, cleaning up.
// test-expect: cleaning up.cleanup without a shield: cancelled at once.cleanup with a shield
// test-expect: with a shield: flushed 3 records.main: timed out=true, cleanup completed=true
#include "example_main.hpp"

#include <cstdio>
#include <exception>

using namespace std::chrono_literals;

namespace {

bool cleanup_completed = false;

// Async cleanup, e.g. flushing buffered records to a peer: it needs time.
anyio::task<> flush_records() {
  co_await anyio::sleep(300ms);
  cleanup_completed = true;
  std::printf("cleanup with a shield: flushed 3 records\n");
}

anyio::task<> important_operation() {
  std::exception_ptr cancellation;
  try {
    std::printf("operation: started\n");
    co_await anyio::sleep(2s);  // the timeout cancels this
  } catch (const anyio::cancelled&) {
    // C++ cannot co_await inside a catch block: keep the exception, leave
    // the block, clean up, then rethrow. (`cancelled` is not a std::exception,
    // so `catch (const std::exception&)` elsewhere can never swallow it.)
    cancellation = std::current_exception();
  }
  if (!cancellation) co_return;
  std::printf("operation: cancelled, cleaning up\n");

  // Unshielded, the cleanup is cancelled at its first checkpoint: the
  // enclosing scope stays cancelled until it exits (level-triggered).
  try {
    co_await anyio::sleep(300ms);
  } catch (const anyio::cancelled&) {
    std::printf("cleanup without a shield: cancelled at once\n");
  }

  // Shielded, it runs to completion; outer cancellation can't reach inside.
  anyio::cancel_scope shield{{.shield = true}};
  co_await shield.run(flush_records);

  // Always rethrow: the timeout scope absorbs its own cancellation.
  std::rethrow_exception(cancellation);
}

anyio::task<> amain() {
  auto timeout = anyio::move_on_after(500ms);
  co_await timeout.run(important_operation);
  std::printf("main: timed out=%s, cleanup completed=%s\n",
              timeout.cancelled_caught() ? "true" : "false", cleanup_completed ? "true" : "false");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
