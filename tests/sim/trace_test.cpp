// SPDX-License-Identifier: MIT
// Traces: every sim run can write one; it parses back with every field;
// a replay of the unchanged program reproduces it byte for byte; a changed
// program stops at the first divergent event; the determinism check catches
// real nondeterminism; liveness limits end the run with a trace.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <unordered_set>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  return anyio_test::temp_path("anyio-trace-test", name);
}
using anyio_test::slurp;

// Three workers share a counter across a checkpoint: a lost update bug.
int shared_counter = 0;
int step_variant = 0;  // changes the program between record and replay

anyio::task<> racy_body() {
  shared_counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon(anyio::task_name("worker-" + std::to_string(i)), []() -> anyio::task<> {
        int seen = shared_counter;
        co_await anyio::checkpoint();
        if (step_variant == 1) co_await anyio::checkpoint();
        shared_counter = seen + 1;
      });
    co_await anyio::sleep(1s);
  });
  if (shared_counter != 3) throw std::runtime_error("lost update: counter is " +
                                                    std::to_string(shared_counter));
}

}  // namespace

TEST_CASE("trace: a run writes a trace that parses back", "[sim][trace]") {
  std::string path = temp_path("parse.jsonl");
  step_variant = 0;
  anyio::sim::options opts;
  opts.seed = 3;
  opts.trace_path = path;
  opts.test_name = "racy";
  auto r = anyio::sim::run_body(racy_body, opts);
  anyio::sim::trace t = anyio::sim::read_trace(path);
  REQUIRE(t.header.test == "racy");
  REQUIRE(t.header.seed == 3);
  REQUIRE(t.header.strategy == "random");
  REQUIRE(t.outcome.kind == r.outcome);
  REQUIRE(t.outcome.steps == r.steps);
  std::size_t spawns = 0, decisions = 0, clocks = 0;
  for (const auto& e : t.events) {
    spawns += e.kind == "spawn";
    decisions += e.kind == "decide";
    clocks += e.kind == "clock";
  }
  REQUIRE(spawns == 4);
  REQUIRE(decisions > 0);
  REQUIRE(clocks == 1);  // the one jump to t=1s
  REQUIRE(t.outcome.time == 1'000'000'000);
}

TEST_CASE("trace: replay of the unchanged program is byte for byte", "[sim][trace][replay]") {
  step_variant = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    std::string original = temp_path("orig-" + std::to_string(seed) + ".jsonl");
    std::string again = temp_path("again-" + std::to_string(seed) + ".jsonl");
    anyio::sim::options opts;
    opts.seed = seed;
    opts.trace_path = original;
    auto r = anyio::sim::run_body(racy_body, opts);
    bool failed_again = false;
    try {
      anyio::sim::replay(racy_body, original, again);
    } catch (const std::runtime_error& e) {
      failed_again = std::string(e.what()).find("lost update") != std::string::npos;
    }
    REQUIRE(failed_again == !r.passed());
    REQUIRE(slurp(original) == slurp(again));
  }
}

namespace {
// Long enough to fill several of the trace file's 1 MiB buffers, so most
// lines reach the file through its writer thread.
anyio::task<> long_body() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        for (int k = 0; k < 15'000; ++k) {
          co_await anyio::checkpoint();
          if (k % 1'000 == 0) co_await anyio::sleep(1ms);
        }
      });
    co_return;
  });
}
}  // namespace

TEST_CASE("trace: a trace of many write buffers is whole and in order", "[sim][trace]") {
  const std::string first = temp_path("long-1.jsonl"), second = temp_path("long-2.jsonl");
  const std::string replayed = temp_path("long-replayed.jsonl");
  anyio::sim::options opts;
  opts.seed = 7;
  opts.trace_path = first;
  REQUIRE(anyio::sim::run_body(long_body, opts).passed());
  opts.trace_path = second;
  REQUIRE(anyio::sim::run_body(long_body, opts).passed());
  const std::string bytes = slurp(first);
  REQUIRE(bytes.size() > (std::size_t{3} << 20));
  REQUIRE(bytes == slurp(second));
  // A strict replay compares every line the run makes with the file's, in
  // order, and writes its own trace the same way.
  anyio::sim::replay(long_body, first, replayed);
  REQUIRE(slurp(replayed) == bytes);
  const anyio::sim::trace t = anyio::sim::read_trace(first);
  REQUIRE(t.outcome.kind == "passed");
  const auto lines = static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  REQUIRE(t.events.size() + 2 == lines);  // and a header and an outcome line
}

