// SPDX-License-Identifier: MIT
// The two-backend test runner behind ANYIO_TEST_CASE: parses the
// environment and the --anyio-* options, runs the body on realio and then on
// each sim seed (or replays, records, shrinks a trace, or sweeps a seed
// range). Every run goes through checked_body inside an assertion_scope, a
// Catch2 result capture that sees each assertion first: a failed CHECK does
// not throw, so without it a seed whose CHECK failed would end "passed" in
// its outcome, its trace and a sweep's JSON. A failing seed is rerun once
// with a trace (quietly: Catch2 already reported it); its path and the
// commands that rerun, replay and shrink it are printed on lines of their
// own, never inside a Catch2 message, which wraps at 80 columns.
#include <anyio/testing/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

namespace anyio::testing {

namespace {

std::string& program_path_storage() {
  static std::string path = "./tests";
  return path;
}

std::map<std::string, registered_case>& registry() {
  static std::map<std::string, registered_case> cases;
  return cases;
}

std::uint64_t parse_u64(const std::string& what, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || text[0] == '-')
    throw std::invalid_argument(what + "=" + text + ": expected a non-negative integer");
  return v;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

const char* const assertion_type = "anyio::testing::assertion_failure";

// What went wrong in a run, as one line: a failed assertion is its own
// description; anything else names the exception (and a deadlock says so).
std::string describe(const std::string& outcome, const std::string& type,
                     const std::string& message) {
  std::string d = outcome == "failed" || outcome.empty() ? "" : outcome + ": ";
  if (type == assertion_type) return d + one_line(message);
  d += type.empty() ? std::string("no exception") : type;
  return message.empty() ? d : d + ": " + one_line(message);
}

std::string describe(const sim::run_result& r) {
  return describe(r.outcome, r.exception_type, r.message);
}

std::string describe(const std::exception_ptr& e) {
  exception_description d = describe_exception_parts(e);
  return describe("", d.type, d.message);
}

std::string shrink_command(const std::string& test_name, const std::string& trace_path) {
  return program_path() + " " + shell_quote(test_name) + " --anyio-shrink " + trace_path;
}

void report_failure(const char* test_name, std::uint64_t seed, const std::string& trace,
                    const sim::run_result& r) {
  std::fprintf(stderr,
               "anyio: sim seed %llu of \"%s\" failed: %s\n"
               "  rerun this seed:  %s\n",
               static_cast<unsigned long long>(seed), test_name, describe(r).c_str(),
               rerun_command(test_name, seed).c_str());
  if (!trace.empty())
    std::fprintf(stderr, "  trace:            %s\n  replay the trace: %s\n  shrink the trace: %s\n",
                 trace.c_str(), replay_command(test_name, trace).c_str(),
                 shrink_command(test_name, trace).c_str());
}

std::string trace_path_for(const char* test_name, std::uint64_t seed) {
  std::filesystem::path p = std::filesystem::path(trace_dir()) /
                            sim::trace_file_name(test_name, seed);
  return std::filesystem::absolute(p).lexically_normal().string();
}

// A failed seed: rerun it with a trace (identical run) so it can be replayed.
// Quietly: Catch2 has seen this seed's assertions once already.
void trace_failing_seed(const char* test_name, test_body body, std::uint64_t seed,
                        const sim::run_result& first) {
  sim::options opts;
  opts.seed = seed;
  opts.test_name = test_name;
  opts.trace_path = trace_path_for(test_name, seed);
  try {
    detail::assertion_scope quiet(true, test_name, seed);
    sim::run_result r = sim::run_body(detail::checked_body(body), opts);
    report_failure(test_name, seed, opts.trace_path, r);
  } catch (const std::exception& e) {
    report_failure(test_name, seed, "", first);
    std::fprintf(stderr, "anyio: could not trace seed %llu: %s\n",
                 static_cast<unsigned long long>(seed), e.what());
  }
}

// A failure Catch2 has not seen (an exception, a deadlock) becomes one
// Catch2 failure; a failed assertion was reported by Catch2 itself.
void fail_in_catch(const std::string& where, const std::string& what) {
  FAIL_CHECK(where << ": " << what);
}

void run_replay(const char* test_name, test_body body) {
  // Only the header says whose trace it is; the replay reads the rest.
  if (sim::trace_reader(mode().replay_path).header().test != test_name) return;
  mode().trace_used = true;
  INFO("replaying " << mode().replay_path);
  std::exception_ptr error;
  bool reported = false;
  {
    detail::assertion_scope scope(false, test_name);
    try {
      sim::replay(detail::checked_body(body), mode().replay_path);
    } catch (const sim::replay_divergence&) {
      throw;
    } catch (...) {
      error = std::current_exception();
    }
    reported = scope.failures() != 0;
  }
  if (!error) return;
  std::fprintf(stderr, "anyio: replay of \"%s\" failed as recorded: %s\n", test_name,
               describe(error).c_str());
  if (!reported) fail_in_catch("replay", describe(error));
}

void run_shrink(const char* test_name, test_body body) {
  const std::string& path = mode().shrink_path;
  if (sim::trace_reader(path).header().test != test_name) return;  // another case's trace
  mode().trace_used = true;
  std::string out = path;
  if (out.size() > 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0) out.resize(out.size() - 6);
  out += ".min.jsonl";
  sim::shrink_options so;
  so.match = mode().shrink_exact_message ? sim::failure_match::exact_message
                                         : sim::failure_match::same_failure;
  sim::shrink_result r;
  {
    detail::assertion_scope quiet(true, test_name);
    r = sim::shrink(detail::checked_body(body), path, out, so);
  }
  std::printf(
      "anyio: shrank \"%s\" (%s) in %llu runs\n  %s\n"
      "  minimal trace:   %s\n  read it:         anyio-sim show %s\n  replay it:       %s\n",
      test_name, describe(r.outcome, r.exception_type, r.message).c_str(),
      static_cast<unsigned long long>(r.runs), r.summary().c_str(), out.c_str(), out.c_str(),
      replay_command(test_name, out).c_str());
  CHECK(r.after.preemptions <= r.before.preemptions);
}

void run_record(const char* test_name, test_body body, std::uint64_t seed) {
  sim::options opts;
  opts.seed = seed;
  opts.test_name = test_name;
  opts.trace_path = trace_path_for(test_name, seed);
  // Named before the run: if it crashes, the trace is still there, up to
  // the crash (docs/trace-format.md, "Unfinished traces").
  std::printf("anyio: recording seed %llu of \"%s\" to %s\n",
              static_cast<unsigned long long>(seed), test_name, opts.trace_path.c_str());
  std::fflush(stdout);
  sim::run_result r;
  bool reported = false;
  {
    detail::assertion_scope scope(false, test_name, seed);
    r = sim::run_body(detail::checked_body(body), opts);
    reported = scope.failures() != 0;
  }
  std::printf("anyio: recorded seed %llu of \"%s\" (%s) to %s\n",
              static_cast<unsigned long long>(seed), test_name,
              r.passed() ? "passed" : describe(r).c_str(), opts.trace_path.c_str());
  // A recorded failure is still a failure: the exit status says so.
  if (!r.passed() && !reported) fail_in_catch("sim seed " + std::to_string(seed), describe(r));
}

// ---- sweeps: one line per failing seed, a summary at the end ----

struct distinct_failure {
  std::string test, pattern;  // what makes failures "the same"
  sim::sweep_failure first;   // the smallest seed that failed this way
  std::uint64_t count = 0;
};

struct sweep_state {
  std::uint64_t failures = 0;
  std::uint64_t traces = 0;
  bool stopped = false;  // --anyio-max-failures reached
  std::vector<distinct_failure> distinct;
};

sweep_state& sweep_progress_state() {
  static sweep_state s;
  return s;
}

// Progress: a line rewritten in place on a terminal; for CI logs a line of
// its own every ANYIO_PROGRESS_SECONDS (default 5; 0 turns them off).
class progress_reporter {
 public:
  explicit progress_reporter(const char* test_name)
      : test_(test_name), tty_(isatty(2) != 0), start_(clock::now()), last_(start_) {
    if (const char* s = std::getenv("ANYIO_PROGRESS_SECONDS"); s != nullptr && *s != '\0') {
      char* end = nullptr;
      double v = std::strtod(s, &end);
      if (end == s || *end != '\0' || v < 0)
        throw std::invalid_argument(std::string("ANYIO_PROGRESS_SECONDS=") + s +
                                    ": expected a number of seconds");
      interval_ = v;
    }
    if (tty_) interval_ = 0.25;
  }
  void update(std::uint64_t done, std::uint64_t total, std::uint64_t failures) {
    if (interval_ <= 0) return;
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - last_).count() < interval_ && done != total) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "%sanyio: sweep progress: \"%s\" %llu/%llu seeds, %llu failing, %.0fs%s",
                 tty_ ? "\r" : "", test_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), static_cast<unsigned long long>(failures),
                 elapsed, tty_ ? "" : "\n");
    shown_ = true;
    std::fflush(stderr);
  }
  ~progress_reporter() {
    if (tty_ && shown_) std::fprintf(stderr, "\n");
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string test_;
  bool tty_;
  double interval_ = 5;
  clock::time_point start_, last_;
  bool shown_ = false;
};

