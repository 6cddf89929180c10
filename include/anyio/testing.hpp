// SPDX-License-Identifier: MIT
// Backend-neutral helpers for tests (trio.testing): wait_all_tasks_blocked
// lets a test run the program "until it settles"; sequencer forces tasks
// through numbered steps in order. No Catch2 dependency; the two-backend
// Catch2 harness is <anyio/testing/catch.hpp>.
#pragma once
#include <anyio/sync.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <cstddef>
#include <map>
#include <set>
#include <utility>

namespace anyio::testing {

/// Block until every other task is blocked (trio's definition): wake when no
/// task is runnable and no I/O or timer has arrived for `cushion`. On sim
/// that means every other task is parked and nothing is due (the virtual
/// clock advances by the cushion, if any); on realio, the run loop stayed
/// idle for `cushion` of real time. With several waiters, the one with the
/// smallest cushion wakes first, one per idle period.
/// Checkpoint: yes. Throws: cancelled.
task<> wait_all_tasks_blocked(clock::duration cushion = clock::duration::zero());

/// Forces code in several tasks to run in a fixed order (trio.testing.
/// Sequencer): `auto turn = co_await seq(n);` waits until the turns 0..n-1
/// have ended; the turn ends when `turn` is destroyed (or at end()). Each
/// position may be used once. If a task is cancelled while waiting for its
/// turn, that task gets `cancelled` and the sequence is broken: every other
/// waiter, and every later seq(n), throws usage_error.
///
///   tg.start_soon([&]() -> anyio::task<> { auto t = co_await seq(1); log("b"); });
///   tg.start_soon([&]() -> anyio::task<> { { auto t = co_await seq(0); log("a"); }
///                                         auto t = co_await seq(2); log("c"); });
class sequencer {
 public:
  /// Ownership of one position; ending it lets position + 1 run.
  class [[nodiscard]] turn {
   public:
    turn(turn&& o) noexcept : seq_(std::exchange(o.seq_, nullptr)), position_(o.position_) {}
    turn& operator=(turn&&) = delete;
    turn(const turn&) = delete;
    ~turn() { end(); }
    /// End the turn now (does nothing the second time).
    void end() noexcept;
    std::size_t position() const noexcept { return position_; }

   private:
    friend class sequencer;
    turn(sequencer* s, std::size_t position) noexcept : seq_(s), position_(position) {}
    sequencer* seq_;
    std::size_t position_;
  };

  sequencer() = default;
  sequencer(const sequencer&) = delete;
  sequencer& operator=(const sequencer&) = delete;

  /// Wait until every position before `position` has had its turn.
  /// Checkpoint: yes. Throws: cancelled (and the sequence breaks);
  /// usage_error if `position` was used before or the sequence is broken.
  task<turn> operator()(std::size_t position);

 private:
  anyio::event& point(std::size_t position);
  std::map<std::size_t, anyio::event> points_;  ///< events are pinned: map nodes never move
  std::set<std::size_t> claimed_;
  bool broken_ = false;
};

}  // namespace anyio::testing
