// SPDX-License-Identifier: MIT
// The write-ahead-log example (examples/write_ahead_log.hpp) as a test: a
// sweep of power cuts finds seeds where the naive log's recovery returns a
// torn record as a value, a failing seed shrinks and its minimal trace
// replays to the same failure, and the checked log passes the same sweep.
// Under a plan of disk faults the naive log fails another way (a write cut
// short, then failing, leaves part of a record that the next one follows),
// and shrinking removes every fault but the two the bug needs.
#include "examples/write_ahead_log.hpp"

#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <filesystem>
#include <string>

namespace {

/// The fault decisions of a trace that injected a fault, as
/// "purpose=value" (shrink keeps the others at 0).
std::vector<std::string> injected(const std::string& trace) {
  std::vector<std::string> out;
  anyio::sim::trace_reader r(trace);
  while (const anyio::sim::trace_event* e = r.next())
    if (e->kind == "draw" && e->purpose.rfind("fault:", 0) == 0 && e->value != 0)
      out.push_back(e->purpose + "=" + std::to_string(e->value));
  return out;
}

}  // namespace

TEST_CASE("sim files: a sweep finds the naive log's torn-record bug, the checked log passes",
          "[sim][file][wal]") {
  const std::string dir = anyio_test::temp_path("anyio-file-wal-test", "traces");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto naive = wal::sweep(false, dir);
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
  const auto checked = wal::sweep(true, dir);
  CHECK(checked.seeds_run == 300);
  CHECK(checked.failures.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("sim files: disk faults shrink to the two the naive log's bug needs",
          "[sim][file][wal][faults]") {
  const std::string dir = anyio_test::temp_path("anyio-file-wal-faults", "traces");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const anyio::sim::fault_plan plan = wal::disk_faults();
  const auto naive = wal::sweep(false, dir, 100, plan);
  REQUIRE_FALSE(naive.failures.empty());
  const auto& first = naive.failures.front();
  INFO("seed " << first.seed << ": " << first.message);
  REQUIRE_FALSE(first.trace_path.empty());
  const std::size_t faults_before = injected(first.trace_path).size();

  auto body = [plan] { return wal::crash_test_under(plan, false); };
  anyio::sim::shrink_options so;
  so.progress = false;
  const std::string minimal = dir + "/minimal.jsonl";
  const auto shrunk = anyio::sim::shrink(body, first.trace_path, minimal, so);
  INFO(shrunk.summary());
  CHECK(shrunk.before.faults == faults_before);
  CHECK(shrunk.before.faults > 2);
  // What is left: one write cut short and the write that fails after it,
  // both on the log.
  CHECK(shrunk.after.faults == 2);
  CHECK(shrunk.after.fault_strength < shrunk.before.fault_strength);
  REQUIRE(shrunk.faults.size() == 2);
  CHECK(shrunk.faults[0] == "fs_short_write:/wal/log");
  const bool fails_after = shrunk.faults[1] == "fs_write_error:/wal/log" ||
                           shrunk.faults[1] == "fs_no_space:/wal/log";
  CHECK(fails_after);
  CHECK(shrunk.summary().find("faults " + std::to_string(faults_before) + " -> 2 (") == 0);
  CHECK(injected(minimal).size() == 2);

  // The minimal trace fails again on replay, the same way.
  anyio::sim::options replay;
  replay.strategy = anyio::sim::strategy::replay;
  replay.replay_path = minimal;
  const auto again = anyio::sim::run_body(body, replay);
  CHECK(again.outcome == "failed");
  CHECK(anyio::sim::failure_pattern(again.message) == anyio::sim::failure_pattern(first.message));

  // The checked log stops after a failed put: it passes the same faults.
  const auto checked = wal::sweep(true, dir, 100, plan);
  INFO((checked.failures.empty() ? std::string() : checked.failures.front().message));
  CHECK(checked.failures.empty());
  std::filesystem::remove_all(dir);
}
