// SPDX-License-Identifier: MIT
// Conformance: tearing down a run that failed (a deadlock here; a backend
// error takes the same path). The kernel destroys the frames of every task
// still alive, and their destructors may do anything a destructor may do —
// including cancelling a scope, the group's or one that encloses scopes of
// tasks already destroyed. Teardown unlinks every task and scope before it
// destroys a frame, so such a cancel is harmless (issue 9.1: it used to walk
// into freed frames; ASan reported heap-use-after-free on both backends).
// A run cannot nest in a run, so each case drives both backends itself.
#include <anyio/testing/catch.hpp>

#include <optional>
#include <string>

namespace {

int destructors_run = 0;

struct cancel_on_destroy {
  anyio::cancel_scope* scope;
  ~cancel_on_destroy() {
    ++destructors_run;
    scope->cancel();
  }
};

// Three children, each inside a scope of its own, and a group body inside an
// outer scope, all blocked forever. Every frame cancels a scope as it is destroyed:
// the children their group's scope, the body the outer scope (whose subtree
// held the children's scopes).
anyio::task<> deadlock_with_cancelling_destructors() {
  anyio::cancel_scope outer;
  co_await outer.run([&]() -> anyio::task<> {
    cancel_on_destroy outer_guard{&outer};
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < 3; ++i)
        tg.start_soon(anyio::task_name("blocked-" + std::to_string(i)),
                      [&tg]() -> anyio::task<> {
                        anyio::cancel_scope own;
                        co_await own.run([&]() -> anyio::task<> {
                          cancel_on_destroy guard{&tg.cancel_scope()};
                          cancel_on_destroy own_guard{&own};
                          co_await anyio::sleep_forever();
                        });
                      });
      cancel_on_destroy guard{&tg.cancel_scope()};
      co_await anyio::sleep_forever();
    });
  });
}

std::optional<std::string> run_to_deadlock(bool sim, std::uint64_t seed) {
  try {
    if (sim)
      anyio::sim::run(deadlock_with_cancelling_destructors, {.seed = seed});
    else
      anyio::run(deadlock_with_cancelling_destructors);
  } catch (const anyio::deadlock_error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("teardown: destructors that cancel scopes during a failed run are harmless",
          "[teardown][cancel]") {
  for (bool sim : {false, true}) {
    for (std::uint64_t seed : {1ULL, 2ULL, 3ULL, 4ULL, 5ULL, 6ULL, 7ULL, 8ULL}) {
      if (!sim && seed > 1) break;
      INFO((sim ? "sim seed " + std::to_string(seed) : std::string("realio")));
      destructors_run = 0;
      auto message = run_to_deadlock(sim, seed);
      REQUIRE(message.has_value());
      CHECK_THAT(*message, Catch::Contains("'blocked-2' waits on sleep_forever"));
      // 3 children x 2 guards, the body's guard, the outer guard: every frame unwound.
      REQUIRE(destructors_run == 8);
    }
  }
}

TEST_CASE("teardown: the next run on the thread is unaffected", "[teardown]") {
  for (bool sim : {false, true}) {
    INFO((sim ? "sim" : "realio"));
    REQUIRE(run_to_deadlock(sim, 3).has_value());
    auto ok = []() -> anyio::task<int> {
      anyio::cancel_scope scope;
      co_await scope.run([&]() -> anyio::task<> {
        scope.cancel();
        co_await anyio::checkpoint();
      });
      co_return scope.cancelled_caught() ? 1 : 0;
    };
    int caught = sim ? anyio::sim::run(ok, {.seed = 1}) : anyio::run(ok);
    REQUIRE(caught == 1);
  }
}
