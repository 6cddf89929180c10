// SPDX-License-Identifier: MIT
// The write-ahead-log example (examples/write_ahead_log.hpp) as a test: a
// sweep of power cuts finds seeds where the naive log's recovery returns a
// torn record as a value, a failing seed shrinks and its minimal trace
// replays to the same failure, and the checked log passes the same sweep.
#include "examples/write_ahead_log.hpp"

#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <filesystem>
#include <string>

namespace {

anyio::sim::sweep_summary sweep_log(bool checked, const std::string& trace_dir) {
  anyio::sim::sweep_options opts;
  opts.seeds = {0, 300};
  opts.test_name = checked ? "wal checked" : "wal naive";
  opts.trace_dir = trace_dir;
  opts.max_traces = 1;
  opts.progress = false;
  return anyio::sim::sweep([checked] { return wal::crash_test(checked); }, opts);
}

}  // namespace

TEST_CASE("sim files: a sweep finds the naive log's torn-record bug, the checked log passes",
          "[sim][file][wal]") {
  const std::string dir = anyio_test::temp_path("anyio-file-wal-test", "traces");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto naive = sweep_log(false, dir);
  CHECK(naive.seeds_run == 300);
  REQUIRE_FALSE(naive.failures.empty());
  CHECK(naive.failures.size() < 300);  // only some power cuts tear a record
  const auto& first = naive.failures.front();
  const bool torn = first.message.find("never written (a torn record)") != std::string::npos ||
                    first.message.find("malformed record") != std::string::npos;
  CHECK(torn);
  REQUIRE_FALSE(first.trace_path.empty());

  // Shrink it; the minimal trace replays to the same failure.
  anyio::sim::shrink_options so;
  so.progress = false;
  const std::string minimal = dir + "/minimal.jsonl";
  const auto shrunk =
      anyio::sim::shrink([] { return wal::crash_test(false); }, first.trace_path, minimal, so);
  CHECK(shrunk.after.preemptions <= shrunk.before.preemptions);
  CHECK(shrunk.exception_type == first.exception_type);
  anyio::sim::options replay;
  replay.strategy = anyio::sim::strategy::replay;
  replay.replay_path = minimal;
  const auto again = anyio::sim::run_body([] { return wal::crash_test(false); }, replay);
  CHECK(again.outcome == "failed");
  CHECK(anyio::sim::failure_pattern(again.message) == anyio::sim::failure_pattern(first.message));

  // The checked log: every seed recovers every acknowledged write.
  const auto checked = sweep_log(true, dir);
  CHECK(checked.seeds_run == 300);
  CHECK(checked.failures.empty());
  std::filesystem::remove_all(dir);
}
