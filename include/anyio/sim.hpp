// SPDX-License-Identifier: MIT
// The deterministic simulator's public face. A simulated run uses the same
// kernel as realio; the sim backend picks which ready task runs next through
// a strategy fed by one seeded generator, keeps a virtual clock that jumps to
// the next deadline when every task is blocked (an hour of sleeps takes
// milliseconds), and reports a deadlock — every blocked task and what it
// waits on — when nothing can ever happen again. Every run can write a JSON
// Lines trace (docs/trace-format.md); replay() follows a trace's recorded
// decisions and stops at the first event that differs; sweep() runs ranges of
// seeds, sharded across machines.
#pragma once
#include <anyio/run.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace anyio::sim {

/// How the simulator picks the next ready task.
enum class strategy {
  random,  ///< uniformly among ready tasks
  fifo,    ///< the task that became ready first
  pct,     ///< probabilistic concurrency testing (Burckhardt et al., ASPLOS'10)
  replay,  ///< follow the decisions recorded in options::replay_path
  /// every schedule with at most options::preemption_bound preemptions, one
  /// per run (CHESS's preemption bounding): a run follows options::schedule
  /// (by index) and then runs non-preemptively; explore_schedules() and a
  /// sweep with this strategy enumerate the schedules
  exhaustive,
};

const char* to_string(strategy s) noexcept;
/// "random", "fifo", "pct", "replay", "exhaustive"; throws std::invalid_argument otherwise.
strategy strategy_from_string(const std::string& name);

/// The simulated wall clock at virtual time 0 (2026-01-01T00:00:00Z): a run
/// sees wall_clock_now() = this + the virtual time, whatever day it runs on,
/// so certificate dates (TLS) replay. Tests make certificates valid then.
inline constexpr std::int64_t wall_clock_start_ns = 1'767'225'600'000'000'000;

/// Fault decisions to follow instead of drawing them: for each purpose
/// "fault:<kind>:<site>" the values of its successive decisions, 0 meaning
/// "no fault" (a buggify site is "fault:buggify.site:<name>", enabling it
/// for the run, and "fault:buggify:<name>", each call). A decision beyond
/// its list, or of a purpose not listed, is 0. RapidCheck generates these
/// (anyio::rc::fault_plans, buggify_plans) and shrinks them.
using fault_decision_map = std::map<std::string, std::vector<std::uint64_t>>;

struct fault_plan;  // sim_world.hpp

struct options {
  std::uint64_t seed = 0;
  sim::strategy strategy = sim::strategy::random;
  int pct_depth = 3;               ///< pct: bug depth d (d-1 priority change points)
  std::uint64_t pct_steps = 1000;  ///< pct: estimated steps per run (change points fall in
                                   ///< it); a sweep estimates it from the test when 0
  int preemption_bound = 2;        ///< exhaustive: most preemptions per schedule
  std::uint64_t max_steps = 0;     ///< beyond this many steps: liveness_error (0 = no limit)
  clock::duration max_virtual_time{};  ///< beyond this virtual time: liveness_error (0 = none)
  std::string trace_path{};        ///< write a JSON Lines trace here ("" = none)
  std::string test_name{};         ///< recorded in the trace header
  std::string replay_path{};       ///< strategy::replay: the trace to follow
  /// strategy::replay without replay_path: follow this decision list. Entry k
  /// is the task id decision k runs (with schedule_by_index: the index
  /// (entry-1) mod n into the ready tasks); 0, a missing entry or a task that
  /// is not ready means "keep running the previous task" — so an empty list
  /// is the non-preemptive schedule and shorter lists mean fewer preemptions.
  std::vector<std::uint64_t> schedule{};
  bool schedule_by_index = false;
  bool check_determinism = false;  ///< run twice, compare event by event (also
                                   ///< ANYIO_CHECK_DETERMINISM=1 in the environment)
  instrument* observer = nullptr;  ///< extra instrument, e.g. a step log
  /// buggify(): the chance that a site is enabled for a run (at its first
  /// call), then that an enabled site fires at each call. 0 turns buggify off.
  double buggify_site_probability = 0.25;
  double buggify_fire_probability = 0.25;
  /// Liveness mode (0 = off): at this virtual time every fault heals and no
  /// more are injected (buggify is false, the simulated world heals its
  /// partitions and clogs); from then on, within liveness_bound of virtual
  /// time, the run must finish — or `liveness_progress` must return true — or it
  /// fails with a liveness_error naming every task still blocked and what it
  /// waits on. Recorded in the trace header; liveness_progress is not (a replay
  /// without it asks for the run to finish).
  clock::duration liveness_after{};
  clock::duration liveness_bound = std::chrono::seconds(60);
  /// The progress condition, checked whenever virtual time moves after
  /// liveness_after (empty: the run finishing is the progress).
  std::function<bool()> liveness_progress{};
  /// Follow these fault decisions (every other fault is off) instead of
  /// drawing them; not with replay_path (a trace has its own).
  std::optional<fault_decision_map> fault_decisions{};
  /// The fault plan of the sim::world the test runs (sim_world.hpp), in
  /// place of its set_plan() one; swarmed per run if plan->swarm. Recorded
  /// in the trace header, so a replay of the trace uses it. Null: none.
  std::shared_ptr<const fault_plan> plan{};
};