void note_sweep_failure(const sim::sweep_failure& f) {
  sweep_state& st = sweep_progress_state();
  ++st.failures;
  if (!f.trace_path.empty()) ++st.traces;
  std::string line = "anyio: sweep: seed " + std::to_string(f.seed) + " of \"" + f.test +
                     "\" failed: " + describe(f.outcome, f.exception_type, f.message);
  if (!f.trace_path.empty()) line += "  [trace " + f.trace_path + "]";
  std::fprintf(stderr, "%s\n", line.c_str());
  const std::string pattern =
      f.outcome + " " + f.exception_type + " " + sim::failure_pattern(f.message);
  for (distinct_failure& d : st.distinct) {
    if (d.test == f.test && d.pattern == pattern) {
      ++d.count;
      // A traced seed is worth more than an earlier untraced one.
      if (d.first.trace_path.empty() && !f.trace_path.empty()) d.first = f;
      return;
    }
  }
  st.distinct.push_back({f.test, pattern, f, 1});
}

// Past --anyio-max-traces, a failure unlike any traced one still gets a
// trace of its smallest seed: the summary's command for it must work.
void trace_distinct_failures(const char* test_name, test_body body,
                             const sim::sweep_options& sweep, sim::sweep_summary& s) {
  constexpr std::size_t most = 20;  // as many as the summary shows
  std::size_t n = 0;
  for (distinct_failure& d : sweep_progress_state().distinct) {
    if (++n > most) break;
    if (d.test != test_name || !d.first.trace_path.empty()) continue;
    sim::options run = sweep.run_options(d.first.seed);
    run.trace_path = trace_path_for(test_name, d.first.seed);
    detail::assertion_scope quiet(true, test_name, d.first.seed);
    sim::run_result r = sim::run_body(detail::checked_body(body), run);
    if (r.passed()) continue;  // cannot happen: the same seed, the same run
    d.first.trace_path = run.trace_path;
    for (sim::sweep_failure& f : s.failures)
      if (f.seed == d.first.seed) f.trace_path = run.trace_path;
  }
}

