// SPDX-License-Identifier: MIT
// Schedule-level features of the simulator: what counts as a preemption
// (CHESS: a switch away from a task that yielded and could go on, not from
// one that blocked, even if it woke at once), counted in every run and
// carried by sweep failures; cancel points that are only checks and
// abortable waits; the bounded exhaustive search (every schedule within P
// preemptions, counted by hand below); PCT's run length estimated from the
// test itself.
#include <anyio/instrument.hpp>
#include <anyio/sync.hpp>
#include <anyio/testing/catch.hpp>

#include "lost_update.hpp"
#include "temp_files.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using anyio_test::temp_path;

namespace {

// A task that blocks three times, each time woken in the same virtual
// instant by its scope's zero deadline: it never yields while runnable.
anyio::task<> park_and_wake() {
  for (int i = 0; i < 3; ++i) {
    auto scope = anyio::move_on_after(0s);
    co_await scope.run([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
  }
}

anyio::task<> two_parkers() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(park_and_wake);
    tg.start_soon(park_and_wake);
    co_return;
  });
}

anyio::task<> yield_three_times() {
  for (int i = 0; i < 3; ++i) co_await anyio::checkpoint();
}

anyio::task<> two_yielders() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(yield_three_times);
    tg.start_soon(yield_three_times);
    co_return;
  });
}

}  // namespace

TEST_CASE("a task that blocked and woke at once is not preempted", "[sim][preemption]") {
  std::uint64_t decisions = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    // Traced: the old count, which looked for the previous task among the
    // last ready ones, counted these (only in traced runs).
    anyio::sim::options o{.seed = seed};
    o.trace_path = temp_path("anyio-preemption-parkers", std::to_string(seed) + ".jsonl");
    anyio::sim::run_result r = anyio::sim::run_body(two_parkers, o);
    REQUIRE(r.passed());
    decisions += r.decisions;
    INFO("seed " << seed);
    CHECK(r.preemptions == 0);
  }
  CHECK(decisions > 40);  // there were choices, just no preemptions
}

TEST_CASE("preemptions are counted in every run, traced or not", "[sim][preemption]") {
  std::uint64_t total = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    anyio::sim::run_result plain = anyio::sim::run_body(two_yielders, {.seed = seed});
    anyio::sim::options traced{.seed = seed};
    traced.trace_path = temp_path("anyio-preemption-count", std::to_string(seed) + ".jsonl");
    anyio::sim::run_result with_trace = anyio::sim::run_body(two_yielders, traced);
    INFO("seed " << seed);
    CHECK(plain.preemptions == with_trace.preemptions);
    CHECK(plain.decisions == with_trace.decisions);
    total += plain.preemptions;
  }
  CHECK(total > 0);  // yielding tasks are preempted under random scheduling
}

namespace {

anyio::task<> lost_update() { return lost_update_fixture::run(); }

}  // namespace

TEST_CASE("sweep failures carry their step and preemption counts", "[sim][preemption][sweep]") {
  anyio::sim::sweep_options o;
  o.seeds = {0, 30};
  o.progress = false;
  anyio::sim::sweep_summary s = anyio::sim::sweep(lost_update, o);
  REQUIRE(!s.failures.empty());
  for (const anyio::sim::sweep_failure& f : s.failures) {
    CHECK(f.steps > 0);
    CHECK(f.preemptions >= 1);  // the bug needs one
  }
  anyio::sim::sweep_summary back = anyio::sim::sweep_summary::from_json(s.to_json());
  REQUIRE(back.failures.size() == s.failures.size());
  CHECK(back.failures[0].steps == s.failures[0].steps);
  CHECK(back.failures[0].preemptions == s.failures[0].preemptions);
}

namespace {

// Records which waits were announced as cancel points.
struct cancel_point_log final : anyio::instrument {
  bool pending = false;  // a cancel_point event not yet followed by anything
  std::vector<std::string> abortable{};
  std::vector<std::string> unabortable{};
  std::uint64_t checks = 0;
  void on_event(const anyio::kernel_event& e) override {
    if (e.kind == anyio::event_kind::cancel_point) {
      if (pending) ++checks;  // the previous one was a check, not a wait
      pending = true;
      return;
    }
    if (e.kind == anyio::event_kind::park)
      (pending ? abortable : unabortable).emplace_back(e.detail);
    else if (pending)
      ++checks;
    pending = false;
  }
};

anyio::task<> serve(anyio::task_status<int>& status) {
  co_await anyio::checkpoint();
  status.started(1);
}

anyio::task<> waits_of_every_kind() {
  anyio::lock lock;
  anyio::condition cond(lock);
  anyio::event ev;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    (void)co_await tg.start(serve);  // start()'s wait
    tg.start_soon([&]() -> anyio::task<> {
      co_await lock.acquire();
      auto scope = anyio::move_on_after(1s);
      // Cancelled at 1s while the other task holds the lock: re-acquiring
      // it is a wait nothing can abort.
      co_await scope.run([&]() -> anyio::task<> { co_await cond.wait(); });
      lock.release();
      ev.set();
    });
    tg.start_soon([&]() -> anyio::task<> {
      while (cond.statistics().tasks_waiting == 0) co_await anyio::checkpoint();
      co_await lock.acquire();
      co_await anyio::sleep(2s);
      lock.release();
    });
    tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep(3s); });
    co_await ev.wait();
  });  // the group's join: the sleeper is still running
}

