// SPDX-License-Identifier: MIT
// A realistic bug hunt: a write-ahead log whose recovery trusts every record
// to be whole (see write_ahead_log.hpp). On a real machine it passes every
// test; only a power cut between a record's write and its fsync, tearing the
// record at a block boundary, breaks it. The simulator finds that: a sweep
// of seeds runs the crash test (two clients, a power cut at a seeded moment,
// recovery, checks), reports the failing seeds, and shrinks the first one to
// its simplest schedule; the checked log (length + checksum, torn tail cut
// off) passes the same sweep. On realio the checked log also runs against
// the real filesystem: write, sync, close, recover.
//
// test-expect: naive log: [1-9][0-9]* of 300 seeds fail
// test-expect: never written \(a torn record\)
// test-expect: shrunk: preemptions [0-9]+ -> [0-9]+
// test-expect: checked log: 0 of 300 seeds fail
// test-expect: recovered 4 keys
#include "example_main.hpp"
#include "write_ahead_log.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

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

// The hunt runs many simulated runs, so it runs outside amain's own run.
void hunt() {
  const std::string traces = (std::filesystem::temp_directory_path() /
                              ("anyio-wal-" + std::to_string(::getpid())))
                                 .string();
  std::filesystem::create_directories(traces);
  const auto naive = sweep_log(false, traces);
  std::printf("naive log: %zu of %llu seeds fail\n", naive.failures.size(),
              static_cast<unsigned long long>(naive.seeds_run));
  if (!naive.failures.empty()) {
    const auto& first = naive.failures.front();
    std::printf("first failing seed %llu: %s\n", static_cast<unsigned long long>(first.seed),
                first.message.c_str());
    anyio::sim::shrink_options so;
    so.progress = false;
    const auto shrunk = anyio::sim::shrink([] { return wal::crash_test(false); },
                                           first.trace_path, traces + "/shrunk.jsonl", so);
    std::printf("shrunk: %s (%s)\n", shrunk.summary().c_str(), shrunk.message.c_str());
  }
  const auto checked = sweep_log(true, traces);
  std::printf("checked log: %zu of %llu seeds fail\n", checked.failures.size(),
              static_cast<unsigned long long>(checked.seeds_run));
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
