// SPDX-License-Identifier: MIT
// Simulated processes as the simulator's own machinery sees them: the trace
// has a `process` line for each spawn, signal, exit and unknown program,
// with the right codes; a run with processes replays from its trace; an
// exception escaping a handler is its stderr and status 1; and a child still
// running when the main task returns is cancelled, so the run ends. What
// both backends share is in tests/conformance/process_*_test.cpp.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <csignal>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

void register_programs() {
  auto& p = anyio::sim::programs();
  p.add("sim-cat", [](anyio::sim::program_context& io) -> anyio::task<int> {
    try {
      for (;;) {
        std::string piece = co_await io.in->receive();
        co_await io.out->send(std::string_view(piece));
      }
    } catch (const anyio::end_of_stream&) {
    }
    co_return 0;
  });
  p.add("sim-sleep", [](anyio::sim::program_context&) -> anyio::task<int> {
    co_await anyio::sleep(1h);
    co_return 0;
  });
  p.add("sim-throw", [](anyio::sim::program_context&) -> anyio::task<int> {
    co_await anyio::checkpoint();
    throw std::runtime_error("the handler broke");
  });
}

std::vector<std::string> argv_of(const char* program) { return {program}; }

// Talks to sim-cat, kills a sleeper, and tries an unregistered program.
anyio::task<> body() {
  auto cat_argv = argv_of("sim-cat");
  anyio::process cat = co_await anyio::open_process(cat_argv);
  co_await cat.stdin_stream()->send(std::string_view("abc"));
  std::string got;
  while (got.size() < 3) got += co_await cat.stdout_stream()->receive();
  if (got != "abc") throw std::logic_error("cat echoed '" + got + "'");
  co_await cat.stdin_stream()->aclose();
  if (co_await cat.wait() != 0) throw std::logic_error("cat failed");

  auto sleep_argv = argv_of("sim-sleep");
  anyio::process sleeper = co_await anyio::open_process(sleep_argv);
  sleeper.kill();
  if (co_await sleeper.wait() != -SIGKILL) throw std::logic_error("kill did not end it");

  auto missing_argv = argv_of("sim-missing");
  try {
    (void)co_await anyio::run_process(missing_argv);
    throw std::logic_error("a missing program ran");
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::no_such_file_or_directory) throw;
  }
}

}  // namespace

TEST_CASE("sim process: the trace has spawn, signal, exit and not_found lines, and replays",
          "[sim][process]") {
  register_programs();
  const std::string path = anyio_test::temp_path("anyio-process-sim-test", "process.jsonl");
  anyio::sim::options opts;
  opts.seed = 7;
  opts.trace_path = path;
  anyio::sim::run(body, opts);
  const anyio::sim::trace t = anyio::sim::read_trace(path);
  std::vector<std::string> seen;
  for (const auto& e : t.events)
    if (e.kind == "process")
      seen.push_back(e.op + " " + e.program + " " + std::to_string(e.pid) + " " +
                     std::to_string(e.code));
  const std::vector<std::string> expected = {
      "spawn sim-cat 1000 0",      "exit sim-cat 1000 0",   "spawn sim-sleep 1001 0",
      "signal sim-sleep 1001 9",   "exit sim-sleep 1001 -9", "not_found sim-missing 0 0"};
  CHECK(seen == expected);
  CHECK(t.outcome.kind == "passed");
  // The handler is a task of the run, named after its pid and program.
  bool named = false;
  for (const auto& e : t.events)
    named = named || (e.kind == "spawn" && e.name == "process 1000 (sim-cat)");
  CHECK(named);
  // Replay follows the recorded decisions and must meet the same lines.
  CHECK_NOTHROW(anyio::sim::replay(body, path));
}

TEST_CASE("sim process: runs with processes are deterministic across seeds", "[sim][process]") {
  register_programs();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    anyio::sim::options opts;
    opts.seed = seed;
    opts.check_determinism = true;
    CHECK_NOTHROW(anyio::sim::run(body, opts));
  }
}

TEST_CASE("sim process: an exception escaping a handler is stderr and status 1",
          "[sim][process]") {
  register_programs();
  anyio::completed_process r = anyio::sim::run(
      []() -> anyio::task<anyio::completed_process> {
        anyio::process_options unchecked;
        unchecked.check = false;
        auto argv = argv_of("sim-throw");
        co_return co_await anyio::run_process(argv, unchecked);
      },
      anyio::sim::options{.seed = 3});
  CHECK(r.returncode == 1);
  CHECK(r.err.find("the handler broke") != std::string::npos);
}

TEST_CASE("sim process: a child still running when main returns is cancelled", "[sim][process]") {
  register_programs();
  static std::optional<anyio::process> kept;
  anyio::sim::run(
      []() -> anyio::task<> {
        auto argv = argv_of("sim-sleep");
        kept.emplace(co_await anyio::open_process(argv));
      },
      anyio::sim::options{.seed = 5});
  REQUIRE(kept.has_value());
  CHECK(kept->returncode() == -SIGKILL);
  kept.reset();
}
