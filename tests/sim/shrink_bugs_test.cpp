// SPDX-License-Identifier: MIT
// Six seeded concurrency bugs, each written against the public API the way a
// user would write it. For each: a seed sweep finds a failing run, the
// shrinker reduces it to the preemptions the bug truly needs (stated per
// bug below), the shrunk trace replays to the same failure, and a RapidCheck
// property over generated interleavings finds it with a counterexample of
// that same size. Needed preemptions, and why:
//   lost update            1  one task switched out between its read and write
//   triple stale read      2  three tasks all read 0: the first two each switched
//                             out between reading and writing
//   check-then-act          1  a producer switched out between checking the
//                             channel's statistics and sending
//   lock-order deadlock    1  A switched out holding lock 1; B then takes lock 2
//                             and blocks on 1 without a preemption
//   missed wakeup          1  the waiter switched out between testing the flag
//                             (outside the lock) and waiting on the condition
//   skipped cleanup        1  the worker switched out while holding the
//                             resource, so the waiting canceller runs and cancels
#include <anyio/memory_stream.hpp>
#include <anyio/rapidcheck.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/sync.hpp>
#include <anyio/testing/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

int counter = 0;
int stale_reads = 0;  // reads of 0 by tasks that came after the first

anyio::task<> incrementers(int n, bool all_stale) {
  counter = 0;
  stale_reads = 0;
  co_await anyio::with_task_group([n](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < n; ++i)
      tg.start_soon(anyio::task_name("incr-" + std::to_string(i)), []() -> anyio::task<> {
        co_await anyio::checkpoint();
        int seen = counter;
        if (seen == 0) ++stale_reads;
        co_await anyio::checkpoint();
        counter = seen + 1;
      });
    co_return;
  });
  if (all_stale ? stale_reads == n : counter != n)
    throw std::logic_error("lost updates: counter is " + std::to_string(counter));
}

anyio::task<> lost_update() { return incrementers(2, false); }
anyio::task<> triple_stale_read() { return incrementers(3, true); }

anyio::task<> check_then_act() {
  auto s = anyio::create_memory_object_stream<int>(1);
  auto producer = [&s](int v) -> anyio::task<> {
    // The bug: room is checked, then used after a checkpoint.
    if (s.send.statistics().current_buffer_used < 1) {
      co_await anyio::checkpoint();
      if (!s.send.try_send(v)) throw std::logic_error("buffer full after checking for room");
    }
  };
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("producer-a"), producer, 1);
    tg.start_soon(anyio::task_name("producer-b"), producer, 2);
    co_return;
  });
}

anyio::task<> lock_order() {
  anyio::lock first, second;
  auto take = [](anyio::lock& a, anyio::lock& b) -> anyio::task<> {
    auto held_a = co_await a.guard();
    co_await anyio::checkpoint();
    auto held_b = co_await b.guard();
  };
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("one-then-two"), take, std::ref(first), std::ref(second));
    tg.start_soon(anyio::task_name("two-then-one"), take, std::ref(second), std::ref(first));
    co_return;
  });
}

anyio::task<> missed_wakeup() {
  anyio::condition cond;
  bool done = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("waiter"), [&]() -> anyio::task<> {
      co_await anyio::checkpoint();
      if (!done) {  // the bug: the flag is tested without holding the lock
        co_await anyio::checkpoint();
        auto held = co_await cond.guard();
        co_await cond.wait();
      }
    });
    tg.start_soon(anyio::task_name("notifier"), [&]() -> anyio::task<> {
      co_await anyio::checkpoint();
      auto held = co_await cond.guard();
      done = true;
      cond.notify_all();
    });
    co_return;
  });
}

bool resource_held = false;

anyio::task<> skipped_cleanup() {
  resource_held = false;
  anyio::event holding;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("worker"), [&]() -> anyio::task<> {
      resource_held = true;
      holding.set();
      co_await anyio::checkpoint();  // the bug: cancellation here skips the release
      resource_held = false;
    });
    tg.start_soon(anyio::task_name("canceller"), [&]() -> anyio::task<> {
      co_await holding.wait();  // e.g. a watchdog that cancels busy work
      tg.cancel_scope().cancel();
    });
    co_return;
  });
  if (resource_held) throw std::logic_error("resource still held after cancellation");
}