void run_sweep(const char* test_name, test_body body) {
  const harness_mode& m = mode();
  sweep_state& st = sweep_progress_state();
  if (st.stopped) return;
  sim::sweep_options opts;
  opts.seeds = m.seeds;
  opts.shard = m.shard;
  opts.strategy = m.strategy;
  opts.pct_depth = m.pct_depth;
  opts.pct_steps = m.pct_steps;
  opts.preemption_bound = m.preemption_bound;
  opts.test_name = test_name;
  if (m.max_traces > st.traces) {
    opts.trace_dir = std::filesystem::absolute(trace_dir()).lexically_normal().string();
    opts.max_traces = m.max_traces - st.traces;
  }
  if (m.max_failures != 0) opts.max_failures = m.max_failures - st.failures;
  progress_reporter progress(test_name);
  opts.on_failure = note_sweep_failure;
  opts.on_progress = [&progress](std::uint64_t done, std::uint64_t total, std::uint64_t failed) {
    progress.update(done, total, failed);
  };
  sim::sweep_summary s;
  {
    detail::assertion_scope quiet(true, test_name);
    s = sim::sweep(detail::checked_body(body), opts);
  }
  if (m.max_failures != 0 && st.failures >= m.max_failures) st.stopped = true;
  if (opts.strategy == sim::strategy::pct) opts.pct_steps = s.pct_steps;  // as the sweep ran
  trace_distinct_failures(test_name, body, opts, s);
  if (m.strategy == sim::strategy::exhaustive)
    std::fprintf(stderr, "anyio: exhaustive: \"%s\": %llu schedules within %d preemptions: %s\n",
                 test_name, static_cast<unsigned long long>(s.seeds_run), s.preemption_bound,
                 s.covered ? "covered" : "NOT covered (stopped early)");
  if (const std::vector<std::string> unfired = s.never_fired(); !unfired.empty()) {
    std::string names;
    for (const std::string& n : unfired) names += (names.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "anyio: sweep: \"%s\": probes that never fired in %llu seeds: %s\n",
                 test_name, static_cast<unsigned long long>(s.seeds_run), names.c_str());
  }
  sweep_totals().merge(s);
  if (s.failures.empty()) return;
  fail_in_catch("sweep", std::to_string(s.failures.size()) + " of " +
                             std::to_string(s.seeds_run) + " seeds failed, the first: seed " +
                             std::to_string(s.failures[0].seed) + ": " +
                             describe(s.failures[0].outcome, s.failures[0].exception_type,
                                      s.failures[0].message));
}

void print_sweep_summary() {
  const harness_mode& m = mode();
  const sweep_state& st = sweep_progress_state();
  const sim::sweep_summary& t = sweep_totals();
  std::fprintf(stderr, "anyio: sweep: %llu seed runs, %llu failed",
               static_cast<unsigned long long>(t.seeds_run),
               static_cast<unsigned long long>(t.failures.size()));
  if (st.stopped)
    std::fprintf(stderr, " (stopped at --anyio-max-failures %llu)",
                 static_cast<unsigned long long>(m.max_failures));
  if (t.failures.empty()) {
    std::fprintf(stderr, "\n");
    return;
  }
  std::fprintf(stderr, ", %zu distinct failure%s:\n", st.distinct.size(),
               st.distinct.size() == 1 ? "" : "s");
  constexpr std::size_t shown = 20;
  for (std::size_t i = 0; i < st.distinct.size() && i < shown; ++i) {
    const distinct_failure& d = st.distinct[i];
    std::fprintf(stderr, "  %llu x \"%s\", first seed %llu: %s\n",
                 static_cast<unsigned long long>(d.count), d.test.c_str(),
                 static_cast<unsigned long long>(d.first.seed),
                 describe(d.first.outcome, d.first.exception_type, d.first.message).c_str());
    if (!d.first.trace_path.empty())
      std::fprintf(stderr, "    replay: %s\n    shrink: %s\n",
                   replay_command(d.test, d.first.trace_path).c_str(),
                   shrink_command(d.test, d.first.trace_path).c_str());
    else
      std::fprintf(stderr, "    rerun:  %s\n", rerun_command(d.test, d.first.seed).c_str());
  }
  if (st.distinct.size() > shown)
    std::fprintf(stderr, "  ... and %zu more (all in --json)\n", st.distinct.size() - shown);
  if (st.failures > st.traces)
    std::fprintf(stderr, "  traces kept for the first %llu failing seeds (--anyio-max-traces)\n",
                 static_cast<unsigned long long>(st.traces));
}

