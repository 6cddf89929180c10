// SPDX-License-Identifier: MIT
// Unit tests for the I/O seam (detail/io.hpp, runtime/io.cpp) against a fake
// backend whose operations complete only when the test says: an operation
// in flight is not a deadlock; a wait with nothing in flight is, and the
// report names the wait; a withdrawn operation and a late-cancelled one
// both deliver `cancelled`; a completion that raced the cancel delivers its
// result (nothing lost); and a failed run's teardown cancels and drains
// every operation before it destroys the frame the operation lives in.
#include <anyio/anyio.hpp>
#include <anyio/detail/io.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<std::string> journal;

/// Completes queued operations one per wait_for_events; time never moves
/// unless a deadline is due (then it jumps there).
class fake_backend final : public anyio::backend {
 public:
  std::int64_t now() noexcept override { return now_; }
  std::int64_t wall_clock_ns() noexcept override { return now_; }
  bool wait_for_events(std::int64_t deadline) override {
    ++waits;
    if (throw_on_wait) {
      throw_on_wait = false;
      throw std::runtime_error("fake backend failed");
    }
    if (!pending.empty()) {
      auto f = std::move(pending.front());
      pending.pop_front();
      f();
      return true;
    }
    if (deadline != never) {
      now_ = deadline;
      return true;
    }
    return false;
  }
  void poll_events() override {
    ++polls;
    if (poll_completes && !pending.empty()) {
      auto f = std::move(pending.front());
      pending.pop_front();
      f();
    }
  }
  std::uint32_t poll_interval() const noexcept override { return interval; }
  std::size_t pick_next(const anyio::ready_view&) override { return 0; }
  std::uint64_t random_below(std::uint64_t bound, std::string_view) override { return bound - 1; }
  bool fifo() const noexcept override { return true; }
  std::string name() const override { return "fake"; }

  std::deque<std::function<void()>> pending;
  bool throw_on_wait = false;
  bool poll_completes = false;  // poll_events() runs the first pending completion
  std::uint32_t interval = 1;
  int waits = 0;
  int polls = 0;

 private:
  std::int64_t now_ = 0;
};

fake_backend* the_backend = nullptr;

/// An operation the test completes through the fake backend's queue.
struct fake_op final : anyio::detail::io_operation {
  bool withdraw_at_once = false;  // cancel() returns true
  bool race_result = false;       // the late completion carries a result
  int cancels = 0;
  bool cancel() noexcept override {
    ++cancels;
    journal.push_back("cancel");
    if (withdraw_at_once) return true;
    the_backend->pending.push_back([this] {
      journal.push_back("complete");
      if (race_result)
        complete({}, 7);
      else
        complete(std::make_error_code(std::errc::operation_canceled));
    });
    return false;
  }
};

/// Journals its destruction: shows when the frame holding it goes.
struct frame_marker {
  ~frame_marker() { journal.push_back("frame destroyed"); }
};

template <class Fn> void run_fake(fake_backend& b, Fn fn) {
  the_backend = &b;
  journal.clear();
  anyio::detail::run_on(b, {}, std::move(fn));
}

}  // namespace

TEST_CASE("io seam: an operation in flight is not a deadlock, and its completion wakes the task",
          "[io]") {
  fake_backend b;
  std::size_t got = 0;
  run_fake(b, [&]() -> anyio::task<> {
    fake_op op;
    auto ec = co_await anyio::detail::run_io(
        op, [&] { b.pending.push_back([&op] { op.complete({}, 42); }); }, "fake read");
    REQUIRE_FALSE(ec);
    got = op.transferred();
  });
  REQUIRE(got == 42);
  REQUIRE(b.waits == 1);
}