bool contains(const std::vector<std::string>& v, std::string_view what) {
  for (const std::string& s : v)
    if (s.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("only checks and abortable waits are cancel points", "[sim][explore]") {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    cancel_point_log log;
    anyio::sim::run(waits_of_every_kind, {.seed = seed, .observer = &log});
    INFO("seed " << seed);
    CHECK(log.checks > 0);
    CHECK(contains(log.abortable, "anyio::event::wait"));
    CHECK(contains(log.abortable, "anyio::condition::wait"));
    CHECK(!contains(log.abortable, "task_group"));
    CHECK(!contains(log.abortable, "re-acquiring"));
    CHECK(contains(log.unabortable, "re-acquiring"));
    CHECK(contains(log.unabortable, "task_group::start"));
    CHECK(contains(log.unabortable, "task_group: waiting for children"));
  }
}

TEST_CASE("explore_cancellation runs once per check or abortable wait", "[sim][explore]") {
  cancel_point_log log;
  anyio::sim::run(waits_of_every_kind, {.seed = 3, .observer = &log});
  const std::uint64_t points = log.checks + log.abortable.size() + (log.pending ? 1 : 0);
  anyio::sim::explore_options o;
  o.seed = 3;
  anyio::sim::explore_result r = anyio::sim::explore_cancellation(waits_of_every_kind, o);
  // The explore body runs inside one more scope; its points are the body's.
  CHECK(r.points == points);
  CHECK(r.runs == r.points + 1);
}

namespace {

std::string order;

anyio::task<> two_segments(char first, char second) {
  order += first;
  co_await anyio::checkpoint();
  order += second;
}

// Two tasks of two segments each: six interleavings. By hand: the first
// choice is free (the main task blocked on the join); after a segment that
// yields, running the other task is a preemption; a finished task's
// successor is free. 0 preemptions: aAbB, bBaA; 1: abBA, baAB; 2: abAB, baBA.
anyio::task<> interleave() {
  order.clear();
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(two_segments, 'a', 'A');
    tg.start_soon(two_segments, 'b', 'B');
    co_return;
  });
}

// Fails only for abAB: a needs two preemptions.
anyio::task<> interleave_with_bug() {
  co_await interleave();
  if (order == "abAB") throw std::logic_error("ordering bug: abAB");
}

}  // namespace

TEST_CASE("exhaustive search enumerates every schedule within the bound", "[sim][exhaustive]") {
  const std::uint64_t expected[] = {2, 4, 6, 6};
  for (int bound = 0; bound <= 3; ++bound) {
    std::vector<std::string> seen;
    anyio::sim::body_fn body = [&]() -> anyio::task<> {
      co_await interleave();
      seen.push_back(order);
    };
    anyio::sim::schedule_result r =
        anyio::sim::explore_schedules(body, {.preemption_bound = bound});
    INFO("bound " << bound << ": " << r.summary(bound));
    CHECK(r.schedules == expected[bound]);
    CHECK(r.covered);
    CHECK(r.failures.empty());
    CHECK(r.max_preemptions == static_cast<std::uint64_t>(std::min(bound, 2)));
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());  // all distinct
    CHECK(seen.size() == expected[bound]);
  }
}

TEST_CASE("exhaustive search finds a 2-preemption bug with bound 2, not 1", "[sim][exhaustive]") {
  const std::string dir =
      std::filesystem::path(temp_path("anyio-exhaustive", "x")).parent_path().string();
  anyio::sim::schedule_result one =
      anyio::sim::explore_schedules(interleave_with_bug, {.preemption_bound = 1});
  CHECK(one.covered);
  CHECK(one.failures.empty());
  CHECK(one.summary(1) == "4 schedules within 1 preemption: covered, no failure");

  anyio::sim::schedule_options o{.preemption_bound = 2};
  o.trace_dir = dir;
  o.test_name = "exhaustive bug";
  anyio::sim::schedule_result two = anyio::sim::explore_schedules(interleave_with_bug, o);
  CHECK(two.covered);
  REQUIRE(two.failures.size() == 1);
  const anyio::sim::run_result& f = two.failures[0].result;
  CHECK(f.preemptions == 2);
  CHECK(f.message == "ordering bug: abAB");
  REQUIRE(std::filesystem::exists(f.trace_path));
  // The failing schedule's trace replays to the same failure...
  anyio::sim::options replay;
  replay.replay_path = f.trace_path;
  anyio::sim::run_result again = anyio::sim::run_body(interleave_with_bug, replay);
  CHECK(again.message == "ordering bug: abAB");
  CHECK(anyio::sim::trace_reader(f.trace_path).header().strategy == "exhaustive");
  // ...and shrinks (it is already minimal: two preemptions are needed).
  anyio::sim::shrink_result s = anyio::sim::shrink(interleave_with_bug, f.trace_path,
                                                   dir + "/min.jsonl", {.progress = false});
  CHECK(s.after.preemptions == 2);
}