// ---- --anyio-help ----

struct help_entry {
  const char* option;
  const char* text;
};

// One table: a new option is one more line here (and its parsing below).
constexpr help_entry option_help[] = {
    {"--anyio-help", "this list"},
    {"--anyio-replay TRACE", "replay TRACE as the test case it names (exit 2 if none ran)"},
    {"--anyio-record SEED", "run sim seed SEED of the selected cases with a trace"},
    {"--anyio-shrink TRACE", "shrink a failing TRACE to TRACE.min.jsonl (fewest preemptions)"},
    {"--anyio-shrink-exact-message",
     "shrinking keeps only failures with the very same message (default: same exception"
     " type and failing assertion; numbers in the message may differ)"},
    {"--anyio-sweep FROM..TO",
     "run sim seeds FROM..TO-1 of the selected cases: one line per failing seed, a summary"},
    {"--anyio-max-failures N",
     "stop a sweep after N failing seeds (default: no limit; Catch2's -a / -x N too)"},
    {"--anyio-max-traces N", "trace only the first N failing seeds of a sweep (default 10)"},
    {"--shard K/N", "sweep: only every N-th seed, starting at the K-th (0 <= K < N)"},
    {"--json FILE", "sweep: write the summary to FILE (anyio-sim merge reads it)"},
    {"--anyio-regressions DIR",
     "replay the traces in DIR of this program's cases (of the filter's cases, if given)"},
    {"--strategy NAME", "sim scheduling: random (default), fifo, pct or exhaustive"},
    {"--pct-depth D", "pct: bug depth d (d-1 priority change points)"},
    {"--pct-steps N",
     "pct: steps per run, where change points fall (default: estimated from the test)"},
    {"--preemption-bound N",
     "exhaustive: run every schedule with at most N preemptions (default 2)"},
};

constexpr help_entry environment_help[] = {
    {"ANYIO_BACKEND", "realio, sim or both (default both)"},
    {"ANYIO_SEEDS", "sim seeds 0..N-1 per case (default 50, or the case's own)"},
    {"ANYIO_SEED", "just this sim seed"},
    {"ANYIO_TRACE_DIR", "where traces of failing seeds go (default ./anyio-traces)"},
    {"ANYIO_CHECK_DETERMINISM", "1: run every sim seed twice and compare the runs"},
    {"ANYIO_PROGRESS_SECONDS",
     "sweep progress lines when stderr is not a terminal (default every 5 s; 0: none)"},
};

void print_table(std::FILE* out, const help_entry* begin, const help_entry* end) {
  for (const help_entry* e = begin; e != end; ++e)
    std::fprintf(out, "  %-30s %s\n", e->option, e->text);
}

bool is_known_option(const std::string& a) {
  for (const help_entry& e : option_help) {
    std::string name = e.option;
    name = name.substr(0, name.find(' '));
    if (name == a) return true;
  }
  return false;
}

// A --json path that cannot be written fails now, not after the sweep.
void check_writable(const std::string& path) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  {
    std::ofstream probe(path, std::ios::app);
    if (!probe)
      throw std::invalid_argument("--json " + path + ": cannot write this file");
  }
  if (!existed) std::filesystem::remove(path, ec);
}

// ---- capturing Catch2 assertions ----

// Catch2's tests do not run concurrently: one capture is active at a time.
detail::assertion_scope::capture*& active_capture() {
  static detail::assertion_scope::capture* c = nullptr;
  return c;
}

}  // namespace

namespace detail {

// Sees every assertion before Catch2 does (Catch2 calls the current result
// capture), records the first failure of the run in words, and either
// passes everything on to Catch2's own capture or, quiet, only the passes.
class assertion_scope::capture final : public Catch::IResultCapture {
 public:
  capture(Catch::IResultCapture& next, bool quiet, std::string test,
          std::optional<std::uint64_t> seed)
      : next_(next), quiet_(quiet), test_(std::move(test)), seed_(seed) {}

  void begin_run() {
    failures_ = 0;
    first_.clear();
  }
  std::uint64_t failures() const noexcept { return failures_; }
  const std::string& first_failure() const noexcept { return first_; }