/// A replay stopped matching its trace: the program or the build changed.
class replay_divergence : public std::runtime_error {
 public:
  replay_divergence(const std::string& what, std::uint64_t event_index, std::string expected,
                    std::string actual)
      : std::runtime_error(what),
        event_index_(event_index),
        expected_(std::move(expected)),
        actual_(std::move(actual)) {}
  /// 1-based line number in the trace of the first event that differs.
  std::uint64_t line() const noexcept { return event_index_; }
  const std::string& expected() const noexcept { return expected_; }
  const std::string& actual() const noexcept { return actual_; }

 private:
  std::uint64_t event_index_;
  std::string expected_;
  std::string actual_;
};

/// check_determinism: the same seed produced two different runs.
class nondeterminism_error : public replay_divergence {
 public:
  using replay_divergence::replay_divergence;
};

/// sim::always() found its condition false (on sim the whole run fails,
/// whatever the program catches).
class probe_failure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// What one coverage probe saw (sometimes / reachable / always).
struct probe_count {
  std::string name{};
  std::string kind{};             ///< "sometimes", "reachable" or "always"
  std::uint64_t hits = 0;         ///< sometimes: true; reachable: reached; always: held
  std::uint64_t evaluations = 0;  ///< times the probe was reached at all
  std::uint64_t seeds = 0;        ///< sweeps: seeds in which it fired (hits > 0)
  bool fired() const noexcept { return hits > 0; }
};

/// FoundationDB's BUGGIFY: on sim, true on some runs at some calls — each
/// site (name) is enabled for a run with options::buggify_site_probability
/// at its first call, then an enabled site fires with
/// options::buggify_fire_probability at each call. Each answer is a recorded
/// fault decision (replay follows it, shrinking drops the ones a failure
/// does not need). Always false on realio and outside a run, so
/// `if (sim::buggify("slow_path")) co_await sleep(1s);` costs nothing there.
bool buggify(std::string_view name);

/// Coverage probes (Antithesis, FoundationDB's CODE_PROBE): record that
/// `name` was reached with `cond` true. A sweep lists the probes that never
/// fired across its seeds (sweep_summary::never_fired), and
/// sweep_options::required_probes fails a sweep when one of them never did:
/// the proof that a test's faults really happen. No-ops on realio.
void sometimes(bool cond, std::string_view name);
/// sometimes(true, name).
void reachable(std::string_view name);
/// An invariant: `cond` must hold whenever it is reached. On sim a false
/// one fails the run at once — the task gets a probe_failure, and the run
/// fails with it at the next scheduling point even if the program catches
/// it — naming the probe; on realio it throws probe_failure.
void always(bool cond, std::string_view name);

/// How one simulated run ended (never throws for a failing body).
struct run_result {
  std::string outcome{};         ///< "passed", "failed", "deadlock" or "error"
  std::string exception_type{};  ///< set unless passed
  std::string message{};
  std::uint64_t steps = 0;
  std::int64_t virtual_time_ns = 0;
  std::string trace_path{};      ///< the trace written, if any
  std::uint64_t decisions = 0;    ///< scheduling decisions (more than one task ready)
  std::uint64_t preemptions = 0;  ///< switches away from a task that yielded (could go on)
  std::vector<probe_count> probes{};  ///< the coverage probes reached, by name
  bool passed() const noexcept { return outcome == "passed"; }
};

