// SPDX-License-Identifier: MIT
// The schedule point after an operation that completed at once (trio's
// cancel_shielded_checkpoint; runtime/wait.cpp, schedule_point_after_op).
// realio may skip one per step when the only task it would let run is one
// that step woke, so a hand-off to a parked receiver does not cost a switch
// there and back; the woken task still runs at the sender's next schedule
// point. A task that was already ready is never passed over, and sim keeps
// every schedule point as a decision.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

using journal = std::vector<std::string>;

anyio::task<> receive_one(anyio::memory_object_receive_stream<int>* rx, journal* j) {
  int v = co_await rx->receive();
  j->push_back("B got " + std::to_string(v));
}

// A hands 1 to the parked B, then buffers 2: which of A's lines come before
// B's shows where A's two schedule points let B run.
anyio::task<> hand_off_then_buffer(journal* j) {
  auto streams = anyio::create_memory_object_stream<int>(4);
  auto& tx = streams.send;  // not a structured binding: clang 14 cannot capture those
  auto& rx = streams.receive;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(receive_one, &rx, j);
    while (tx.statistics().tasks_waiting_receive == 0) co_await anyio::checkpoint();
    co_await tx.send(1);
    j->push_back("A sent 1");
    co_await tx.send(2);
    j->push_back("A sent 2");
  });
}

}  // namespace

TEST_CASE("realio: the woken receiver runs at the sender's next schedule point, not later",
          "[runtime][schedule_point]") {
  journal j;
  anyio::run(hand_off_then_buffer, &j);
  // The first send's schedule point was skipped (B was the only task it
  // would let run, woken by that send); the second was not.
  CHECK(j == journal{"A sent 1", "B got 1", "A sent 2"});
}

TEST_CASE("sim: the schedule point after a hand-off stays a decision",
          "[runtime][schedule_point]") {
  int receiver_first = 0;
  int sender_first = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    journal j;
    anyio::sim::run([&j] { return hand_off_then_buffer(&j); }, {.seed = seed});
    REQUIRE(j.size() == 3);
    (j.front() == "B got 1" ? receiver_first : sender_first) += 1;
  }
  // Both outcomes of the first schedule point occur: sim skips none.
  CHECK(receiver_first > 0);
  CHECK(sender_first > 0);
}

namespace {

// B was ready before each of A's steps, so none of A's schedule points may
// be skipped: B runs between every two of A's sends.
anyio::task<> spin_until(const bool* done, int* turns) {
  while (!*done) {
    ++*turns;
    co_await anyio::checkpoint();
  }
}

anyio::task<> sender_beside_a_ready_task(int* b_turns, int* sends) {
  auto streams = anyio::create_memory_object_stream<int>(1000);
  auto& tx = streams.send;
  bool done = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(spin_until, &done, b_turns);
    co_await anyio::checkpoint();  // B is running its loop
    for (int i = 0; i < 100; ++i) {
      co_await tx.send(i);
      ++*sends;
    }
    done = true;
  });
}

}  // namespace

TEST_CASE("realio: a task that was already ready is never passed over",
          "[runtime][schedule_point]") {
  int b_turns = 0;
  int sends = 0;
  anyio::run(sender_beside_a_ready_task, &b_turns, &sends);
  CHECK(sends == 100);
  CHECK(b_turns >= 100);
}