TEST_CASE("trace: a trace file that cannot be written is an error naming it", "[sim][trace]") {
  anyio::sim::options opts;
  const std::string blocker = temp_path("not-a-dir");
  opts.trace_path = blocker + "/x/trace.jsonl";
  fs::remove_all(blocker);
  std::ofstream(blocker).put('x');  // a file where a directory must go
  REQUIRE_THROWS_WITH(anyio::sim::run_body(racy_body, opts),
                      Catch::Contains("cannot write trace file '" + opts.trace_path + "'"));
  fs::remove(blocker);
  if (!fs::exists("/dev/full")) return;  // every write to it fails with ENOSPC
  opts.trace_path = "/dev/full";
  for (auto body : {racy_body, long_body}) {  // written at close; through the writer thread
    REQUIRE_THROWS_WITH(anyio::sim::run_body(body, opts),
                        Catch::Contains("writing trace file '/dev/full' failed: No space left"));
  }
}

TEST_CASE("trace: replay of a changed program names the first divergent event",
          "[sim][trace][replay]") {
  std::string path = temp_path("diverge.jsonl");
  step_variant = 0;
  anyio::sim::options opts;
  opts.seed = 5;
  opts.trace_path = path;
  (void)anyio::sim::run_body(racy_body, opts);
  step_variant = 1;  // one more checkpoint per worker
  std::optional<anyio::sim::replay_divergence> caught;
  try {
    anyio::sim::replay(racy_body, path);
  } catch (const anyio::sim::replay_divergence& e) {
    caught = e;
  }
  step_variant = 0;
  REQUIRE(caught.has_value());
  CHECK(caught->line() > 1);
  CHECK(caught->expected() != caught->actual());
  CHECK_THAT(caught->what(), Catch::Contains("diverged at line " + std::to_string(caught->line())));
  CHECK_THAT(caught->what(), Catch::Contains("expected: "));
  CHECK_THAT(caught->what(), Catch::Contains("task "));
}