/// A test name made safe as a file name: characters other than letters,
/// digits, '-', '_' and '.' become '_' (at most 80 characters).
std::string file_stem(const std::string& test_name);
/// "<file_stem(test_name)>-seed<seed>.jsonl": what sweeps and the test
/// harness call the trace of one seed.
std::string trace_file_name(const std::string& test_name, std::uint64_t seed);

/// A test body as the sweep and replay machinery sees it.
using body_fn = std::function<task<>()>;

/// Run `body` once; the outcome (even a failure) is returned, not thrown.
/// Replay divergence and nondeterminism are thrown.
run_result run_body(const body_fn& body, const options& opts);

struct seed_range {
  std::uint64_t first = 0;  ///< first seed
  std::uint64_t count = 100;
};
struct shard {
  std::uint64_t index = 0;  ///< K in "shard K of N" (0-based)
  std::uint64_t count = 1;  ///< N
};

struct sweep_failure {
  std::uint64_t seed = 0;
  std::string test{};
  std::string outcome{};
  std::string exception_type{};
  std::string message{};
  std::string trace_path{};
  std::uint64_t steps = 0;        ///< of the failing run: a sweep can rank failures
  std::uint64_t preemptions = 0;  ///< by these two (fewer is easier to read)
};

struct sweep_options {
  seed_range seeds{};
  sim::strategy strategy = sim::strategy::random;
  int pct_depth = 3;
  /// pct: steps per run; 0 = estimate from the test's own length (the
  /// longest of a few probe runs of the first seeds).
  std::uint64_t pct_steps = 0;
  /// exhaustive: every schedule of the first seed with at most this many
  /// preemptions (seeds.count is then ignored).
  int preemption_bound = 2;
  std::uint64_t max_schedules = 100000;  ///< exhaustive: stop (uncovered) after this many
  std::uint64_t max_steps = 0;
  clock::duration max_virtual_time{};
  double buggify_site_probability = 0.25;  ///< options:: of the same name, of every run
  double buggify_fire_probability = 0.25;
  clock::duration liveness_after{};  ///< options::liveness_after of every run
  clock::duration liveness_bound = std::chrono::seconds(60);
  std::function<bool()> liveness_progress{};  ///< options::liveness_progress of every run
  /// options::plan of every run (with plan->swarm, each seed draws its own).
  std::shared_ptr<const fault_plan> plan{};
  std::string trace_dir{};    ///< traces of failing seeds go here ("" = none)
  sim::shard shard{};         ///< take every N-th seed, starting at the K-th
  std::string test_name{};
  bool stop_at_first_failure = false;  ///< the same as max_failures = 1
  std::uint64_t max_failures = 0;  ///< stop after this many failing seeds (0 = run every seed)
  std::uint64_t max_traces = 0;    ///< trace only the first N failing seeds (0 = every one)
  bool progress = true;       ///< show progress when stderr is a terminal (without on_progress)
  /// Called for each failing seed as it is found (after its traced rerun).
  std::function<void(const sweep_failure&)> on_failure{};
  /// Probes that must fire in at least one seed: each that never did is a
  /// failure of the sweep (outcome "unfired-probe"), checked again when
  /// shards merge.
  std::vector<std::string> required_probes{};
  /// Called after every seed with (seeds run, seeds of this shard, failures
  /// so far); replaces the built-in progress line.
  std::function<void(std::uint64_t, std::uint64_t, std::uint64_t)> on_progress{};
  /// The options of the sweep's run of `seed` (untraced).
  options run_options(std::uint64_t seed) const;
};

