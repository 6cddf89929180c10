// SPDX-License-Identifier: MIT
// Simulator deadlock reports for tasks blocked in primitives and streams:
// the report names what each task waits on, and tearing the run down (frames
// destroyed while parked, handles closed during teardown) is clean — the
// ASan build runs these too. Plain Catch2 cases: each runs its own sim run,
// because a deadlock ends the run it happens in.
#include "tests/conformance/sync_test_support.hpp"

#include <string>

namespace {

std::string deadlock_report(anyio::task<> (*body)()) {
  try {
    anyio::sim::run(body);
  } catch (const anyio::deadlock_error& e) {
    return e.what();
  }
  return "";
}

anyio::task<> lock_deadlock() {
  anyio::lock mutex;
  anyio::condition cond;
  co_await mutex.acquire();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await mutex.acquire(); });
    tg.start_soon([&]() -> anyio::task<> {
      auto held = co_await cond.guard();
      co_await cond.wait();
    });
    co_return;
  });
}

anyio::task<> stream_deadlock() {
  auto streams = anyio::create_memory_object_stream<std::string>(0);
  auto keep = streams.send.clone();  // an open sender: no end of stream
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto receiver = [](anyio::memory_object_receive_stream<std::string> rx) -> anyio::task<> {
      (void)co_await rx.receive();
    };
    tg.start_soon(receiver, streams.receive.clone());
    auto sender = [](anyio::memory_object_send_stream<std::string> tx) -> anyio::task<> {
      co_await tx.send("x");
    };
    auto other = anyio::create_memory_object_stream<std::string>(0);
    tg.start_soon(sender, std::move(other.send));  // no receiver will ever come...
    auto parked_rx = std::move(other.receive);     // ...though one handle stays open
    anyio::semaphore sem(0);
    co_await sem.acquire();
  });
}

}  // namespace

TEST_CASE("sync: a deadlock report names the primitive each task waits on", "[sync][sim]") {
  std::string report = deadlock_report(lock_deadlock);
  CHECK_THAT(report, Catch::Contains("anyio::lock::acquire"));
  CHECK_THAT(report, Catch::Contains("anyio::condition::wait"));
}

TEST_CASE("memory stream: a deadlock with parked senders and receivers tears down cleanly",
          "[memory_stream][sim]") {
  std::string report = deadlock_report(stream_deadlock);
  CHECK_THAT(report, Catch::Contains("anyio::memory_object_receive_stream::receive"));
  CHECK_THAT(report, Catch::Contains("anyio::memory_object_send_stream::send"));
  CHECK_THAT(report, Catch::Contains("anyio::semaphore::acquire"));
}