  bool sectionStarted(Catch::SectionInfo const& info, Catch::Counts& assertions) override {
    return next_.sectionStarted(info, assertions);
  }
  void sectionEnded(Catch::SectionEndInfo const& info) override { next_.sectionEnded(info); }
  void sectionEndedEarly(Catch::SectionEndInfo const& info) override {
    next_.sectionEndedEarly(info);
  }
  auto acquireGeneratorTracker(Catch::StringRef name, Catch::SourceLineInfo const& line)
      -> Catch::IGeneratorTracker& override {
    return next_.acquireGeneratorTracker(name, line);
  }
#if defined(CATCH_CONFIG_ENABLE_BENCHMARKING)
  void benchmarkPreparing(std::string const& name) override { next_.benchmarkPreparing(name); }
  void benchmarkStarting(Catch::BenchmarkInfo const& info) override {
    next_.benchmarkStarting(info);
  }
  void benchmarkEnded(Catch::BenchmarkStats<> const& stats) override {
    next_.benchmarkEnded(stats);
  }
  void benchmarkFailed(std::string const& error) override { next_.benchmarkFailed(error); }
#endif

  void pushScopedMessage(Catch::MessageInfo const& message) override {
    scoped_.push_back(message);
    if (!quiet_) next_.pushScopedMessage(message);
  }
  void popScopedMessage(Catch::MessageInfo const& message) override {
    scoped_.erase(std::remove(scoped_.begin(), scoped_.end(), message), scoped_.end());
    if (!quiet_) next_.popScopedMessage(message);
  }
  void emplaceUnscopedMessage(Catch::MessageBuilder const& builder) override {
    unscoped_.push_back(builder.m_info.message);
    if (!quiet_) next_.emplaceUnscopedMessage(builder);
  }

  void handleFatalErrorCondition(Catch::StringRef message) override {
    // The process is about to die: the commands go out now, on lines of
    // their own (Catch2's report wraps its messages).
    if (seed_) {
      std::fprintf(stderr,
                   "\nanyio: sim seed %llu of \"%s\" crashed: %s\n"
                   "  rerun this seed:  %s\n"
                   "  record a trace:   %s %s --anyio-record %llu\n",
                   static_cast<unsigned long long>(*seed_), test_.c_str(),
                   static_cast<std::string>(message).c_str(),
                   rerun_command(test_, *seed_).c_str(), program_path().c_str(),
                   shell_quote(test_).c_str(), static_cast<unsigned long long>(*seed_));
      std::fflush(stderr);
    }
    next_.handleFatalErrorCondition(message);
  }

  void handleExpr(Catch::AssertionInfo const& info, Catch::ITransientExpression const& expr,
                  Catch::AssertionReaction& reaction) override {
    const bool ok = expr.getResult() != Catch::isFalseTest(info.resultDisposition);
    if (!ok) {
      std::ostringstream expansion;
      expr.streamReconstructedExpression(expansion);
      record(info, " with expansion: " + expansion.str());
    }
    if (quiet_)
      react(info, ok, reaction);
    else
      next_.handleExpr(info, expr, reaction);
    unscoped_.clear();
  }
  void handleMessage(Catch::AssertionInfo const& info, Catch::ResultWas::OfType type,
                     Catch::StringRef const& message, Catch::AssertionReaction& reaction) override {
    const bool ok = Catch::isOk(type);
    if (!ok) record(info, " with message: " + static_cast<std::string>(message));
    if (quiet_)
      react(info, ok, reaction, type == Catch::ResultWas::Ok);
    else
      next_.handleMessage(info, type, message, reaction);
    unscoped_.clear();
  }
  void handleUnexpectedExceptionNotThrown(Catch::AssertionInfo const& info,
                                          Catch::AssertionReaction& reaction) override {
    record(info, " did not throw");
    if (quiet_)
      react(info, false, reaction);
    else
      next_.handleUnexpectedExceptionNotThrown(info, reaction);
    unscoped_.clear();
  }
  void handleUnexpectedInflightException(Catch::AssertionInfo const& info,
                                         std::string const& message,
                                         Catch::AssertionReaction& reaction) override {
    record(info, " threw: " + message);
    if (quiet_)
      react(info, false, reaction);
    else
      next_.handleUnexpectedInflightException(info, message, reaction);
    unscoped_.clear();
  }
  void handleIncomplete(Catch::AssertionInfo const& info) override {
    record(info, " did not complete");
    if (!quiet_) next_.handleIncomplete(info);
    unscoped_.clear();
  }
  void handleNonExpr(Catch::AssertionInfo const& info, Catch::ResultWas::OfType type,
                     Catch::AssertionReaction& reaction) override {
    const bool ok = Catch::isOk(type);
    if (!ok) record(info, " failed");
    if (quiet_)
      react(info, ok, reaction);
    else
      next_.handleNonExpr(info, type, reaction);
    unscoped_.clear();
  }

  bool lastAssertionPassed() override {
    return quiet_ ? last_passed_ : next_.lastAssertionPassed();
  }
  void assertionPassed() override {
    last_passed_ = true;
    next_.assertionPassed();
  }
  std::string getCurrentTestName() const override { return next_.getCurrentTestName(); }
  const Catch::AssertionResult* getLastResult() const override { return next_.getLastResult(); }
  void exceptionEarlyReported() override {
    if (!quiet_) next_.exceptionEarlyReported();
  }

