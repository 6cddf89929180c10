// SPDX-License-Identifier: MIT
// Sweeps that stay readable when a bug fails most seeds: failure_pattern
// (how sweeps group failures and shrinking matches them), max_traces,
// max_failures and the on_failure / on_progress callbacks of sim::sweep.
#include <anyio/testing/catch.hpp>

#include "lost_update.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace {

anyio::task<> lost_update() { return lost_update_fixture::run(); }

}  // namespace

TEST_CASE("failure_pattern: numbers are masked, source line numbers kept", "[sim][sweep]") {
  using anyio::sim::failure_pattern;
  CHECK(failure_pattern("worker 3 saw total 17") == "worker # saw total #");
  CHECK(failure_pattern("worker 4 saw total 9") == failure_pattern("worker 3 saw total 17"));
  CHECK(failure_pattern("bank_test.cpp:40: CHECK( total == 100 ) with expansion: 90 == 100") ==
        "bank_test.cpp:40: CHECK( total == # ) with expansion: # == #");
  CHECK(failure_pattern("a.cpp:40: x") != failure_pattern("a.cpp:41: x"));
  CHECK(failure_pattern("at time 12:30") == "at time #:#");
  CHECK(failure_pattern("") == "");
}

TEST_CASE("sweep: max_traces, max_failures and the callbacks", "[sim][sweep]") {
  const fs::path dir = fs::temp_directory_path() / "anyio-sweep-limits-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  anyio::sim::sweep_options opts;
  opts.seeds = {0, 200};
  opts.trace_dir = dir.string();
  opts.test_name = "lost-update";
  opts.max_traces = 2;
  std::uint64_t reported = 0, progress_calls = 0, last_done = 0;
  opts.on_failure = [&](const anyio::sim::sweep_failure& f) {
    ++reported;
    CHECK(f.message.rfind("lost update: counter is ", 0) == 0);
  };
  opts.on_progress = [&](std::uint64_t done, std::uint64_t total, std::uint64_t) {
    ++progress_calls;
    CHECK(done == last_done + 1);
    CHECK(total == 200);
    last_done = done;
  };
  anyio::sim::sweep_summary all = anyio::sim::sweep(lost_update, opts);
  REQUIRE(all.failures.size() > 2);
  CHECK(reported == all.failures.size());
  CHECK(progress_calls == 200);
  std::size_t traced = 0;
  for (const auto& f : all.failures) traced += f.trace_path.empty() ? 0 : 1;
  CHECK(traced == 2);
  CHECK(!all.failures[0].trace_path.empty());
  CHECK(fs::exists(all.failures[1].trace_path));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 2);

  opts.max_failures = 3;
  opts.on_failure = nullptr;
  opts.on_progress = nullptr;
  opts.progress = false;
  anyio::sim::sweep_summary stopped = anyio::sim::sweep(lost_update, opts);
  CHECK(stopped.failures.size() == 3);
  CHECK(stopped.failures.back().seed == all.failures[2].seed);
  CHECK(stopped.seeds_run == all.failures[2].seed + 1);
  fs::remove_all(dir);
}