struct sweep_summary {
  std::uint64_t seeds_run = 0;
  std::uint64_t steps = 0;
  std::int64_t virtual_time_ns = 0;
  std::vector<sweep_failure> failures{};
  std::vector<std::string> tests{};
  std::string strategy{};
  std::uint64_t first_seed = 0;
  std::uint64_t seed_count = 0;
  sim::shard shard{};
  /// exhaustive: seeds_run counts schedules; covered = every schedule within
  /// preemption_bound was run (not cut short by max_schedules or a failure).
  int preemption_bound = 0;
  bool covered = false;
  /// pct: the run length the sweep used (given, or estimated from the
  /// test), so a rerun of one of its seeds is the same run. Not in the JSON.
  std::uint64_t pct_steps = 0;
  /// Every coverage probe reached in some seed (by name), and the ones the
  /// sweep required.
  std::vector<probe_count> probes{};
  std::vector<std::string> required_probes{};
  /// Names of the probes reached but never fired, and of required probes
  /// never reached, sorted.
  std::vector<std::string> never_fired() const;
  /// Replace the "unfired-probe" failures by one per required probe that
  /// never fired (sweep and merge call it).
  void check_required_probes();
  /// One JSON object (the format `anyio-sim merge` reads).
  std::string to_json() const;
  static sweep_summary from_json(const std::string& text);
  /// Combine shards: sums counts, concatenates failures (ordered by test, seed).
  void merge(const sweep_summary& other);
};

/// Run the seeds of `opts.seeds` that belong to `opts.shard` and summarise.
sweep_summary sweep(const body_fn& body, const sweep_options& opts);

/// Size of a failing run, what shrinking minimises, in this order: the
/// faults injected (buggify and the simulated world's faults), their
/// strength, then the schedule's preemptions, steps and decisions.
struct schedule_stats {
  std::uint64_t faults = 0;          ///< fault decisions that injected a fault
  std::uint64_t fault_strength = 0;  ///< the sum of their strengths (a clog's length, ...)
  std::uint64_t preemptions = 0;  ///< switches away from a task that could have continued
  std::uint64_t steps = 0;        ///< task steps in the run
  std::uint64_t decisions = 0;    ///< choices the schedule makes that a non-preemptive
                                  ///< scheduler would not (the decision list's entries)
};

/// What shrinking counts as "the same failure" as the one it started from.
enum class failure_match {
  /// Same outcome and exception type, and the same message up to numbers
  /// (failure_pattern): a failed assertion names its source line, so this
  /// is "the same failing assertion", whatever values it printed.
  same_failure,
  exact_message,  ///< same outcome, exception type and message, to the letter
};

/// `message` with each run of digits replaced by '#', except line numbers
/// in source locations ("file.cpp:40"): failures that differ only in the
/// values they print (which worker, what total) have the same pattern.
std::string failure_pattern(const std::string& message);

struct shrink_options {
  std::uint64_t max_runs = 2000;  ///< budget of reruns
  bool progress = true;           ///< a status line when stderr is a terminal
  /// Runs each rerun: context(rerun) must call rerun() once. Lets a caller
  /// wrap reruns, e.g. inside RapidCheck's reproduction of a counterexample
  /// so the body's own generated values repeat. Empty: call it directly.
  std::function<void(const std::function<void()>&)> context{};
  failure_match match = failure_match::same_failure;
};

struct shrink_result {
  schedule_stats before{};
  schedule_stats after{};
  std::uint64_t runs = 0;         ///< reruns spent
  std::string outcome{};          ///< the failure kept: outcome kind,
  std::string exception_type{};   ///< exception type
  std::string message{};          ///< and message (of the minimal run)
  std::string trace_path{};       ///< the minimal trace (strategy "replay")
  /// The faults the minimal run still injects ("buggify:slow_disk",
  /// "partition:db1|db2"), first injected first: the ones the bug needs.
  std::vector<std::string> faults{};
  /// "preemptions 8 -> 1, steps 26 -> 25, decisions 14 -> 2", led by
  /// "faults 9 -> 2 (buggify:a, buggify:b), " when the run had faults
  std::string summary() const;
};

/// Shrink the failing run recorded in `failing_trace` to the smallest
/// schedule that still fails the same way (opts.match: by default the same
/// exception type and failure_pattern of the message; or the same blocked
/// tasks for a deadlock): fewest faults first (recorded fault decisions:
/// buggify, the simulated world's faults — removed, then weakened), then
/// fewest preemptions, then fewest steps, then fewest decisions, by delta
/// debugging over the recorded faults and decision list and a final
/// one-at-a-time pass, within `max_runs` reruns.
/// Writes the minimal run's trace to `out_path`; it replays (replay(),
/// --anyio-replay) to the same failure. Throws std::invalid_argument if the
/// trace did not fail or its failure no longer reproduces.
shrink_result shrink(const body_fn& body, const std::string& failing_trace,
                     const std::string& out_path, const shrink_options& opts = {});