 private:
  // "file.cpp:40: CHECK( total == 10 )" and what went wrong, on one line.
  void record(Catch::AssertionInfo const& info, const std::string& what) {
    ++failures_;
    if (failures_ != 1) return;
    std::string file = info.lineInfo.file;
    if (auto slash = file.find_last_of('/'); slash != std::string::npos) file.erase(0, slash + 1);
    first_ = file + ":" + std::to_string(info.lineInfo.line) + ": " +
             static_cast<std::string>(info.macroName);
    if (!info.capturedExpression.empty())
      first_ += "( " + static_cast<std::string>(info.capturedExpression) + " )";
    first_ += what;
    std::string notes;
    for (const Catch::MessageInfo& m : scoped_) notes += (notes.empty() ? "" : "; ") + m.message;
    for (const std::string& m : unscoped_) notes += (notes.empty() ? "" : "; ") + m;
    if (!notes.empty()) first_ += " [info: " + notes + "]";
    first_ = one_line(first_);
  }
  // Quiet: what Catch2 would do, without telling the reporter.
  void react(Catch::AssertionInfo const& info, bool ok, Catch::AssertionReaction& reaction,
             bool count_pass = true) {
    unscoped_.clear();
    last_passed_ = ok;
    if (ok) {
      if (count_pass) next_.assertionPassed();
      return;
    }
    reaction.shouldThrow = (info.resultDisposition & Catch::ResultDisposition::Normal) != 0;
  }

  Catch::IResultCapture& next_;
  bool quiet_;
  std::string test_;
  std::optional<std::uint64_t> seed_;
  std::uint64_t failures_ = 0;
  std::string first_;
  std::vector<Catch::MessageInfo> scoped_;
  std::vector<std::string> unscoped_;
  bool last_passed_ = true;
};

assertion_scope::assertion_scope(bool quiet, std::string test_name,
                                 std::optional<std::uint64_t> seed)
    : capture_(nullptr) {
  Catch::IResultCapture* next = Catch::getCurrentContext().getResultCapture();
  if (next == nullptr) return;  // not inside a Catch2 test: nothing to capture
  capture_ = new capture(*next, quiet, std::move(test_name), seed);
  previous_ = active_capture();
  previous_next_ = next;
  active_capture() = capture_;
  Catch::getCurrentMutableContext().setResultCapture(capture_);
}

assertion_scope::~assertion_scope() {
  if (capture_ == nullptr) return;
  Catch::getCurrentMutableContext().setResultCapture(previous_next_);
  active_capture() = previous_;
  delete capture_;
}

std::uint64_t assertion_scope::failures() const noexcept {
  return capture_ == nullptr ? 0 : capture_->failures();
}

namespace {
// The run's own frame: the capture it reports to is the one active when it
// starts (a run never outlives its scope).
anyio::task<> checked_run(sim::body_fn body) {
  assertion_scope::capture* cap = active_capture();
  if (cap != nullptr) cap->begin_run();
  std::exception_ptr error;
  try {
    co_await body();
  } catch (...) {
    error = std::current_exception();
  }
  // The assertion is the cause; a REQUIRE's TestFailureException (alone or
  // in an exception group) is only how it left the body.
  if (cap != nullptr && cap->failures() != 0) throw assertion_failure(cap->first_failure());
  if (error) std::rethrow_exception(error);
}
}  // namespace

sim::body_fn checked_body(sim::body_fn body) {
  return [body = std::move(body)]() { return checked_run(body); };
}

}  // namespace detail

void set_program_path(const std::string& path) { program_path_storage() = path; }
const std::string& program_path() { return program_path_storage(); }

harness_mode& mode() {
  static harness_mode m;
  return m;
}

sim::sweep_summary& sweep_totals() {
  static sim::sweep_summary totals;
  return totals;
}

std::string trace_dir() {
  const char* d = std::getenv("ANYIO_TRACE_DIR");
  return d != nullptr && *d != '\0' ? d : "anyio-traces";
}

bool register_case(const char* name, test_body body, case_options options) {
  registry()[name] = registered_case{name, body, options};
  return true;
}