// The bulk-throughput fix: realio polls every 64 steps, so a sender whose
// sends all succeed at once (it stays ready) kept its receiver's completion
// waiting for 64 sends, the socket buffers filled and the sender stalled.
TEST_CASE("io seam: a pass that ends with I/O in flight polls, however long the poll interval",
          "[io]") {
  fake_backend b;
  b.interval = 64;
  b.poll_completes = true;
  int completed_at = -1;
  int checkpoints = 0;
  run_fake(b, [&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        fake_op op;
        auto ec = co_await anyio::detail::run_io(
            op, [&] { b.pending.push_back([&op] { op.complete({}, 1); }); }, "fake read");
        REQUIRE_FALSE(ec);
        completed_at = checkpoints;
      });
      tg.start_soon([&]() -> anyio::task<> {
        for (int i = 0; i < 10; ++i) {
          co_await anyio::checkpoint();
          ++checkpoints;
        }
      });
      co_return;
    });
  });
  // The reader parks in the first pass; the next pass (the busy task alone)
  // ends with the read in flight, so the poll completes it at once.
  REQUIRE(completed_at >= 0);
  REQUIRE(completed_at <= 2);
  REQUIRE(b.polls >= 1);
  REQUIRE(b.waits == 0);  // never had to wait: the poll found it
}

TEST_CASE("io seam: without I/O in flight a busy run polls only every poll interval", "[io]") {
  fake_backend b;
  b.interval = 64;
  run_fake(b, []() -> anyio::task<> {
    for (int i = 0; i < 10; ++i) co_await anyio::checkpoint();
  });
  REQUIRE(b.polls == 0);
}

TEST_CASE("io seam: nothing in flight and no deadline is a deadlock naming the wait", "[io]") {
  fake_backend b;
  std::string message;
  try {
    run_fake(b, [&]() -> anyio::task<> {
      fake_op op;
      // Started, but the backend never completes it and has nothing queued:
      // the backend's wait reports that nothing can happen.
      co_await anyio::detail::run_io(op, [] {}, "fake accept on nowhere:1");
    });
  } catch (const anyio::deadlock_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("fake accept on nowhere:1") != std::string::npos);
}

TEST_CASE("io seam: with nothing in flight the kernel reports the deadlock without waiting",
          "[io]") {
  fake_backend b;
  REQUIRE_THROWS_AS(run_fake(b,
                             []() -> anyio::task<> {
                               anyio::event never_set;
                               co_await never_set.wait();
                             }),
                    anyio::deadlock_error);
  REQUIRE(b.waits == 0);  // a backend that would block forever is never asked
}

TEST_CASE("io seam: a withdrawn operation and a late-cancelled one both raise cancelled",
          "[io]") {
  for (bool at_once : {true, false}) {
    fake_backend b;
    bool caught = false;
    int cancels = 0;
    run_fake(b, [&]() -> anyio::task<> {
      fake_op op;
      op.withdraw_at_once = at_once;
      auto scope = anyio::move_on_after(std::chrono::seconds(1));
      co_await scope.run([&]() -> anyio::task<> {
        co_await anyio::detail::run_io(op, [] {}, "fake read");
        FAIL("the operation returned instead of raising cancelled");
      });
      caught = scope.cancelled_caught();
      cancels = op.cancels;
    });
    INFO("withdrawn at once: " << at_once);
    REQUIRE(caught);
    REQUIRE(cancels == 1);
  }
}

TEST_CASE("io seam: a completion that raced the cancel delivers its result, then cancelled",
          "[io]") {
  fake_backend b;
  std::size_t got = 0;
  bool caught = false;
  run_fake(b, [&]() -> anyio::task<> {
    fake_op op;
    op.race_result = true;
    auto scope = anyio::move_on_after(std::chrono::seconds(1));
    co_await scope.run([&]() -> anyio::task<> {
      co_await anyio::detail::run_io(op, [] {}, "fake read");
      got = op.transferred();  // the data is not lost
      co_await anyio::checkpoint();
      FAIL("the checkpoint after the raced completion did not raise cancelled");
    });
    caught = scope.cancelled_caught();
  });
  REQUIRE(got == 7);
  REQUIRE(caught);
}

TEST_CASE("io seam: a failed run cancels and drains its operations before destroying frames",
          "[io]") {
  fake_backend b;
  b.throw_on_wait = true;
  REQUIRE_THROWS_WITH(run_fake(b,
                               [&]() -> anyio::task<> {
                                 frame_marker marker;
                                 fake_op op;
                                 co_await anyio::detail::run_io(op, [] {}, "fake read");
                               }),
                      "fake backend failed");
  REQUIRE(journal == std::vector<std::string>{"cancel", "complete", "frame destroyed"});
}
