// SPDX-License-Identifier: MIT
// A realistic bug hunt: a write-ahead log whose recovery trusts every record
// to be whole (see write_ahead_log.hpp). On a real machine it passes every
// test; only a power cut between a record's write and its fsync, tearing the
// record at a block boundary, breaks it. The simulator finds that: a sweep
// of seeds runs the crash test (two clients, a power cut at a seeded moment,
// recovery, checks), reports the failing seeds, and shrinks the first one to
// its simplest schedule; the checked log (length + checksum, torn tail cut
// off) passes the same sweep. Then the same hunt on a failing disk (a fault
// plan of EIO, ENOSPC, short writes and slow operations): the naive log
// breaks another way, shrinking keeps only the two faults that bug needs,
// and the checked log, which stops after a failed put, passes. On realio
// the checked log also runs against the real filesystem: write, sync,
// close, recover.
//
// test-expect: naive log: [1-9][0-9]* of 300 seeds fail
// test-expect: never written \(a torn record\)
// test-expect: shrunk: preemptions [0-9]+ -> [0-9]+
// test-expect: checked log: 0 of 300 seeds fail
// test-expect: disk faults, naive log: [1-9][0-9]* of 100 seeds fail
// test-expect: shrunk: faults [0-9]+ -> 2 \(fs_short_write:/wal/log, fs_
// test-expect: disk faults, checked log: 0 of 100 seeds fail
// test-expect: recovered 4 keys
#include "example_main.hpp"
#include "write_ahead_log.hpp"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

namespace {

// Sweep the naive log, shrink its first failure, sweep the checked log.
void hunt_with(const std::string& traces, const char* title, std::uint64_t seeds,
               std::optional<anyio::sim::fault_plan> plan) {
  const auto naive = wal::sweep(false, traces, seeds, plan);
  std::printf("%snaive log: %zu of %llu seeds fail\n", title, naive.failures.size(),
              static_cast<unsigned long long>(naive.seeds_run));
  if (!naive.failures.empty()) {
    const auto& first = naive.failures.front();
    std::printf("first failing seed %llu: %s\n", static_cast<unsigned long long>(first.seed),
                first.message.c_str());
    anyio::sim::shrink_options so;
    so.progress = false;
    auto body = [plan]() {
      return plan ? wal::crash_test_under(*plan, false) : wal::crash_test(false);
    };
    const auto shrunk =
        anyio::sim::shrink(body, first.trace_path, traces + "/shrunk.jsonl", so);
    std::printf("shrunk: %s (%s)\n", shrunk.summary().c_str(), shrunk.message.c_str());
  }
  const auto checked = wal::sweep(true, traces, seeds, plan);
  std::printf("%schecked log: %zu of %llu seeds fail\n", title, checked.failures.size(),
              static_cast<unsigned long long>(checked.seeds_run));
}

// The hunt runs many simulated runs, so it runs outside amain's own run.
void hunt() {
  const std::string traces = (std::filesystem::temp_directory_path() /
                              ("anyio-wal-" + std::to_string(::getpid())))
                                 .string();
  std::filesystem::create_directories(traces);
  hunt_with(traces, "", 300, std::nullopt);
  hunt_with(traces, "disk faults, ", 100, wal::disk_faults());
  std::error_code ignored;
  std::filesystem::remove_all(traces, ignored);
}

// The checked log on the backend the example runs on: a clean restart.
anyio::task<> amain() {
  const anyio::path dir =
      anyio::path("/tmp") / ("anyio-wal-example-" + std::to_string(::getpid()));
  co_await dir.mkdir({.parents = true, .exist_ok = true});
  {
    wal::log l((dir / "log").str(), true);
    co_await l.open();
    for (int i = 0; i < 20; ++i) co_await l.put("k" + std::to_string(i % 4), std::to_string(i));
    co_await l.close();
  }
  wal::log again((dir / "log").str(), true);
  const auto table = co_await again.recover();
  std::printf("recovered %zu keys, k3 = %s\n", table.size(), table.at("k3").c_str());
  co_await (dir / "log").unlink();
  co_await dir.rmdir();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    hunt();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the hunt failed: %s\n", e.what());
    return 1;
  }
  return anyio_examples::run_example(argc, argv, amain);
}