const registered_case* find_case(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

void print_harness_help(std::FILE* out) {
  std::fprintf(out, "\nanyio options (docs/testing-with-sim.md):\n");
  print_table(out, std::begin(option_help), std::end(option_help));
  std::fprintf(out, "\nanyio environment variables:\n");
  print_table(out, std::begin(environment_help), std::end(environment_help));
}

namespace {

// The sim strategy options (docs/testing-with-sim.md, "Strategy options");
// true if `a` was one of them.
template <class Value>
bool parse_strategy_option(harness_mode& m, const std::string& a, Value& value) {
  if (a == "--strategy") {
    m.strategy = sim::strategy_from_string(value("--strategy"));
  } else if (a == "--pct-depth") {
    const std::uint64_t d = parse_u64("--pct-depth", value("--pct-depth"));
    if (d < 1 || d > 1000) throw std::invalid_argument("--pct-depth: expected 1..1000");
    m.pct_depth = static_cast<int>(d);
  } else if (a == "--pct-steps") {
    m.pct_steps = parse_u64("--pct-steps", value("--pct-steps"));
    if (m.pct_steps == 0) throw std::invalid_argument("--pct-steps: expected at least 1");
  } else if (a == "--preemption-bound") {
    const std::uint64_t p = parse_u64("--preemption-bound", value("--preemption-bound"));
    if (p > 1000) throw std::invalid_argument("--preemption-bound: expected 0..1000");
    m.preemption_bound = static_cast<int>(p);
  } else {
    return false;
  }
  return true;
}

}  // namespace

void parse_harness_args(int& argc, char** argv) {
  harness_mode& m = mode();
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (a == "--anyio-help") {
      m.help = true;
    } else if (a == "--anyio-replay") {
      m.replay_path = value("--anyio-replay");
    } else if (a == "--anyio-shrink") {
      m.shrink_path = value("--anyio-shrink");
    } else if (a == "--anyio-shrink-exact-message") {
      m.shrink_exact_message = true;
    } else if (a == "--anyio-record") {
      m.record_seed = parse_u64("--anyio-record", value("--anyio-record"));
    } else if (a == "--anyio-regressions") {
      m.regressions_dir = value("--anyio-regressions");
    } else if (a == "--anyio-max-failures") {
      m.max_failures = parse_u64("--anyio-max-failures", value("--anyio-max-failures"));
    } else if (a == "--anyio-max-traces") {
      m.max_traces = parse_u64("--anyio-max-traces", value("--anyio-max-traces"));
    } else if (a == "--anyio-sweep") {
      std::string r = value("--anyio-sweep");
      auto dots = r.find("..");
      if (dots == std::string::npos)
        throw std::invalid_argument("--anyio-sweep " + r + ": expected FROM..TO (TO excluded)");
      std::uint64_t from = parse_u64("--anyio-sweep FROM", r.substr(0, dots));
      std::uint64_t to = parse_u64("--anyio-sweep TO", r.substr(dots + 2));
      if (to <= from) throw std::invalid_argument("--anyio-sweep " + r + ": TO must exceed FROM");
      m.sweep = true;
      m.seeds = {from, to - from};
    } else if (a == "--shard") {
      std::string s = value("--shard");
      auto slash = s.find('/');
      if (slash == std::string::npos)
        throw std::invalid_argument("--shard " + s + ": expected K/N");
      m.shard = {parse_u64("--shard K", s.substr(0, slash)),
                 parse_u64("--shard N", s.substr(slash + 1))};
      if (m.shard.count == 0 || m.shard.index >= m.shard.count)
        throw std::invalid_argument("--shard " + s + ": need 0 <= K < N");
      m.shard_given = true;
    } else if (parse_strategy_option(m, a, value)) {
    } else if (a == "--json") {
      m.json_out = value("--json");
    } else if (a.rfind("--anyio-", 0) == 0 && !is_known_option(a)) {
      throw std::invalid_argument("unknown option " + a + " (--anyio-help lists them)");
    } else {
      argv[out++] = argv[i];
      continue;
    }
  }
  argc = out;
  argv[argc] = nullptr;
  if (m.shard_given && !m.sweep)
    throw std::invalid_argument("--shard only applies to a sweep: add --anyio-sweep FROM..TO");
  if (!m.json_out.empty() && !m.sweep)
    throw std::invalid_argument("--json writes a sweep's summary: add --anyio-sweep FROM..TO");
  if (!m.replay_path.empty() && !m.shrink_path.empty())
    throw std::invalid_argument("--anyio-replay and --anyio-shrink: one trace at a time");
  if (!m.json_out.empty()) check_writable(m.json_out);
}

int finish_harness(int rc) {
  harness_mode& m = mode();
  int status = rc;
  for (const std::string* path : {&m.replay_path, &m.shrink_path}) {
    if (path->empty() || m.trace_used) continue;
    const std::string flag = path == &m.replay_path ? "--anyio-replay" : "--anyio-shrink";
    std::string test;
    try {
      test = sim::trace_reader(*path, sim::unfinished_trace::accept).header().test;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "anyio: %s %s: %s\n", flag.c_str(), path->c_str(), e.what());
      status = std::max(status, 2);
      continue;
    }
    if (find_case(test) == nullptr)
      std::fprintf(stderr, "anyio: %s %s: the trace records test \"%s\", not a test of %s\n",
                   flag.c_str(), path->c_str(), test.c_str(), program_path().c_str());
    else
      std::fprintf(stderr,
                   "anyio: %s %s: the trace records test \"%s\", which did not run; run:\n"
                   "  %s %s %s %s\n",
                   flag.c_str(), path->c_str(), test.c_str(), program_path().c_str(),
                   shell_quote(test).c_str(), flag.c_str(), path->c_str());
    status = std::max(status, 2);
  }
  if (m.sweep) {
    print_sweep_summary();
    if (!m.json_out.empty()) {
      sim::sweep_summary& totals = sweep_totals();
      totals.first_seed = m.seeds.first;
      totals.seed_count = m.seeds.count;
      totals.shard = m.shard;
      totals.strategy = sim::to_string(m.strategy);
      std::ofstream out(m.json_out);
      out << totals.to_json() << "\n";
      if (!out) {
        std::fprintf(stderr, "anyio: cannot write %s\n", m.json_out.c_str());
        status = std::max(status, 2);
      }
    }
    // Catch2 counts failed assertions; a sweep's failing seeds are counted
    // here too, so the exit status never says "passed" with failures in it.
    if (!sweep_totals().failures.empty()) status = std::max(status, 1);
  }
  return status;
}

