// SPDX-License-Identifier: MIT
// The kernel's cancel_node, task_group_state and start_state_base live in
// room reserved inside cancel_scope, task_group and start() calls, built and
// ended by runtime/ (runtime/kernel_structs.hpp). These cases make and
// destroy them in the orders that are easy to get wrong: a scope that is
// never entered (outside a run and inside one), a run that fails with a
// group, its children and a pending start() still alive (teardown destroys
// the caller's frame, and the start's state with it, while the kernel could
// still refer to it), start() whose caller is cancelled before the child
// calls started(), and start() that fails before its child is spawned. Run
// under ASan (scripts/test.sh, asan stage), a lifetime slip shows as a
// use-after-free or a leak; without it, the values read back still check
// that the state survives its trip through the runtime calls.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace std::chrono_literals;

int guards_destroyed = 0;

struct count_on_destroy {
  ~count_on_destroy() { ++guards_destroyed; }
};

// Runs `fn` on realio, then on sim with a few seeds.
template <class Fn> void on_both(Fn fn) {
  fn(std::string("realio"), [&](auto body) { return anyio::run(body); });
  for (std::uint64_t seed : {1ULL, 2ULL, 3ULL, 4ULL, 5ULL})
    fn("sim seed " + std::to_string(seed),
       [&](auto body) { return anyio::sim::run(body, anyio::sim::options{.seed = seed}); });
}

// A scope made inside a task and dropped unentered, one cancelled before it
// is entered, and a group that is never entered.
anyio::task<int> unentered_and_precancelled() {
  {
    anyio::cancel_scope never(anyio::cancel_scope::options{
        .deadline = anyio::current_time() + 1s, .shield = true});
    never.cancel();
    if (!never.cancel_called() || !never.shield() || never.cancelled_caught()) co_return 1;
    anyio::task_group unused;
  }
  anyio::cancel_scope early;
  early.cancel();
  bool body_passed_checkpoint = false;
  auto r = co_await early.run([&]() -> anyio::task<int> {
    co_await anyio::checkpoint();
    body_passed_checkpoint = true;
    co_return 5;
  });
  if (r.has_value() || body_passed_checkpoint) co_return 2;
  if (!early.cancelled_caught() || !early.cancel_called()) co_return 3;
  co_return 0;
}

// The group's body waits in start() for a child that never calls started(),
// beside a sibling asleep forever: the run deadlocks and teardown destroys
// every frame, the caller's (holding the start's state and the group) last.
anyio::task<> deadlock_with_pending_start() {
  count_on_destroy main_guard;
  anyio::task_group never_entered;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    count_on_destroy body_guard;
    tg.start_soon(anyio::task_name("sleeper"), []() -> anyio::task<> {
      count_on_destroy guard;
      co_await anyio::sleep_forever();
    });
    co_await tg.start(anyio::task_name("never-started"),
                      [](anyio::task_status<>&) -> anyio::task<> {
                        count_on_destroy guard;
                        co_await anyio::sleep_forever();
                      });
  });
}

struct start_outcomes {
  bool child_ran_on = false;
  bool caught = false;
  std::optional<int> cancelled_start;
  int started_value = 0;
  std::string child_error;
  std::string closed_error;
};

// start() under a scope that the child cancels just before started(): the
// child stays with the caller and is cancelled, and start() raises
// `cancelled` for the caller's scope to absorb. Then a start() whose child
// raises first, one that succeeds, and one on a group that has exited.
anyio::task<start_outcomes> start_orders() {
  start_outcomes out;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    anyio::cancel_scope caller;
    out.cancelled_start = co_await caller.run([&]() -> anyio::task<int> {
      co_return co_await tg.start(
          [&](anyio::task_status<int>& status) -> anyio::task<> {
            caller.cancel();
            status.started(1);
            co_await anyio::checkpoint();
            out.child_ran_on = true;
          });
    });
    out.caught = caller.cancelled_caught();
    try {
      co_await tg.start([](anyio::task_status<int>&) -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::runtime_error("failed before started()");
      });
    } catch (const std::runtime_error& e) {
      out.child_error = e.what();
    }
    out.started_value = co_await tg.start([](anyio::task_status<int>& status) -> anyio::task<> {
      co_await anyio::checkpoint();
      status.started(42);
      co_await anyio::checkpoint();
    });
  });
  anyio::task_group closed;
  co_await closed.run([](anyio::task_group&) -> anyio::task<> { co_return; });
  try {
    co_await closed.start([](anyio::task_status<>& status) -> anyio::task<> {
      status.started();
      co_return;
    });
  } catch (const anyio::usage_error& e) {
    out.closed_error = e.what();
  }
  co_return out;
}

}  // namespace

TEST_CASE("kernel structs: a scope made outside a run keeps what it was made with",
          "[runtime][cancel]") {
  const auto when = anyio::clock::time_point(7s);
  anyio::cancel_scope scope(anyio::cancel_scope::options{.deadline = when, .shield = true});
  CHECK(scope.deadline() == when);
  CHECK(scope.shield());
  CHECK_FALSE(scope.cancel_called());
  scope.set_shield(false);
  scope.set_deadline(when + 1s);
  scope.cancel();
  CHECK_FALSE(scope.shield());
  CHECK(scope.deadline() == when + 1s);
  CHECK(scope.cancel_called());
  CHECK_FALSE(scope.cancelled_caught());
  anyio::task_group group;  // never entered, destroyed outside a run
  anyio::cancel_scope plain;
  CHECK(plain.deadline() == anyio::clock::time_point::max());
  CHECK_FALSE(plain.shield());
}

TEST_CASE("kernel structs: unentered and pre-cancelled scopes and groups inside a run",
          "[runtime][cancel][task_group]") {
  on_both([](const std::string& where, auto run) {
    INFO(where);
    CHECK(run(unentered_and_precancelled) == 0);
  });
}

TEST_CASE("kernel structs: a failed run destroys a group with a pending start()",
          "[runtime][teardown][task_group]") {
  on_both([](const std::string& where, auto run) {
    INFO(where);
    guards_destroyed = 0;
    std::string message;
    try {
      run(deadlock_with_pending_start);
    } catch (const anyio::deadlock_error& e) {
      message = e.what();
    }
    CHECK_THAT(message, Catch::Contains("never-started"));
    // main, the body, the sleeper and the child that never started.
    CHECK(guards_destroyed == 4);
  });
}

TEST_CASE("kernel structs: start() cancelled with its caller, failed, started, refused",
          "[runtime][task_group]") {
  on_both([](const std::string& where, auto run) {
    INFO(where);
    start_outcomes out = run(start_orders);
    CHECK_FALSE(out.cancelled_start.has_value());
    CHECK(out.caught);
    CHECK_FALSE(out.child_ran_on);
    CHECK(out.child_error == "failed before started()");
    CHECK(out.started_value == 42);
    CHECK_THAT(out.closed_error, Catch::Contains("has exited"));
  });
}
