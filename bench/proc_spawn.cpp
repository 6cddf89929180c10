// SPDX-License-Identifier: MIT
// proc_spawn: start `true` and wait for it, over and over — the cost of a
// child process through anyio (posix_spawnp with the signal mask and
// dispositions reset, close-on-exec pipes for stdout and stderr read to
// their end, the reap, through a pidfd only when the child is not gone
// yet) against the raw floor: posix_spawnp of the same program and a
// blocking waitpid, in a loop ("asio" column: the baseline, although it
// needs no Asio). Target: >= 0.8x. The sim variant runs a registered fake
// `true`, so its rate is the simulator's, not the OS's.
#include "harness.hpp"

#include <anyio/process.hpp>
#include <anyio/run.hpp>
#include <anyio/sim.hpp>

#include <cstdint>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>

extern char** environ;

namespace {

anyio::task<> spawn_loop(std::uint64_t n) {
  std::vector<std::string> argv(1, "true");
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) {
    const anyio::completed_process r = co_await anyio::run_process(argv);
    if (r.returncode != 0) throw std::runtime_error("true failed");
  }
  anyio_bench::end_measure();
}

void on_realio(std::uint64_t n) { anyio::run(spawn_loop, n); }

void on_sim(std::uint64_t n) {
  anyio::sim::programs().add(
      "true", [](anyio::sim::program_context&) -> anyio::task<int> { co_return 0; });
  anyio::sim::run(spawn_loop, n, anyio::sim::options{.seed = 1});
}

void on_raw(std::uint64_t n) {
  char name[] = "true";
  char* argv[] = {name, nullptr};
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) {
    pid_t pid = 0;
    if (::posix_spawnp(&pid, name, nullptr, nullptr, argv, environ) != 0)
      throw std::runtime_error("posix_spawnp failed");
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || status != 0) throw std::runtime_error("true failed");
  }
  anyio_bench::end_measure();
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "proc_spawn",
    .label = "run_process(true)",
    .unit = "process",
    .ops = 2000,
    .goals = {.min_ratio_vs_asio = 0.8},
    .variants = {{"realio", on_realio}, {"sim", on_sim}, {"asio", on_raw}},
});

}  // namespace