run_config config_from_env(std::uint64_t default_seeds) {
  run_config config;
  if (const char* b = std::getenv("ANYIO_BACKEND"); b != nullptr && *b != '\0') {
    std::string v = b;
    if (v == "realio") {
      config.sim = false;
    } else if (v == "sim") {
      config.realio = false;
    } else if (v != "both") {
      throw std::invalid_argument("ANYIO_BACKEND=" + v + ": expected realio, sim or both");
    }
  }
  if (const char* s = std::getenv("ANYIO_SEED"); s != nullptr && *s != '\0') {
    config.seeds.push_back(parse_u64("ANYIO_SEED", s));
    return config;
  }
  std::uint64_t n = default_seeds;
  if (const char* s = std::getenv("ANYIO_SEEDS"); s != nullptr && *s != '\0')
    n = parse_u64("ANYIO_SEEDS", s);
  for (std::uint64_t i = 0; i < n; ++i) config.seeds.push_back(i);
  return config;
}

std::string rerun_command(const std::string& test_name, std::uint64_t seed) {
  return "ANYIO_BACKEND=sim ANYIO_SEED=" + std::to_string(seed) + " " + program_path() + " " +
         shell_quote(test_name);
}

std::string replay_command(const std::string& test_name, const std::string& trace_path) {
  return program_path() + " " + shell_quote(test_name) + " --anyio-replay " + trace_path;
}

void run_case(const char* test_name, test_body body, case_options options) {
  const harness_mode& m = mode();
  if (!m.replay_path.empty()) return run_replay(test_name, body);
  if (!m.shrink_path.empty()) return run_shrink(test_name, body);
  if (m.record_seed) {
    if (options.sim) run_record(test_name, body, *m.record_seed);
    return;
  }
  if (m.sweep) {
    if (options.sim) run_sweep(test_name, body);
    return;
  }
  const run_config config = config_from_env(options.seeds);
  // realio first; whether it fails or not, the sim seeds run too, so a
  // failure comes with a seed and a trace whenever sim reproduces it.
  if (config.realio && options.realio) {
    INFO("backend: realio");
    std::exception_ptr error;
    bool reported = false;
    {
      detail::assertion_scope scope(false, test_name);
      try {
        anyio::run(detail::checked_body(body));
      } catch (...) {
        error = std::current_exception();
      }
      reported = scope.failures() != 0;
    }
    if (error) {
      std::fprintf(stderr, "anyio: realio run of \"%s\" failed: %s\n", test_name,
                   describe(error).c_str());
      if (!reported) fail_in_catch("realio", describe(error));
    }
  }
  if (!(config.sim && options.sim)) return;
  for (std::uint64_t seed : config.seeds) {
    INFO("backend: sim, seed " << seed);
    sim::options opts;
    opts.seed = seed;
    opts.test_name = test_name;
    sim::run_result r;
    {
      detail::assertion_scope scope(false, test_name, seed);
      r = sim::run_body(detail::checked_body(body), opts);
    }
    if (r.passed()) continue;
    trace_failing_seed(test_name, body, seed, r);
    if (r.exception_type != assertion_type)
      fail_in_catch("sim seed " + std::to_string(seed), describe(r));
    return;
  }
}

std::size_t replay_regressions(const std::string& dir,
                               const std::function<bool(const std::string&)>& selected) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  if (ec) throw std::runtime_error("--anyio-regressions " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::size_t replayed = 0;
  for (const auto& path : files) {
    sim::trace t = sim::read_trace(path.string());
    const registered_case* c = find_case(t.header.test);
    // Another program's trace, or a case the filter left out.
    if (c == nullptr || (selected && !selected(t.header.test))) continue;
    INFO("regression trace " << path.string() << " (" << t.header.test << ")");
    std::string outcome = "passed";
    std::string message;
    {
      detail::assertion_scope quiet(true, t.header.test);
      try {
        sim::replay(detail::checked_body(c->body), path.string());
      } catch (const sim::replay_divergence&) {
        throw;
      } catch (...) {
        auto d = describe_exception_parts(std::current_exception());
        outcome = "failed";
        message = d.message;
      }
    }
    // A known-bug fixture must still fail, with the recorded message.
    CHECK(outcome == t.outcome.kind);
    if (outcome == "failed") CHECK(message == t.outcome.message);
    ++replayed;
  }
  return replayed;
}

}  // namespace anyio::testing