TEST_CASE("exhaustive search says when it did not cover the space", "[sim][exhaustive]") {
  anyio::sim::schedule_result r =
      anyio::sim::explore_schedules(interleave, {.preemption_bound = 2, .max_schedules = 3});
  CHECK(r.schedules == 3);
  CHECK(!r.covered);
  CHECK(r.summary(2) ==
        "3 schedules within 2 preemptions: NOT covered (stopped early), no failure");
  CHECK_THROWS_WITH(anyio::sim::explore_schedules(interleave, {.preemption_bound = -1}),
                    Catch::Contains("preemption_bound must not be negative"));
}

TEST_CASE("a sweep with the exhaustive strategy reports the schedules and coverage",
          "[sim][exhaustive][sweep]") {
  anyio::sim::sweep_options o;
  o.strategy = anyio::sim::strategy::exhaustive;
  o.preemption_bound = 2;
  o.progress = false;
  anyio::sim::sweep_summary s = anyio::sim::sweep(interleave_with_bug, o);
  CHECK(s.seeds_run == 6);
  CHECK(s.covered);
  REQUIRE(s.failures.size() == 1);
  CHECK(s.failures[0].preemptions == 2);
  anyio::sim::sweep_summary back = anyio::sim::sweep_summary::from_json(s.to_json());
  CHECK(back.covered);
  CHECK(back.preemption_bound == 2);
}

namespace {

// A short run (about ten steps) with a one-preemption bug.
std::uint64_t pct_failures(std::uint64_t pct_steps) {
  anyio::sim::sweep_options o;
  o.seeds = {0, 100};
  o.strategy = anyio::sim::strategy::pct;
  o.pct_depth = 2;
  o.pct_steps = pct_steps;  // 0: estimated from the test
  o.progress = false;
  return anyio::sim::sweep(lost_update, o).failures.size();
}

}  // namespace

TEST_CASE("pct estimates the run length, so short-run bugs are found", "[sim][pct]") {
  const std::uint64_t estimated = pct_failures(0);
  const std::uint64_t fixed = pct_failures(1000);  // the old default
  std::printf("lost update in 100 pct schedules: %llu found with k estimated, %llu with k=1000\n",
              static_cast<unsigned long long>(estimated), static_cast<unsigned long long>(fixed));
  CHECK(estimated >= 10);
  CHECK(fixed * 5 < estimated);
  // A single run must be given k: 0 is only meaningful to a sweep.
  CHECK_THROWS_WITH(anyio::sim::run_body(lost_update, {.strategy = anyio::sim::strategy::pct,
                                                       .pct_steps = 0}),
                    Catch::Contains("pct_steps must be at least 1"));
}

TEST_CASE("strategy options on the command line", "[sim][harness]") {
  anyio::testing::harness_mode saved = anyio::testing::mode();
  auto parse = [](std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>("tests")};
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(argv.size()) - 1;
    anyio::testing::parse_harness_args(argc, argv.data());
    return argc;
  };
  CHECK(parse({"--strategy", "pct", "--pct-depth", "4", "--pct-steps", "30", "case"}) == 2);
  CHECK(anyio::testing::mode().strategy == anyio::sim::strategy::pct);
  CHECK(anyio::testing::mode().pct_depth == 4);
  CHECK(anyio::testing::mode().pct_steps == 30);
  CHECK(parse({"--strategy", "exhaustive", "--preemption-bound", "3"}) == 1);
  CHECK(anyio::testing::mode().strategy == anyio::sim::strategy::exhaustive);
  CHECK(anyio::testing::mode().preemption_bound == 3);
  CHECK_THROWS_WITH(parse({"--pct-depth", "0"}), Catch::Contains("--pct-depth: expected 1..1000"));
  CHECK_THROWS_WITH(parse({"--pct-steps", "0"}), Catch::Contains("--pct-steps: expected at least"));
  CHECK_THROWS_WITH(parse({"--preemption-bound", "-1"}),
                    Catch::Contains("expected a non-negative integer"));
  CHECK_THROWS_WITH(parse({"--strategy", "chess"}),
                    Catch::Contains("unknown sim strategy 'chess'"));
  anyio::testing::mode() = saved;
}
