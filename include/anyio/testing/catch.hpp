// SPDX-License-Identifier: MIT
// Test helpers (anyio::testing, Catch2 v2): ANYIO_TEST_CASE runs one test
// body — a coroutine — on realio once and on sim over many seeds, so every
// behaviour test checks both backends. Any failed Catch2 assertion inside a
// run (a CHECK too, which does not throw) fails that run: the harness
// captures it and the run ends in anyio::testing::assertion_failure naming
// the assertion, so outcomes, traces, sweeps, replays and shrinking all see
// it. Environment overrides: ANYIO_BACKEND=realio|sim|both, ANYIO_SEEDS=N
// (sim seeds 0..N-1, default 50), ANYIO_SEED=S (just seed S),
// ANYIO_TRACE_DIR (where failing seeds' traces go, default ./anyio-traces).
// A failing sim seed is rerun with a trace and reported with the commands
// that rerun, replay and shrink it. Test programs also accept the --anyio-*
// options that `--anyio-help` lists (docs/testing-with-sim.md).
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
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
  bool shard_given = false;   ///< --shard appeared (only valid with a sweep)
  sim::strategy strategy = sim::strategy::random;
  int pct_depth = 3;              ///< --pct-depth D
  std::uint64_t pct_steps = 0;    ///< --pct-steps K (0: estimated from the test)
  int preemption_bound = 2;       ///< --preemption-bound P (strategy exhaustive)
  std::string json_out{};         ///< --json: where the sweep summary goes
  std::string regressions_dir{};  ///< --anyio-regressions DIR
  std::vector<std::string> regression_filters{};  ///< the test filter, with a DIR
  std::string shrink_path{};      ///< --anyio-shrink TRACE
  bool shrink_exact_message = false;  ///< --anyio-shrink-exact-message
  std::optional<std::uint64_t> record_seed{};  ///< --anyio-record SEED: trace one seed
  std::uint64_t max_failures = 0;  ///< --anyio-max-failures N: stop a sweep after N (0 = all)
  std::uint64_t max_traces = 10;   ///< --anyio-max-traces N: traces kept in a sweep
  bool help = false;               ///< --anyio-help
  /// Set when a test case used the trace named by --anyio-replay or
  /// --anyio-shrink: otherwise the trace named a test nobody ran.
  bool trace_used = false;
};
harness_mode& mode();
/// Parse and remove the --anyio-* options from argv; throws
/// std::invalid_argument naming a bad option (an unknown --anyio-* option
/// too), or a combination that makes no sense (--json without a sweep).
void parse_harness_args(int& argc, char** argv);
/// Every --anyio-* option, the sweep options and the ANYIO_* variables,
/// one per line, as --anyio-help (and --help, after Catch2's) prints them.
void print_harness_help(std::FILE* out);
/// After the test cases ran: what the harness reports at the end (a sweep's
/// summary, a trace no test case used). Returns the exit status to use
/// instead of Catch2's `rc`, which it never lowers.
int finish_harness(int rc);
/// The sweep summary of every case run so far in --anyio-sweep mode.
sim::sweep_summary& sweep_totals();
/// Where failing traces go: $ANYIO_TRACE_DIR or ./anyio-traces.
std::string trace_dir();

/// How a run (realio, or one sim seed) ends when a Catch2 assertion failed
/// in it: what() is the assertion as Catch2 prints it, on one line —
/// "file.cpp:40: CHECK( total == 10 ) with expansion: 7 == 10".
class assertion_failure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
/// `body` as the harness runs it: a failed Catch2 assertion during the run
/// (seen by the assertion_scope around it) ends the run in
/// assertion_failure, even when nothing was thrown.
sim::body_fn checked_body(sim::body_fn body);
/// While alive, Catch2 assertions are captured for checked_body. `quiet`:
/// they are not reported to Catch2 (sweeps, traced reruns, shrinking; the
/// harness reports the run instead); otherwise Catch2 reports them as usual.
class assertion_scope {
 public:
  explicit assertion_scope(bool quiet, std::string test_name = {},
                           std::optional<std::uint64_t> seed = std::nullopt);
  ~assertion_scope();
  assertion_scope(const assertion_scope&) = delete;
  assertion_scope& operator=(const assertion_scope&) = delete;
  /// Failed assertions since the last run began.
  std::uint64_t failures() const noexcept;

  class capture;  ///< the Catch2 result capture (tests/support/harness.cpp)

 private:
  capture* capture_;
  capture* previous_ = nullptr;
  Catch::IResultCapture* previous_next_ = nullptr;
};
}  // namespace detail

/// Replay every trace in `dir` whose test case is registered in this
/// program (and is `selected`, if given); returns how many were replayed.
/// Each replay must reproduce the trace (same decisions, same outcome) or
/// this throws.
std::size_t replay_regressions(const std::string& dir,
                               const std::function<bool(const std::string&)>& selected = {});

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

// Tags are optional, as in TEST_CASE: the name, then the tags or "".
#define ANYIO_TESTING_NAME(name, ...) name
#define ANYIO_TESTING_TAGS(name, tags, ...) tags

/// A behaviour test: the body (a coroutine) runs on realio and on sim.
/// ANYIO_TEST_CASE("name") or ANYIO_TEST_CASE("name", "[tags]").
#define ANYIO_TEST_CASE(...)                                                          \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__),             \
                          ANYIO_TESTING_NAME(__VA_ARGS__, ""),                       \
                          ANYIO_TESTING_TAGS(__VA_ARGS__, "", ""),                   \
                          ::anyio::testing::case_options{})

/// A test that only makes sense on the simulator (virtual time, deadlocks).
#define ANYIO_SIM_TEST_CASE(...)                                                      \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__),             \
                          ANYIO_TESTING_NAME(__VA_ARGS__, ""),                       \
                          ANYIO_TESTING_TAGS(__VA_ARGS__, "", ""),                   \
                          ::anyio::testing::case_options{.realio = false})

/// ANYIO_TEST_CASE with an explicit case_options{...}.
#define ANYIO_TEST_CASE_WITH(name, tags, ...)                                           \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options __VA_ARGS__)
