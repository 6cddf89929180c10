// SPDX-License-Identifier: MIT
// Conformance: the one blocking primitive, lowlevel::wait_task_rescheduled +
// reschedule (trio's _traps). A parked task resumes with nothing or with the
// exception passed to reschedule; cancellation calls the abort function at
// most once per wait; an abort that reports `failed` leaves the task parked
// until whoever owns the operation reschedules it, after which the still-
// cancelled scope raises at the next checkpoint. sleep is built on the same
// primitive, which the last cases observe from outside.
#include <anyio/instrument.hpp>
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// A hand-written primitive as a library author would write one: the parked
// task publishes its handle, the abort function counts its calls and answers
// with a fixed result.
struct parked_waiter {
  anyio::lowlevel::task_handle handle{};
  anyio::abort_result answer = anyio::abort_result::succeeded;
  int abort_calls = 0;
  bool woke = false;
  bool raised_cancelled = false;
  std::string error;

  anyio::task<> wait() {
    handle = anyio::lowlevel::current_task_handle();
    auto abort = [this]() noexcept {
      ++abort_calls;
      return answer;
    };
    try {
      co_await anyio::lowlevel::wait_task_rescheduled(abort, "parked_waiter");
      woke = true;
    } catch (const anyio::cancelled&) {
      raised_cancelled = true;
      throw;
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
};

}  // namespace

ANYIO_TEST_CASE("wait_task_rescheduled: a value-less reschedule resumes the task", "[wait]") {
  parked_waiter w;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await w.wait(); });
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE(w.handle);
    REQUIRE_FALSE(w.woke);  // parked: nothing wakes it but reschedule
    anyio::lowlevel::reschedule(w.handle);
  });
  REQUIRE(w.woke);
  REQUIRE(w.error.empty());
  REQUIRE(w.abort_calls == 0);
}

ANYIO_TEST_CASE("wait_task_rescheduled: reschedule with an exception raises it", "[wait]") {
  parked_waiter w;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await w.wait(); });
    co_await anyio::testing::wait_all_tasks_blocked();
    anyio::lowlevel::reschedule(w.handle,
                                std::make_exception_ptr(std::runtime_error("wake with error")));
  });
  REQUIRE_FALSE(w.woke);
  REQUIRE(w.error == "wake with error");
}

ANYIO_TEST_CASE("wait_task_rescheduled: abort succeeded resumes with cancelled, once",
                "[wait][cancel]") {
  parked_waiter w;
  anyio::cancel_scope inner;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await inner.run([&]() -> anyio::task<> { co_await w.wait(); });
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    inner.cancel();
    tg.cancel_scope().cancel();  // a second cancellation around the same wait
  });
  REQUIRE(w.raised_cancelled);
  REQUIRE(w.abort_calls == 1);
  REQUIRE_FALSE(inner.cancelled_caught());  // the group's cancellation is visible too
}

ANYIO_TEST_CASE("wait_task_rescheduled: a pending cancellation aborts at once", "[wait][cancel]") {
  parked_waiter w;
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> { co_await w.wait(); });
  REQUIRE(w.abort_calls == 1);
  REQUIRE(w.raised_cancelled);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("wait_task_rescheduled: abort failed keeps the task parked until rescheduled",
                "[wait][cancel]") {
  parked_waiter w;
  w.answer = anyio::abort_result::failed;
  anyio::cancel_scope outer;
  anyio::cancel_scope inner;
  bool reached_checkpoint = false;
  bool raised_at_checkpoint = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await outer.run([&]() -> anyio::task<> {
        co_await inner.run([&]() -> anyio::task<> {
          co_await w.wait();
          reached_checkpoint = true;
          try {
            co_await anyio::checkpoint();
          } catch (const anyio::cancelled&) {
            raised_at_checkpoint = true;
            throw;
          }
        });
      });
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    inner.cancel();
    // The operation could not be withdrawn: the task stays parked through
    // any amount of scheduling and through a second cancellation around it.
    for (int i = 0; i < 5; ++i) co_await anyio::checkpoint();
    outer.cancel();
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE(w.abort_calls == 1);
    REQUIRE_FALSE(w.woke);
    REQUIRE_FALSE(w.raised_cancelled);
    // The operation completes: the wait returns normally (its result is not
    // lost), and the scopes, still cancelled, raise at the next checkpoint.
    anyio::lowlevel::reschedule(w.handle);
  });
  REQUIRE(w.woke);
  REQUIRE(reached_checkpoint);
  REQUIRE(raised_at_checkpoint);
  REQUIRE_FALSE(inner.cancelled_caught());  // outer's cancellation is visible too
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("wait_task_rescheduled: a new wait gets a new abort", "[wait][cancel]") {
  // A first wait that completes normally must not use up the abort of the next.
  parked_waiter first;
  parked_waiter second;
  anyio::cancel_scope scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        co_await first.wait();
        co_await second.wait();
      });
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    anyio::lowlevel::reschedule(first.handle);
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE(second.handle);
    scope.cancel();
  });
  REQUIRE(first.woke);
  REQUIRE(first.abort_calls == 0);
  REQUIRE(second.abort_calls == 1);
  REQUIRE(second.raised_cancelled);
}

ANYIO_TEST_CASE("sleep: parks through the primitive and is aborted by cancellation",
                "[wait][time]") {
  // A cancelled sleep withdraws its timer: after the scope, the clock has not
  // moved anywhere near the hour (on sim, an un-withdrawn timer would make the
  // virtual clock jump to it before the run could end).
  auto start = anyio::current_time();
  auto scope = anyio::move_on_after(5ms);
  bool finished = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::sleep(1h);
    finished = true;
  });
  REQUIRE_FALSE(finished);
  REQUIRE(scope.cancelled_caught());
  REQUIRE(anyio::current_time() - start < 10min);
  co_await anyio::sleep(1ms);  // the heap holds no stale node from the aborted sleep
}

namespace {
// Records park/wake events of one run, to observe sleep from the kernel's side.
struct wait_log final : anyio::instrument {
  std::vector<std::string> events;
  void on_event(const anyio::kernel_event& e) override {
    if (e.kind == anyio::event_kind::park)
      events.push_back("park " + std::string(e.task_name) + " " + std::string(e.detail));
    else if (e.kind == anyio::event_kind::wake)
      events.push_back("wake " + std::string(e.task_name) + (e.flag ? " error" : ""));
  }
};
}  // namespace

TEST_CASE("sleep: the kernel sees a park 'sleep' and a wake per sleep", "[wait][time][sim]") {
  wait_log log;
  anyio::sim::options opts;
  opts.observer = &log;
  anyio::sim::run(
      []() -> anyio::task<> {
        co_await anyio::sleep(1s);
        auto scope = anyio::move_on_after(1s);
        co_await scope.run([]() -> anyio::task<> { co_await anyio::sleep(1h); });
      },
      opts);
  REQUIRE(log.events == std::vector<std::string>{"park main sleep", "wake main",
                                                 "park main sleep", "wake main error"});
}
