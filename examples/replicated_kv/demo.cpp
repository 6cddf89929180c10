// SPDX-License-Identifier: MIT
// The simulated-world demo (docs/simulated-world.md): sweeps seeds of the
// replicated key set (kv.hpp) under a swarmed plan of crashes and
// partitions, and for the first failing seed writes its trace, replays it
// and shrinks it to the faults the bug needs. `--fixed` sweeps the fixed
// version instead; `--seeds N` sets how many seeds (default 1000).
#include "kv.hpp"

#include <anyio/sim.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  bool fixed = false;
  std::uint64_t seeds = 1000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--fixed") == 0) {
      fixed = true;
    } else if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
      seeds = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--fixed] [--seeds N]\n", argv[0]);
      return 2;
    }
  }
  auto body = [fixed]() { return kv::scenario(fixed, kv::demo_plan()); };
  const std::string dir = (std::filesystem::temp_directory_path() / "anyio-kv-demo").string();
  std::filesystem::create_directories(dir);
  anyio::sim::sweep_options so;
  so.seeds = {0, seeds};
  so.trace_dir = dir;
  so.test_name = fixed ? "kv_fixed" : "kv";
  so.stop_at_first_failure = true;
  so.progress = false;
  const auto summary = anyio::sim::sweep(body, so);
  if (summary.failures.empty()) {
    std::printf("%s: %llu seeds passed\n", so.test_name.c_str(),
                static_cast<unsigned long long>(summary.seeds_run));
    return 0;
  }
  const auto& f = summary.failures[0];
  std::printf("seed %llu fails: %s\ntrace: %s\n", static_cast<unsigned long long>(f.seed),
              f.message.c_str(), f.trace_path.c_str());
  try {
    anyio::sim::replay(body, f.trace_path);
  } catch (const std::exception& e) {
    std::printf("the replay fails the same way: %s\n", e.what());
  }
  anyio::sim::shrink_options sh;
  sh.progress = false;
  const auto shrunk = anyio::sim::shrink(body, f.trace_path, dir + "/kv-min.jsonl", sh);
  std::printf("shrunk: %s\nminimal trace: %s\n", shrunk.summary().c_str(),
              shrunk.trace_path.c_str());
  return 1;
}
