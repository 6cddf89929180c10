// SPDX-License-Identifier: MIT
// check_interleavings: each RapidCheck case runs the body once on the
// simulator, following a generated decision list (or PCT parameters), with
// a trace written to a scratch file; when a case fails, that trace is kept
// as the counterexample. RapidCheck shrinks by re-running candidates, and the
// last failing run is its final, minimal counterexample — so the kept trace
// is the minimal one. The reproduce string comes from RapidCheck's own
// failure record. A failed Catch2 assertion in the body fails the case,
// like an exception (anyio::testing::detail::checked_body).
#include <anyio/rapidcheck.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <filesystem>
#include <unordered_map>

namespace rc::detail {
// Exported by librapidcheck, not declared in its installed headers.
std::string reproduceMapToString(const std::unordered_map<std::string, Reproduce>& map);
}  // namespace rc::detail

namespace anyio::rc {

namespace fs = std::filesystem;

::rc::Gen<std::vector<std::uint64_t>> schedules(std::size_t max_decisions,
                                                std::uint64_t max_choice) {
  return ::rc::gen::scale(1.0, ::rc::gen::mapcat(
      ::rc::gen::inRange<std::size_t>(0, max_decisions + 1), [max_choice](std::size_t n) {
        return ::rc::gen::container<std::vector<std::uint64_t>>(
            n, ::rc::gen::inRange<std::uint64_t>(0, max_choice + 1));
      }));
}

::rc::Gen<pct_params> pct_parameters(int max_depth, std::uint64_t max_steps) {
  return ::rc::gen::build<pct_params>(
      ::rc::gen::set(&pct_params::seed, ::rc::gen::inRange<std::uint64_t>(0, 1u << 20)),
      ::rc::gen::set(&pct_params::depth, ::rc::gen::inRange(1, max_depth + 1)),
      ::rc::gen::set(&pct_params::steps, ::rc::gen::inRange<std::uint64_t>(1, max_steps + 1)));
}

namespace {

// RapidCheck's global listener prints "Some of your RapidCheck properties
// had failures" at exit — wrong for a test that expects a failure; this
// harness prints its own report with the reproduce string instead.
class quiet_listener final : public ::rc::detail::TestListener {
 public:
  void onTestCaseFinished(const ::rc::detail::CaseDescription&) override {}
  void onShrinkTried(const ::rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const ::rc::detail::TestMetadata&, const ::rc::detail::TestResult&) override {
  }
};


namespace rcd = ::rc::detail;

// One check_interleavings call: where its traces go, how a case is run, and
// how a failure is minimised and reported.
class interleaving_check {
 public:
  interleaving_check(const std::string& name, const sim::body_fn& body,
                     const interleaving_options& opts)
      : name_(name), body_(testing::detail::checked_body(body)), opts_(opts) {
    dir_ = fs::absolute(opts.trace_dir.empty() ? testing::trace_dir() : opts.trace_dir);
    fs::create_directories(dir_);
    scratch_ = path(".last.jsonl");
    kept_ = path(".counterexample.jsonl");
    const std::string& replay = testing::mode().replay_path;
    replaying_ = !replay.empty() && sim::trace_reader(replay).header().test == name;
    if (replaying_) testing::mode().trace_used = true;
    metadata_.id = name;
    metadata_.description = name;
    params_ = rcd::configuration().testParams;
    params_.maxSuccess = opts.tests;
    // Same result on every run unless RC_PARAMS picks a seed: determinism is
    // a feature here too.
    const char* rc_params = std::getenv("RC_PARAMS");
    if (rc_params == nullptr || std::string(rc_params).find("seed=") == std::string::npos)
      params_.seed = std::hash<std::string>{}(name);
  }

  interleaving_result check() {
    // Every case's assertions are the property's to judge (a failed CHECK
    // fails the case), not Catch2's to print once per shrinking step.
    testing::detail::assertion_scope quiet(true, name_);
    quiet_listener listener;
    const rcd::TestResult result =
        rcd::checkProperty(rcd::toProperty([this] { run_case(); }), metadata_, params_, listener,
                           rcd::configuration().reproduce);
    rcd::FailureResult failure;
    if (!result.match(failure)) {
      std::cerr << "anyio: interleaving property \"" << name_ << "\": ";
      rcd::printResultMessage(result, std::cerr);
      std::cerr << "\n";
      out_.passed = result.is<rcd::SuccessResult>();
      return out_;
    }
    out_.passed = false;
    out_.trace_path = kept_;
    out_.reproduce = rcd::reproduceMapToString({{name_, failure.reproduce}});
    if (!replaying_) minimise(failure);
    report(failure.numSuccess);
    return out_;
  }

