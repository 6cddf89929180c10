// SPDX-License-Identifier: MIT
// Conformance: cancel scopes — level-triggered cancellation, absorption of
// only a scope's own cancellation, shields (also dropped while a task is
// parked inside), deadlines moved while entered, cancel before enter / after
// exit, and the three kinds of checkpoint (full, cancel-only, schedule-only).
// Each case runs on realio and on sim; timeouts are in kernel_timeout_test.
#include <anyio/testing/catch.hpp>

#include <string>

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
  anyio::cancel_scope scope;
  bool slept = false;
  co_await scope.run([&]() -> anyio::task<> {
    // No checkpoint between the two moves, so even a stalled machine cannot
    // let the first deadline expire; the sleep then outlasts it.
    scope.set_deadline(anyio::current_time() + 5ms);
    scope.set_deadline(anyio::current_time() + 10s);
    co_await anyio::sleep(20ms);
    slept = true;
  });
  REQUIRE(slept);
  REQUIRE_FALSE(scope.cancel_called());
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
  REQUIRE(scope.cancel_called());  // recorded, as trio does, but nothing is cancelled
  REQUIRE_FALSE(scope.cancelled_caught());
  co_await anyio::checkpoint();
  co_await anyio::sleep(std::chrono::milliseconds(1));
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

ANYIO_TEST_CASE("cancel scope: a parked task is woken when its scope is cancelled later",
                "[cancel]") {
  anyio::cancel_scope scope;
  bool child_cancelled = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        try {
          co_await anyio::sleep(1h);
        } catch (const anyio::cancelled&) {
          child_cancelled = true;
          throw;
        }
      });
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE_FALSE(child_cancelled);
    scope.cancel();  // from another task
  });
  REQUIRE(child_cancelled);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: a deadline moved earlier wakes a task parked inside",
                "[cancel][timeout]") {
  anyio::cancel_scope scope;
  auto start = anyio::current_time();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> { co_await anyio::sleep(1h); });
    });
    co_await anyio::testing::wait_all_tasks_blocked();
    scope.set_deadline(anyio::current_time() + 2ms);
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(anyio::current_time() - start < 10min);
}

ANYIO_TEST_CASE("cancel scope: a deadline already passed on entry cancels at once",
                "[cancel][timeout]") {
  auto scope = anyio::move_on_at(anyio::current_time() - 1s);
  bool reached = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::checkpoint();
    reached = true;
  });
  REQUIRE_FALSE(reached);
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: dropping a shield exposes the outer cancellation to a parked task",
                "[cancel][shield]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope shield{{.shield = true}};
  bool child_cancelled = false;
  bool after_shield = false;
  co_await outer.run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        co_await shield.run([&]() -> anyio::task<> {
          try {
            co_await anyio::sleep(1h);
          } catch (const anyio::cancelled&) {
            child_cancelled = true;
            throw;
          }
        });
        after_shield = true;
      });
      co_await anyio::testing::wait_all_tasks_blocked();
      outer.cancel();
      // The body is in the cancelled scope, but the child, shielded, stays
      // parked; a schedule-only checkpoint lets it run if it were runnable.
      co_await anyio::cancel_shielded_checkpoint();
      REQUIRE_FALSE(child_cancelled);
      shield.set_shield(false);
    });
  });
  REQUIRE(child_cancelled);
  REQUIRE_FALSE(after_shield);
  REQUIRE_FALSE(shield.cancelled_caught());  // not its own cancellation
  REQUIRE(outer.cancelled_caught());
}

// Each scope caches whether it is effectively cancelled (issue 9.9); these
// pin that the cache follows shields raised and dropped below a cancelled
// scope, for nested scopes and for a task parked two levels down.
ANYIO_TEST_CASE("cancel scope: a shield raised and dropped again under a cancelled scope",
                "[cancel][shield]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope middle;
  anyio::cancel_scope inner;
  int passed_checkpoints = 0;
  bool inner_cancelled = false;
  co_await outer.run([&]() -> anyio::task<> {
    co_await middle.run([&]() -> anyio::task<> {
      co_await inner.run([&]() -> anyio::task<> {
        outer.cancel();
        middle.set_shield(true);  // hides outer's cancellation from inner too
        co_await anyio::checkpoint();
        ++passed_checkpoints;
        co_await anyio::checkpoint_if_cancelled();
        ++passed_checkpoints;
        middle.set_shield(false);  // exposes it again, two levels down
        try {
          co_await anyio::checkpoint_if_cancelled();
        } catch (const anyio::cancelled&) {
          inner_cancelled = true;
          throw;
        }
      });
    });
  });
  REQUIRE(passed_checkpoints == 2);
  REQUIRE(inner_cancelled);
  REQUIRE_FALSE(inner.cancelled_caught());
  REQUIRE_FALSE(middle.cancelled_caught());
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: a task parked below a shield wakes when an outer shield drops",
                "[cancel][shield]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope shield{{.shield = true}};
  bool child_cancelled = false;
  co_await outer.run([&]() -> anyio::task<> {
    co_await shield.run([&]() -> anyio::task<> {
      co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
          anyio::cancel_scope own;
          co_await own.run([&]() -> anyio::task<> {
            try {
              co_await anyio::sleep(1h);
            } catch (const anyio::cancelled&) {
              child_cancelled = true;
              throw;
            }
          });
        });
        co_await anyio::testing::wait_all_tasks_blocked();
        outer.cancel();
        co_await anyio::cancel_shielded_checkpoint();
        REQUIRE_FALSE(child_cancelled);
        shield.set_shield(false);
        co_await anyio::cancel_shielded_checkpoint();
      });
    });
  });
  REQUIRE(child_cancelled);
  REQUIRE(outer.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: cancelling inside a shield works normally", "[cancel][shield]") {
  anyio::cancel_scope outer;
  anyio::cancel_scope shield{{.shield = true}};
  anyio::cancel_scope inner;
  bool after_inner = false;
  co_await outer.run([&]() -> anyio::task<> {
    outer.cancel();
    co_await shield.run([&]() -> anyio::task<> {
      co_await inner.run([&]() -> anyio::task<> {
        inner.cancel();
        co_await anyio::sleep(1h);
      });
      after_inner = true;
    });
  });
  REQUIRE(inner.cancelled_caught());
  REQUIRE(after_inner);
  REQUIRE_FALSE(shield.cancelled_caught());
  REQUIRE(outer.cancel_called());
  REQUIRE_FALSE(outer.cancelled_caught());  // nothing inside reached an unshielded checkpoint
}

