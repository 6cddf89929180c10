// SPDX-License-Identifier: MIT
// Test helpers (anyio::testing, Catch2 v2): ANYIO_TEST_CASE runs one test
// body — a coroutine — on realio once and on sim over many seeds, so every
// behaviour test checks both backends. Environment overrides:
// ANYIO_BACKEND=realio|sim|both, ANYIO_SEEDS=N (sim seeds 0..N-1, default
// 50), ANYIO_SEED=S (just seed S), ANYIO_TRACE_DIR (where failing seeds'
// traces go, default ./anyio-traces). A failing sim seed is rerun with a
// trace and reported with the command that replays it. Test programs also
// accept --anyio-replay TRACE, --anyio-record SEED, --anyio-sweep FROM..TO
// [--shard K/N] [--strategy S] [--pct-depth D] [--pct-steps K]
// [--preemption-bound P] [--json OUT] and --anyio-regressions DIR
// (docs/testing-with-sim.md).
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace anyio::testing {

using test_body = anyio::task<> (*)();

/// Which backends and seeds a test runs on; see the file comment.
struct run_config {
  bool realio = true;
  bool sim = true;
  std::vector<std::uint64_t> seeds{};
};

/// Backends and seeds from the environment, with `default_seeds` sim seeds.
run_config config_from_env(std::uint64_t default_seeds = 50);

/// The shell command that reruns one sim seed of one test case.
std::string rerun_command(const std::string& test_name, std::uint64_t seed);
/// The shell command that replays a trace of one test case.
std::string replay_command(const std::string& test_name, const std::string& trace_path);

/// argv[0] of the test program (set by anyio::testing's main).
void set_program_path(const std::string& path);
const std::string& program_path();

struct case_options {
  bool realio = true;
  bool sim = true;
  std::uint64_t seeds = 50;  ///< default sim seed count for this case
};

/// A test case known to this program (every ANYIO_TEST_CASE registers).
struct registered_case {
  std::string name{};
  test_body body = nullptr;
  case_options options{};
};
bool register_case(const char* name, test_body body, case_options options);
const registered_case* find_case(const std::string& name);

/// What the program's command line asked for (set by anyio::testing's main).
struct harness_mode {
  std::string replay_path{};  ///< --anyio-replay: replay this trace
  bool sweep = false;         ///< --anyio-sweep FROM..TO
  sim::seed_range seeds{};
  sim::shard shard{};
  sim::strategy strategy = sim::strategy::random;
  int pct_depth = 3;              ///< --pct-depth D
  std::uint64_t pct_steps = 0;    ///< --pct-steps K (0: estimated from the test)
  int preemption_bound = 2;       ///< --preemption-bound P (strategy exhaustive)
  std::string json_out{};         ///< --json: where the sweep summary goes
  std::string regressions_dir{};  ///< --anyio-regressions DIR
  std::string shrink_path{};      ///< --anyio-shrink TRACE
  std::optional<std::uint64_t> record_seed{};  ///< --anyio-record SEED: trace one seed
};
harness_mode& mode();
/// Parse and remove the --anyio-* options from argv; throws
/// std::invalid_argument naming a bad option.
void parse_harness_args(int& argc, char** argv);
/// The sweep summary of every case run so far in --anyio-sweep mode.
sim::sweep_summary& sweep_totals();
/// Where failing traces go: $ANYIO_TRACE_DIR or ./anyio-traces.
std::string trace_dir();

/// Failed Catch2 assertions so far (counted by anyio::testing's listener),
/// so a CHECK that fails inside a sim seed is noticed even without a throw.
std::uint64_t& failed_assertions();

/// Replay every trace in `dir` whose test case is registered in this
/// program; returns how many were replayed. Each replay must reproduce the
/// trace (same decisions, same outcome) or this throws.
std::size_t replay_regressions(const std::string& dir);

/// Run `body` as ANYIO_TEST_CASE does.
void run_case(const char* test_name, test_body body, case_options options = {});

}  // namespace anyio::testing

#define ANYIO_TESTING_CAT2(a, b) a##b
#define ANYIO_TESTING_CAT(a, b) ANYIO_TESTING_CAT2(a, b)

#define ANYIO_TESTING_CASE_IMPL(fn, name, tags, ...)                                     \
  static ::anyio::task<> fn();                                                         \
  [[maybe_unused]] static const bool ANYIO_TESTING_CAT(fn, _registered) =              \
      ::anyio::testing::register_case(name, &fn, __VA_ARGS__);                         \
  TEST_CASE(name, tags) { ::anyio::testing::run_case(name, &fn, __VA_ARGS__); }        \
  static ::anyio::task<> fn()

/// A behaviour test: the body (a coroutine) runs on realio and on sim.
#define ANYIO_TEST_CASE(name, tags)                                                     \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options{})

/// A test that only makes sense on the simulator (virtual time, deadlocks).
#define ANYIO_SIM_TEST_CASE(name, tags)                                                  \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options{.realio = false})

/// ANYIO_TEST_CASE with an explicit case_options{...}.
#define ANYIO_TEST_CASE_WITH(name, tags, ...)                                           \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options __VA_ARGS__)
