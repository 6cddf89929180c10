// SPDX-License-Identifier: MIT
// RapidCheck integration: check_interleavings finds interleaving bugs, its
// counterexample is shrunk by RapidCheck to the preemptions the bug needs,
// the kept trace replays, and a body may draw its own parameters.
#include <anyio/rapidcheck.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <string>

namespace {

int counter = 0;
int incrementers = 2;

anyio::task<> lost_update() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < incrementers; ++i)
      tg.start_soon([]() -> anyio::task<> {
        co_await anyio::checkpoint();
        int seen = counter;
        co_await anyio::checkpoint();  // the bug: a switch here loses an update
        counter = seen + 1;
      });
    co_return;
  });
  if (counter != incrementers)
    throw std::logic_error("lost update: " + std::to_string(counter) + " of " +
                           std::to_string(incrementers));
}

}  // namespace

TEST_CASE("rapidcheck: finds a lost update with a one-preemption counterexample",
          "[sim][rapidcheck]") {
  incrementers = 3;
  auto r = anyio::rc::check_interleavings("lost update (rapidcheck)", lost_update,
                                          {.trace_dir = "anyio-traces"});
  REQUIRE_FALSE(r.passed);
  CHECK(r.counterexample.preemptions == 1);
  CHECK_FALSE(r.reproduce.empty());
  CHECK_THAT(r.message, Catch::Contains("lost update"));
  // The kept trace is the minimal counterexample and replays strictly.
  auto t = anyio::sim::read_trace(r.trace_path);
  CHECK(t.header.test == "lost update (rapidcheck)");
  CHECK(t.outcome.kind == "failed");
  std::string replayed;
  try {
    anyio::sim::replay(lost_update, r.trace_path);
  } catch (const std::logic_error& e) {
    replayed = e.what();
  }
  CHECK_THAT(r.message, Catch::Contains(replayed));
}

TEST_CASE("rapidcheck: a correct body passes every generated interleaving",
          "[sim][rapidcheck]") {
  auto body = []() -> anyio::task<> {
    int n = *rc::gen::inRange(1, 6);  // the body draws its own parameters
    int done = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < n; ++i)
        tg.start_soon([&]() -> anyio::task<> {
          co_await anyio::checkpoint();
          ++done;  // no checkpoint inside the update: never lost
        });
      co_return;
    });
    if (done != n) throw std::logic_error("lost an increment");
  };
  auto r = anyio::rc::check_interleavings("correct counter", body, {.tests = 200});
  REQUIRE(r.passed);
}

TEST_CASE("rapidcheck: PCT parameters as generated input", "[sim][rapidcheck]") {
  incrementers = 2;
  auto r = anyio::rc::check_interleavings("lost update (pct)", lost_update,
                                          {.pct = true, .trace_dir = "anyio-traces"});
  REQUIRE_FALSE(r.passed);
  CHECK(r.counterexample.preemptions >= 1);
}
