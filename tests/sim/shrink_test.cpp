// SPDX-License-Identifier: MIT
// Shrinking: failing runs of seeded bugs, found by sweeping seeds, shrink to
// the fewest preemptions the bug truly needs, and the shrunk trace replays
// to the same failure. (More seeded bugs — channels, locks, events — are in
// shrink_bugs_test.cpp.)
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  fs::path dir = fs::temp_directory_path() / "anyio-shrink-test";
  fs::create_directories(dir);
  return dir.string();
}

// The first failing seed of `body`, traced to a file.
std::string failing_trace(const anyio::sim::body_fn& body, const std::string& name) {
  for (std::uint64_t seed = 0; seed < 5000; ++seed) {
    anyio::sim::options opts;
    opts.seed = seed;
    opts.test_name = name;
    if (anyio::sim::run_body(body, opts).passed()) continue;
    opts.trace_path = temp_dir() + "/" + name + "-seed" + std::to_string(seed) + ".jsonl";
    (void)anyio::sim::run_body(body, opts);
    return opts.trace_path;
  }
  throw std::runtime_error("no failing seed for " + name);
}

int counter = 0;

anyio::task<> lost_update() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i)
      tg.start_soon(anyio::task_name("incr-" + std::to_string(i)), []() -> anyio::task<> {
        for (int k = 0; k < 3; ++k) co_await anyio::checkpoint();  // unrelated work
        int seen = counter;
        co_await anyio::checkpoint();  // the bug: a switch here loses an update
        counter = seen + 1;
        for (int k = 0; k < 3; ++k) co_await anyio::checkpoint();
      });
    co_return;
  });
  if (counter != 4) throw std::logic_error("lost update: counter is " + std::to_string(counter));
}

}  // namespace

TEST_CASE("shrink: a lost update shrinks to the one preemption it needs", "[sim][shrink]") {
  std::string trace = failing_trace(lost_update, "lost-update");
  std::string out = temp_dir() + "/lost-update-min.jsonl";
  auto r = anyio::sim::shrink(lost_update, trace, out, {.progress = false});
  INFO("before: " << r.before.preemptions << " preemptions, " << r.before.steps << " steps, "
                  << r.before.decisions << " decisions; after: " << r.after.preemptions << ", "
                  << r.after.steps << ", " << r.after.decisions << " in " << r.runs << " runs");
  CHECK(r.before.preemptions > 1);
  CHECK(r.after.preemptions == 1);
  CHECK(r.after.steps <= r.before.steps);
  CHECK(r.message.find("lost update") != std::string::npos);
  // The shrunk trace replays, strictly, to the same failure.
  std::string replayed;
  try {
    anyio::sim::replay(lost_update, out);
  } catch (const std::logic_error& e) {
    replayed = e.what();
  }
  CHECK(replayed == r.message);
  auto t = anyio::sim::read_trace(out);
  CHECK(t.header.strategy == "replay");
  CHECK(t.outcome.kind == "failed");
}

TEST_CASE("shrink: a passing trace is refused with a clear error", "[sim][shrink]") {
  std::string path = temp_dir() + "/passing.jsonl";
  auto body = []() -> anyio::task<> { co_await anyio::checkpoint(); };
  anyio::sim::run_body(body, {.trace_path = path});
  REQUIRE_THROWS_WITH(anyio::sim::shrink(body, path, path + ".min"),
                      Catch::Contains("records a passing run"));
}
