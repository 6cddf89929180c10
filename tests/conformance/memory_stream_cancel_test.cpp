// SPDX-License-Identifier: MIT
// Conformance: memory object streams under cancellation, on both backends.
// A cancelled send delivers nothing; a cancelled receive consumes nothing;
// a value handed to a parked receiver (or taken from a parked sender) before
// the cancellation arrived counts as delivered (trio: the hand-off happens
// at reschedule time, so the abort then fails). Also the checkpoint rules.
#include "tests/conformance/sync_test_support.hpp"

#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("memory stream: a cancelled send delivers nothing", "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  auto scope = anyio::move_on_after(5ms);
  co_await scope.run([&]() -> anyio::task<> { co_await tx.send(1); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(tx.statistics().tasks_waiting_send == 0);
  REQUIRE_FALSE(rx.try_receive());
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await tx.send(2); });
    auto got25 = co_await rx.receive();
    REQUIRE(got25 == 2);  // not 1
  });
}

ANYIO_TEST_CASE("memory stream: a cancelled receive consumes nothing",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(1);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  anyio::cancel_scope victim;
  int victim_got = -1;
  int other_got = -1;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await victim.run([&]() -> anyio::task<> { victim_got = co_await rx.receive(); });
    });
    co_await settle();
    tg.start_soon([&]() -> anyio::task<> { other_got = co_await rx.receive(); });
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_receive == 2);
    victim.cancel();
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_receive == 1);
    co_await tx.send(8);
  });
  REQUIRE(victim.cancelled_caught());
  REQUIRE(victim_got == -1);
  REQUIRE(other_got == 8);
}

ANYIO_TEST_CASE("memory stream: a value handed to a receiver survives its cancellation",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  anyio::cancel_scope scope;
  int got = -1;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        got = co_await rx.receive();  // completes: the value was already handed over
        co_await anyio::checkpoint();  // the cancellation lands here
        got = -2;
      });
    });
    co_await settle();
    REQUIRE(tx.try_send(5));
    scope.cancel();
  });
  REQUIRE(got == 5);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("memory stream: a send taken by a receiver survives the sender's cancellation",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  anyio::cancel_scope scope;
  bool send_returned = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        co_await tx.send(6);
        send_returned = true;  // reported success: the value was delivered
        co_await anyio::checkpoint();
      });
    });
    co_await settle();
    REQUIRE(rx.try_receive() == std::optional<int>(6));
    scope.cancel();
  });
  REQUIRE(send_returned);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("memory stream: send in a cancelled scope raises before delivering",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(5);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  anyio::cancel_scope scope;
  scope.cancel();
  // The buffer has room, yet the send is a cancel point first (trio).
  co_await scope.run([&]() -> anyio::task<> { co_await tx.send(1); });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(rx.statistics().current_buffer_used == 0);
  co_await tx.send(2);
  anyio::cancel_scope scope2;
  scope2.cancel();
  co_await scope2.run([&]() -> anyio::task<> { (void)co_await rx.receive(); });
  REQUIRE(scope2.cancelled_caught());
  REQUIRE(rx.statistics().current_buffer_used == 1);  // nothing consumed
  auto got118 = co_await rx.receive();
  REQUIRE(got118 == 2);
}

ANYIO_TEST_CASE("memory stream: a cancelled send to a waiting receiver hands nothing over",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  int got = -1;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await rx.receive(); });
    co_await settle();
    anyio::cancel_scope scope;
    scope.cancel();
    co_await scope.run([&]() -> anyio::task<> { co_await tx.send(1); });
    REQUIRE(rx.statistics().tasks_waiting_receive == 1);  // still waiting
    co_await tx.send(2);
  });
  REQUIRE(got == 2);
}

ANYIO_TEST_CASE("memory stream: a successful send is a schedule point",
                "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(anyio::unbounded);
  auto& tx = streams.send;
  int other_steps = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (int i = 0; i < 1000; ++i) {
        ++other_steps;
        co_await anyio::checkpoint();
      }
    });
    // A sender that never blocks must still let the other task run.
    for (int i = 0; i < 1000 && other_steps == 0; ++i) co_await tx.send(i);
    REQUIRE(other_steps > 0);
    tg.cancel_scope().cancel();
  });
}

ANYIO_TEST_CASE("memory stream: fail_after around a blocked receive", "[memory_stream][cancel]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& rx = streams.receive;
  bool timed_out = false;
  try {
    co_await anyio::fail_after(10ms).run(
        [&]() -> anyio::task<int> { co_return co_await rx.receive(); });
  } catch (const anyio::timeout_error&) {
    timed_out = true;
  }
  REQUIRE(timed_out);
  REQUIRE(rx.statistics().tasks_waiting_receive == 0);
  REQUIRE(streams.send.try_send(1) == false);  // nobody waiting: rendezvous would block
}