struct schedule_options {
  std::uint64_t seed = 0;          ///< every schedule uses this seed (for other draws)
  int preemption_bound = 2;        ///< most preemptions per schedule
  std::uint64_t max_schedules = 100000;  ///< stop, not covered, after this many
  bool stop_at_first_failure = false;
  std::uint64_t max_steps = 0;
  std::string trace_dir{};         ///< traces of failing schedules go here ("" = none)
  std::string test_name{};
  std::shared_ptr<const fault_plan> plan{};  ///< options::plan of every schedule
};

struct schedule_failure {
  std::uint64_t schedule = 0;       ///< 1-based, in enumeration order
  std::vector<std::uint64_t> choices{};  ///< options::schedule that reruns it (by index)
  run_result result{};              ///< outcome, steps, preemptions, trace_path
};

struct schedule_result {
  std::uint64_t schedules = 0;  ///< runs, each a distinct schedule
  bool covered = false;         ///< every schedule within the bound was run
  std::uint64_t max_preemptions = 0;  ///< the most any schedule run had
  std::uint64_t steps = 0;            ///< task steps over all the runs
  std::vector<schedule_failure> failures{};
  std::vector<probe_count> probes{};  ///< coverage probes over all the runs
  /// "6 schedules within 2 preemptions: covered, no failure"
  std::string summary(int preemption_bound) const;
};

/// Bounded exhaustive search (CHESS's preemption bounding, Musuvathi and
/// Qadeer, PLDI'07): run `body` once per schedule that preempts a runnable
/// task at most `preemption_bound` times — switches where the running task
/// blocked or finished are free — depth first, by re-execution. When
/// `covered`, no schedule of this size fails: a fact about the test, not a
/// sample.
schedule_result explore_schedules(const body_fn& body, const schedule_options& opts = {});

struct explore_options {
  std::uint64_t seed = 0;                        ///< every run uses this seed
  sim::strategy strategy = sim::strategy::random;
  bool per_task = false;  ///< also a second sweep cancelling the innermost scope of the
                          ///< task at each point (a local timeout firing there)
  std::function<void()> reset{};      ///< called before every run (reset shared state)
  std::function<void()> invariant{};  ///< checked after every run; throw to report
  std::string trace_dir{};            ///< traces of failing points go here ("" = none)
  std::string test_name{};
  std::uint64_t max_points = 100000;  ///< explore at most this many points
};

struct cancellation_failure {
  std::uint64_t point = 0;   ///< the n-th cancel point of the run (1-based)
  std::string target{};      ///< what was cancelled there
  std::string problem{};     ///< what went wrong
  std::string trace_path{};  ///< trace of the failing run, if trace_dir was set
};

struct explore_result {
  std::uint64_t points = 0;  ///< cancel points of the uncancelled run
  std::uint64_t runs = 0;
  std::vector<cancellation_failure> failures{};
  bool passed() const noexcept { return failures.empty(); }
  /// A readable list of the failures (empty if none).
  std::string report() const;
};

/// Systematic cancellation: run `body` once to number its cancel points
/// (every cancellation check and every wait that cancellation can abort — not
/// a group's join, start()'s wait or a condition re-acquiring its lock — in
/// every task), then once per
/// point n with the outermost scope cancelled just before the n-th — and,
/// with per_task, once more per point with the innermost scope of the task
/// reaching it cancelled. After each run: no deadlock (no task left waiting),
/// every shielded scope finished without an exception, nothing but the
/// expected cancellation escaped, and the invariant holds.
explore_result explore_cancellation(const body_fn& body, const explore_options& opts = {});

namespace detail {
std::unique_ptr<backend> make_backend(const options& opts);
struct recording;
std::shared_ptr<recording> new_recording();
std::unique_ptr<backend> make_recording_backend(const options& opts,
                                                std::shared_ptr<recording> rec);
std::unique_ptr<backend> make_checking_backend(const options& opts,
                                               std::shared_ptr<recording> rec);
bool determinism_check_requested(const options& opts);
/// The options of the run a trace records (replay_path set to it). A backend
/// given only replay_path reads the same from the header itself.
options replay_options_for(const std::string& trace_path);
}  // namespace detail