ANYIO_TEST_CASE("checkpoint_if_cancelled: raises when cancelled, never switches task",
                "[cancel][checkpoint]") {
  bool child_ran = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      child_ran = true;
      co_return;
    });
    // The child is ready, yet none of these lets it run.
    for (int i = 0; i < 100; ++i) co_await anyio::checkpoint_if_cancelled();
    REQUIRE_FALSE(child_ran);
  });
  REQUIRE(child_ran);
  anyio::cancel_scope scope;
  int raised = 0;
  co_await scope.run([&]() -> anyio::task<> {
    scope.cancel();
    for (int i = 0; i < 2; ++i) {
      try {
        co_await anyio::checkpoint_if_cancelled();
      } catch (const anyio::cancelled&) {
        ++raised;
      }
    }
  });
  REQUIRE(raised == 2);
}

ANYIO_TEST_CASE("cancel_shielded_checkpoint: switches task, never raises",
                "[cancel][checkpoint]") {
  anyio::cancel_scope scope;
  bool child_ran = false;
  int rounds = 0;
  co_await scope.run([&]() -> anyio::task<> {
    scope.cancel();
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run([&]() -> anyio::task<> {
      co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
          child_ran = true;
          co_return;
        });
        co_return;
      });
    });
    REQUIRE(child_ran);
    child_ran = false;
    // Back in the cancelled scope: schedule points that do not raise.
    for (; rounds < 3; ++rounds) co_await anyio::cancel_shielded_checkpoint();
  });
  REQUIRE(rounds == 3);
  REQUIRE_FALSE(scope.cancelled_caught());  // nothing raised, so nothing was absorbed
  bool yielded = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      yielded = true;
      co_return;
    });
    for (int i = 0; i < 1000 && !yielded; ++i) co_await anyio::cancel_shielded_checkpoint();
    REQUIRE(yielded);  // the ready child ran at one of the schedule points
  });
}

ANYIO_TEST_CASE("sleep(0) and sleep_until(past) are checkpoints", "[cancel][checkpoint][time]") {
  bool child_ran = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      child_ran = true;
      co_return;
    });
    for (int i = 0; i < 1000 && !child_ran; ++i) co_await anyio::sleep(0s);
    REQUIRE(child_ran);  // a schedule point
  });
  child_ran = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      child_ran = true;
      co_return;
    });
    for (int i = 0; i < 1000 && !child_ran; ++i)
      co_await anyio::sleep_until(anyio::current_time() - 1s);
    REQUIRE(child_ran);
  });
  anyio::cancel_scope scope;
  int raised = 0;
  co_await scope.run([&]() -> anyio::task<> {
    scope.cancel();
    try {
      co_await anyio::sleep(0s);
    } catch (const anyio::cancelled&) {
      ++raised;  // a cancel point
    }
    try {
      co_await anyio::sleep_until(anyio::clock::time_point{});
    } catch (const anyio::cancelled&) {
      ++raised;
    }
  });
  REQUIRE(raised == 2);
}

ANYIO_TEST_CASE("cancel scope: cancel_called and cancelled_caught report what happened",
                "[cancel]") {
  anyio::cancel_scope untouched;
  co_await untouched.run([&]() -> anyio::task<> { co_await anyio::checkpoint(); });
  REQUIRE_FALSE(untouched.cancel_called());
  REQUIRE_FALSE(untouched.cancelled_caught());
  anyio::cancel_scope no_checkpoint;
  co_await no_checkpoint.run([&]() -> anyio::task<> {
    no_checkpoint.cancel();
    co_return;  // cancelled, but nothing inside noticed
  });
  REQUIRE(no_checkpoint.cancel_called());
  REQUIRE_FALSE(no_checkpoint.cancelled_caught());
}

ANYIO_TEST_CASE("cancel scope: entering a scope while it is entered is a usage_error",
                "[cancel][misuse]") {
  anyio::cancel_scope scope;
  std::string message;
  co_await scope.run([&]() -> anyio::task<> {
    try {
      co_await scope.run([&]() -> anyio::task<> { co_return; });
    } catch (const anyio::usage_error& e) {
      message = e.what();
    }
    co_await anyio::checkpoint();
  });
  REQUIRE(message.find("cancel_scope::run(): this cancel scope is already entered") !=
          std::string::npos);
}