TEST_CASE("trace: a divergence quotes long lines by their start and length",
          "[sim][trace][replay]") {
  // The recorded run's main task had a 300 KB name (within the line
  // limit); the program replayed calls it "main". The report shows 200
  // bytes of each line and their lengths, not 300 KB.
  const std::string path = temp_path("diverge-long.jsonl");
  step_variant = 0;
  anyio::sim::options opts;
  opts.seed = 5;
  opts.trace_path = path;
  (void)anyio::sim::run_body(racy_body, opts);
  std::string text = slurp(path);
  const std::string name = "\"name\":\"main\"";
  const std::string long_name = "\"name\":\"" + std::string(300'000, 'n') + "\"";
  for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at))
    text.replace(at, name.size(), long_name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  std::optional<anyio::sim::replay_divergence> caught;
  try {
    anyio::sim::replay(racy_body, path);
  } catch (const anyio::sim::replay_divergence& e) {
    caught = e;
  }
  REQUIRE(caught.has_value());
  const std::string what = caught->what();
  CHECK(what.size() < 1000);
  CHECK_THAT(what, Catch::Contains("expected: ") && Catch::Contains("nnnn\u2026 (300") &&
                       Catch::Contains(" bytes)\n  actual:   "));
  CHECK(caught->expected().size() > 300'000);  // the exception keeps the whole lines
}

TEST_CASE("determinism check: the same program twice passes", "[sim][determinism]") {
  step_variant = 0;
  anyio::sim::options opts;
  opts.seed = 11;
  opts.check_determinism = true;
  REQUIRE_NOTHROW(anyio::sim::run_body(racy_body, opts));
}

TEST_CASE("determinism check: catches a read of the real clock", "[sim][determinism]") {
  auto body = []() -> anyio::task<> {
    // Deliberate nondeterminism: the wall clock decides the sleep length.
    auto real = std::chrono::steady_clock::now().time_since_epoch().count();
    static long long previous = -1;
    long long pick = previous == real % 1000 ? (real + 1) % 1000 : real % 1000;
    previous = pick;
    co_await anyio::sleep(std::chrono::nanoseconds(1 + pick));
  };
  std::optional<std::string> message;
  try {
    anyio::sim::run(body, {.seed = 1, .check_determinism = true});
  } catch (const anyio::sim::nondeterminism_error& e) {
    message = e.what();
  }
  REQUIRE(message.has_value());
  CHECK_THAT(*message, Catch::Contains("nondeterminism: seed 1 ran differently"));
  CHECK_THAT(*message, Catch::Contains("\"ev\":\"clock\""));
}

TEST_CASE("determinism check: catches iteration over pointers in a hash set",
          "[sim][determinism]") {
  auto body = []() -> anyio::task<> {
    // Deliberate nondeterminism: spawn order follows the addresses of the
    // items, and where they lie differs between runs, as a real program's
    // heap does. Fixed storage laid out differently per run (rather than the
    // heap) makes the difference certain whatever the allocator, ASan's too;
    // it must be an irregular layout: a hash set of equally spaced pointers
    // iterates in the same order wherever they start and however far apart.
    static int storage[191];
    static int run = 0;
    const bool squares = run++ % 2 == 1;
    std::unordered_set<int*> set;
    for (int i = 0; i < 64; ++i) {
      int* item = &storage[squares ? (i * i) % 191 : i];  // distinct slots either way
      *item = i;
      set.insert(item);
    }
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int* p : set)
        tg.start_soon(anyio::task_name("item-" + std::to_string(*p)),
                      []() -> anyio::task<> { co_await anyio::checkpoint(); });
      co_return;
    });
  };
  std::optional<std::string> message;
  try {
    anyio::sim::run(body, {.seed = 2, .check_determinism = true});
  } catch (const anyio::sim::nondeterminism_error& e) {
    message = e.what();
  }
  REQUIRE(message.has_value());
  CHECK_THAT(*message, Catch::Contains("\"ev\":\"spawn\""));
}

TEST_CASE("liveness: max_steps ends a livelock with a clear error and a trace", "[sim]") {
  std::string path = temp_path("livelock.jsonl");
  auto spin = []() -> anyio::task<> {
    for (;;) co_await anyio::checkpoint();
  };
  anyio::sim::options opts;
  opts.seed = 1;
  opts.max_steps = 500;
  opts.trace_path = path;
  REQUIRE_THROWS_WITH(anyio::sim::run(spin, opts), Catch::Contains("exceeded max_steps (500)"));
  auto t = anyio::sim::read_trace(path);
  REQUIRE(t.outcome.kind == "error");
  REQUIRE(t.outcome.exception_type == "anyio::liveness_error");
}

TEST_CASE("liveness: max_virtual_time ends an endless timer loop", "[sim]") {
  auto ticker = []() -> anyio::task<> {
    for (;;) co_await anyio::sleep(1h);
  };
  anyio::sim::options opts;
  opts.max_virtual_time = std::chrono::hours(24 * 365);
  REQUIRE_THROWS_AS(anyio::sim::run(ticker, opts), anyio::liveness_error);
}

TEST_CASE("draws: random_below is seeded, traced and replayed", "[sim][trace]") {
  std::string path = temp_path("draws.jsonl");
  std::vector<std::uint64_t> first, second;
  auto body = [](std::vector<std::uint64_t>* out) {
    return [out]() -> anyio::task<> {
      for (int i = 0; i < 5; ++i) out->push_back(anyio::random_below(1000, "test.value"));
      co_return;
    };
  };
  anyio::sim::run(body(&first), {.seed = 9, .trace_path = path});
  anyio::sim::replay(body(&second), path);
  REQUIRE(first == second);
  auto t = anyio::sim::read_trace(path);
  std::size_t draws = 0;
  for (const auto& e : t.events) draws += e.kind == "draw" && e.purpose == "test.value";
  REQUIRE(draws == 5);
}