namespace detail {
/// sim::run's body, once the options are split off the arguments.
template <class Fn, class... Args> auto run_with(const options& opts, Fn fn, Args... args) {
  if constexpr (anyio::detail::check_main_function<Fn, Args...>()) {
    anyio::detail::run_config config{opts.observer};
    if (determinism_check_requested(opts)) {
      // The check runs the main function twice, so it needs copies of fn and
      // its arguments; move-only ones can only run once.
      if constexpr (std::is_copy_constructible_v<Fn> &&
                    (std::is_copy_constructible_v<Args> && ...)) {
        auto rec = new_recording();
        {
          auto first = make_recording_backend(opts, rec);
          try {
            anyio::detail::run_on(*first, config, fn, args...);
          } catch (...) {  // the second run reports the outcome
          }
        }
        auto second = make_checking_backend(opts, rec);
        return anyio::detail::run_on(*second, config, std::move(fn), std::move(args)...);
      } else {
        anyio::detail::throw_usage_error(
            "sim::run: check_determinism runs the main function twice, so fn and its "
            "arguments must be copyable; pass copyable ones or turn the check off");
      }
    }
    auto b = make_backend(opts);
    return anyio::detail::run_on(*b, config, std::move(fn), std::move(args)...);
  }
}
template <class... Ts> struct last_is_options : std::false_type {};
template <class T> struct last_is_options<T> : std::is_same<T, options> {};
template <class T, class U, class... Ts>
struct last_is_options<T, U, Ts...> : last_is_options<U, Ts...> {};
}  // namespace detail

/// Run fn(args...) on the simulator until it finishes; return its value or
/// rethrow its exception — anyio::run's twin, with the simulator's options
/// last: `sim::run(amain, {.seed = 42})`, `sim::run(worker, 3, opts)`.
/// Throws deadlock_error if every task blocks forever, liveness_error past
/// max_steps / max_virtual_time, nondeterminism_error when check_determinism
/// finds two runs of the seed that differ (that check runs fn twice: fn and
/// its arguments must then be copyable, or it is a usage_error).
template <class Fn, class... Args> auto run(Fn fn, Args... args) {
  if constexpr (detail::last_is_options<Args...>::value) {
    // A named options object last: split it off the arguments.
    auto all = std::forward_as_tuple(std::move(args)...);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return detail::run_with(std::get<sizeof...(Args) - 1>(all), std::move(fn),
                              std::move(std::get<I>(all))...);
    }(std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return detail::run_with(options{}, std::move(fn), std::move(args)...);
  }
}
// A braced `{.seed = 42}` cannot be deduced into a pack, so these take it in
// a fixed place, after up to four arguments (name the options beyond that).
template <class Fn> auto run(Fn fn, const options& opts) {
  return detail::run_with(opts, std::move(fn));
}
template <class Fn, class A1> auto run(Fn fn, A1 a1, const options& opts) {
  return detail::run_with(opts, std::move(fn), std::move(a1));
}
template <class Fn, class A1, class A2> auto run(Fn fn, A1 a1, A2 a2, const options& opts) {
  return detail::run_with(opts, std::move(fn), std::move(a1), std::move(a2));
}
template <class Fn, class A1, class A2, class A3>
auto run(Fn fn, A1 a1, A2 a2, A3 a3, const options& opts) {
  return detail::run_with(opts, std::move(fn), std::move(a1), std::move(a2), std::move(a3));
}
template <class Fn, class A1, class A2, class A3, class A4>
auto run(Fn fn, A1 a1, A2 a2, A3 a3, A4 a4, const options& opts) {
  return detail::run_with(opts, std::move(fn), std::move(a1), std::move(a2), std::move(a3),
                          std::move(a4));
}

/// Re-run fn() following the decisions recorded in `trace_path`, checking
/// every event against the trace; throws replay_divergence at the first
/// event that differs. `out_trace`, if set, receives the new trace (equal
/// byte for byte to the original when nothing changed).
template <class Fn> auto replay(Fn fn, const std::string& trace_path, std::string out_trace = {}) {
  options opts;  // the backend takes seed, strategy and limits from the trace's header
  opts.replay_path = trace_path;
  opts.trace_path = std::move(out_trace);
  auto b = detail::make_backend(opts);
  return anyio::detail::run_on(*b, anyio::detail::run_config{}, std::move(fn));
}

}  // namespace anyio::sim