 private:
  std::string path(const char* suffix) const {
    return (dir_ / (sim::file_stem(name_) + suffix)).string();
  }

  // The generated input of one case, drawn in a fixed order (minimise()
  // draws the same values again when RapidCheck reproduces the case).
  sim::options draw_options() const {
    sim::options o;
    if (opts_.pct) {
      pct_params p = *pct_parameters(5, opts_.pct_max_steps);
      o.strategy = sim::strategy::pct;
      o.seed = p.seed;
      o.pct_depth = p.depth;
      o.pct_steps = p.steps;
    } else {
      o.strategy = sim::strategy::replay;
      o.schedule = *schedules(opts_.max_decisions, opts_.max_choice);
      o.schedule_by_index = true;
      o.seed = *::rc::gen::inRange<std::uint64_t>(0, 1000);
    }
    // Replaying: the values above are still drawn, so RapidCheck's
    // reproduction of the case sees the same generator calls, but the
    // schedule comes from the trace.
    if (replaying_) o = sim::detail::replay_options_for(testing::mode().replay_path);
    o.test_name = name_;
    o.max_steps = opts_.max_steps;
    return o;
  }

  void run_case() {
    sim::options o = draw_options();
    o.trace_path = scratch_;
    sim::run_result r = sim::run_body(body_, o);
    if (r.passed()) return;
    fs::copy_file(scratch_, kept_, fs::copy_options::overwrite_existing);
    out_.seed = o.seed;
    out_.counterexample = {r.preemptions, r.steps, r.decisions};
    out_.message = r.outcome + ": " + r.exception_type;
    if (!r.message.empty()) out_.message += ": " + r.message;
    RC_FAIL(out_.message);
  }

  // RapidCheck's shrinking stops at a local minimum of its own measure; our
  // shrinker then minimises preemptions. Each rerun happens inside
  // RapidCheck's reproduction of the counterexample, drawing the same values
  // in the same order, so the body's own *rc::gen draws repeat.
  void minimise(const rcd::FailureResult& failure) {
    auto context = [&](const std::function<void()>& rerun) {
      auto again = [&]() {
        (void)draw_options();
        rerun();
      };
      rcd::TestParams once = params_;
      once.maxSuccess = 1;
      once.disableShrinking = true;
      quiet_listener quiet;
      (void)rcd::checkProperty(rcd::toProperty(again), metadata_, once, quiet,
                               {{name_, failure.reproduce}});
    };
    const std::string minimal = path(".min.jsonl");
    sim::shrink_result s = sim::shrink(body_, kept_, minimal,
                                       {.max_runs = 500, .progress = false, .context = context});
    out_.trace_path = minimal;
    out_.counterexample = s.after;
  }

  void report(int passing_cases) const {
    std::fprintf(stderr,
                 "anyio: interleaving property \"%s\" failed after %d passing cases: %s\n"
                 "  sim seed:   %llu (%llu preemptions, %llu steps in the minimal case)\n"
                 "  reproduce:  RC_PARAMS=\"reproduce=%s\"\n"
                 "  trace:      %s\n"
                 "  replay it:  RC_PARAMS=\"reproduce=%s\" %s '%s' --anyio-replay %s\n",
                 name_.c_str(), passing_cases, out_.message.c_str(),
                 static_cast<unsigned long long>(out_.seed),
                 static_cast<unsigned long long>(out_.counterexample.preemptions),
                 static_cast<unsigned long long>(out_.counterexample.steps),
                 out_.reproduce.c_str(), out_.trace_path.c_str(), out_.reproduce.c_str(),
                 testing::program_path().c_str(),
                 Catch::getResultCapture().getCurrentTestName().c_str(),
                 out_.trace_path.c_str());
  }

  const std::string& name_;
  sim::body_fn body_;  // checked: a failed assertion fails the run
  const interleaving_options& opts_;
  fs::path dir_;
  std::string scratch_, kept_;
  bool replaying_ = false;
  rcd::TestMetadata metadata_;
  rcd::TestParams params_;
  interleaving_result out_;
};

}  // namespace

interleaving_result check_interleavings(const std::string& name, const sim::body_fn& body,
                                        const interleaving_options& opts) {
  return interleaving_check(name, body, opts).check();
}

}  // namespace anyio::rc