struct seeded_bug {
  const char* name;
  anyio::task<> (*body)();
  std::uint64_t preemptions;  // what the bug truly needs
};

const seeded_bug bugs[] = {
    {"lost update", lost_update, 1},
    {"triple stale read", triple_stale_read, 2},
    {"check-then-act on channel statistics", check_then_act, 1},
    {"lock-order deadlock", lock_order, 1},
    {"missed wakeup", missed_wakeup, 1},
    {"cancellation skips cleanup", skipped_cleanup, 1},
};

std::string dir() {
  fs::path d = fs::temp_directory_path() / "anyio-seeded-bugs";
  fs::create_directories(d);
  return d.string();
}

std::string stem(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return s;
}

}  // namespace

TEST_CASE("seeded bugs: the non-preemptive schedule passes, so each needs preemptions",
          "[sim][shrink][bugs]") {
  for (const seeded_bug& bug : bugs) {
    INFO(bug.name);
    anyio::sim::options opts;
    opts.strategy = anyio::sim::strategy::replay;  // an empty decision list: never preempt
    CHECK(anyio::sim::run_body(bug.body, opts).passed());
  }
}

TEST_CASE("seeded bugs: found by a sweep and shrunk to the preemptions they need",
          "[sim][shrink][bugs]") {
  for (const seeded_bug& bug : bugs) {
    INFO(bug.name);
    anyio::sim::sweep_options sweep;
    sweep.seeds = {0, 2000};
    sweep.trace_dir = dir();
    sweep.test_name = stem(bug.name);
    sweep.stop_at_first_failure = true;
    sweep.progress = false;
    auto found = anyio::sim::sweep(bug.body, sweep);
    REQUIRE(found.failures.size() == 1);
    const std::string trace = found.failures[0].trace_path;
    const std::string minimal = dir() + "/" + stem(bug.name) + ".min.jsonl";
    auto r = anyio::sim::shrink(bug.body, trace, minimal, {.progress = false});
    INFO("seed " << found.failures[0].seed << ": preemptions " << r.before.preemptions << " -> "
                 << r.after.preemptions << ", steps " << r.before.steps << " -> "
                 << r.after.steps << ", decisions " << r.before.decisions << " -> "
                 << r.after.decisions << " in " << r.runs << " runs");
    CHECK(r.after.preemptions == bug.preemptions);
    std::printf("%-40s preemptions %2llu -> %llu, steps %3llu -> %3llu, decisions %2llu -> %llu"
                " (%llu runs)\n",
                bug.name, static_cast<unsigned long long>(r.before.preemptions),
                static_cast<unsigned long long>(r.after.preemptions),
                static_cast<unsigned long long>(r.before.steps),
                static_cast<unsigned long long>(r.after.steps),
                static_cast<unsigned long long>(r.before.decisions),
                static_cast<unsigned long long>(r.after.decisions),
                static_cast<unsigned long long>(r.runs));
    CHECK(r.after.preemptions <= r.before.preemptions);
    CHECK(r.after.steps <= r.before.steps);
    // The minimal trace replays strictly and ends the same way.
    auto original = anyio::sim::read_trace(trace);
    auto shrunk = anyio::sim::read_trace(minimal);
    CHECK(shrunk.outcome.kind == original.outcome.kind);
    CHECK(shrunk.outcome.exception_type == original.outcome.exception_type);
    std::string out = minimal + ".again";
    anyio::sim::options replay = anyio::sim::detail::replay_options_for(minimal);
    replay.trace_path = out;
    (void)anyio::sim::run_body(bug.body, replay);  // throws replay_divergence on a mismatch
  }
}

TEST_CASE("seeded bugs: RapidCheck finds each with a minimal counterexample",
          "[sim][rapidcheck][bugs]") {
  for (const seeded_bug& bug : bugs) {
    INFO(bug.name);
    auto r = anyio::rc::check_interleavings(bug.name, bug.body, {.trace_dir = dir()});
    REQUIRE_FALSE(r.passed);
    CHECK(r.counterexample.preemptions == bug.preemptions);
  }
}
