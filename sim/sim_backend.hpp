// SPDX-License-Identifier: MIT
// The simulator backend (private to sim/). One class serves every mode:
// a plain run, a traced run (file sink), the first run of a determinism
// check (memory sink) and the checking second run or a replay (compare
// sink: every line must equal the expected one). Divergence is only noted
// inside instrument callbacks — which may run inside a task — and thrown
// from the next scheduler call (pick_next, wait_for_events, run_finished),
// so it can never be caught by user code.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/instrument.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>

#include "faults_api.hpp"
#include "fs_world.hpp"
#include "net_world.hpp"
#include "process_support.hpp"
#include "prng.hpp"
#include "strategy.hpp"
#include "signals.hpp"
#include "threads.hpp"
#include "trace_codec.hpp"
#include "trace_file.hpp"
#include "world.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace anyio::sim::detail {

/// The lines of a run, kept in memory for a determinism check.
struct recording {
  std::vector<std::string> lines;
};

/// Lines a run must reproduce, and where they came from.
struct expectation {
  std::vector<std::string> lines;
  std::string source;        ///< for messages: a trace path, or "the first run"
  bool nondeterminism = false;  ///< report as nondeterminism_error
  bool unfinished = false;      ///< the recorded run stopped without an outcome line
};

/// A recorded random draw, to serve again when a draw with the same
/// purpose and bound comes.
struct scripted_draw {
  std::uint64_t bound = 0;
  std::uint64_t value = 0;
  std::string purpose{};
};

/// Decisions and draws to follow (strategy::replay / options::replay_path).
/// Only what following needs is kept: a replay of a million-step trace holds
/// a million decisions.
struct script {
  std::vector<std::uint64_t> decision_tasks;  ///< strict replay: the task each decide ran
  std::vector<scripted_draw> draws;           ///< draw events, in order
  /// Shrinking and generated schedules: decision k runs task choices[k] if it
  /// is ready (by_index: ready[(choices[k]-1) % n]); 0, a missing entry or an
  /// absent task means the default, which keeps the previous task running.
  bool lenient = false;
  bool by_index = false;
  std::vector<std::uint64_t> choices;
  /// Shrinking faults (faults_api.hpp): fault decisions are served from
  /// `faults` by purpose and occurrence, not from `draws`; one beyond its
  /// list is 0 (no fault).
  bool faults_keyed = false;
  std::map<std::string, std::vector<std::uint64_t>, std::less<>> faults;
};

/// One fault decision of a run (faults_api.hpp), for the shrinker.
struct fault_record {
  std::string purpose;
  std::uint64_t value = 0;  ///< 0: no fault
  std::uint64_t bound = 0;
};

/// One scheduling decision of a run, for the shrinker.
struct decision_record {
  std::uint64_t task = 0;       ///< the task chosen
  bool preemption = false;      ///< the previous task was ready and not chosen
  bool default_choice = false;  ///< what a non-preemptive scheduler would pick
  std::vector<std::uint64_t> ready{};  ///< the ready tasks (the first 8)
  std::size_t ready_count = 0;         ///< how many were ready
  std::size_t previous = 0;            ///< index of the task that yielded (ready_count: none)
  std::size_t chosen = 0;              ///< index chosen
};

class sim_backend final : public backend,
                          private instrument,
                          private net::services,
                          private fs::services,
                          private event_services,
                          private process_tracer {
 public:
  sim_backend(const options& opts, std::shared_ptr<recording> record,
              std::shared_ptr<const expectation> expect, std::shared_ptr<const script> follow,
              std::string header_text = {});
  ~sim_backend() override;

  std::int64_t now() noexcept override { return now_; }
  std::int64_t wall_clock_ns() noexcept override;
  bool wait_for_events(std::int64_t deadline) override;
  void poll_events() override {
    if (world_ && world_->pending()) [[unlikely]]
      deliver_net();
    if (files_world_ && files_world_->pending()) [[unlikely]]
      deliver_files();
    if (!events_.empty() && events_.begin()->first.first <= now_) [[unlikely]]
      deliver_events();
  }
  std::size_t pick_next(const ready_view& ready) override;
  std::uint64_t random_below(std::uint64_t bound, std::string_view purpose) override;
  instrument* backend_instrument() noexcept override { return traced_ ? this : nullptr; }
  bool decisions_record_steps() const noexcept override { return true; }
  anyio::detail::network* network() noexcept override;
  anyio::detail::filesystem* filesystem() noexcept override;
  anyio::detail::threads* threads() noexcept override;
  anyio::detail::signals* signals() noexcept override;
  anyio::detail::process_service* processes() noexcept override;
  std::string name() const override;
  void run_started() override;
  void run_finished(const run_outcome& outcome) override;

  const run_outcome& outcome() const noexcept { return outcome_; }
  std::uint64_t decisions() const noexcept { return decisions_; }
  std::uint64_t preemptions() const noexcept { return preemptions_; }
  /// Why the trace file could not be written ("" if it was): run_finished
  /// throws it, and run_body, which turns run errors into outcomes, must not.
  const std::string& trace_failure() const noexcept { return trace_failure_; }
  /// The finished run as run_body reports it; throws the trace failure, if
  /// any (a trace that could not be written is not an outcome of the program).
  run_result result(const std::string& trace_path) const;
  /// Simulated hosts (sim/world.cpp): the world of this run, started by
  /// sim::world::run (null before, and in runs without one).
  world_run* hosts() noexcept { return hosts_.get(); }
  const options& run_options() const noexcept { return opts_; }
  world_run& start_world(std::shared_ptr<const world_spec> spec);
  /// Record every decision into `log` (it must outlive the run).
  void log_decisions(std::vector<decision_record>* log) noexcept { decision_log_ = log; }

  // Faults (faults_api.hpp: the convention injectors follow).
  /// False once liveness mode has begun: inject nothing more.
  bool faults_enabled() const noexcept { return faults_on_; }
  /// A fault decision: 0 = no fault, else a strength in 1..max_strength
  /// (a fault with `probability`, its strength uniform). Recorded as a draw
  /// with purpose "fault:<kind>:<site>" and bound max_strength + 1.
  std::uint64_t fault(std::string_view kind, std::string_view site, double probability,
                      std::uint64_t max_strength = 1);
  /// Run `heal` once when liveness mode begins (all faults stop).
  void on_heal(std::function<void()> heal) { heal_hooks_.push_back(std::move(heal)); }
  /// Record every fault decision into `log` (it must outlive the run).
  void log_faults(std::vector<fault_record>* log) noexcept { fault_log_ = log; }
  /// The simulated filesystem's model, created if the run has none yet (a
  /// fault plan sets its rates before the program's first file call).
  fs::world& files_model() {
    (void)filesystem();
    return *files_world_;
  }

  // Buggify and coverage probes (sim/probes.cpp).
  bool buggify(std::string_view name);
  void probe(std::string_view kind, std::string_view name, bool cond);
  /// always() failed: the task gets a probe_failure now, and the run fails
  /// with it at the next scheduler call and in its outcome, even if the
  /// program catches it.
  [[noreturn]] void fail_probe(std::string_view name);

 private:
  void on_event(const kernel_event& e) override;
  // The simulated network (net_world.hpp): created at its first use, so a
  // run without sockets draws nothing for it and its trace is unchanged.
  std::int64_t net_now() noexcept override { return now_; }
  std::uint64_t net_draw(std::uint64_t bound, std::string_view purpose) override {
    return draw(bound, purpose);
  }
  void net_trace(std::string_view op, std::string_view src, std::string_view dst,
                 std::uint64_t bytes) override;
  bool net_traced() const noexcept override { return traced_; }
  void deliver_net();
  // The simulated filesystem (fs_world.hpp): created at its first use too.
  std::int64_t fs_now() noexcept override { return now_; }
  std::uint64_t fs_draw(std::uint64_t bound, std::string_view purpose) override {
    return draw(bound, purpose);
  }
  std::int64_t fs_wall_clock() noexcept override { return wall_clock_ns(); }
  std::uint64_t fs_fault(std::string_view kind, std::string_view site, double probability,
                         std::uint64_t max_strength) override {
    return fault(kind, site, probability, max_strength);
  }
  void fs_trace(std::string_view op, std::string_view path, std::uint64_t bytes,
                std::string_view result) override;
  void deliver_files();
  // Timed events of the threads and signals (event_services): created at
  // their first use, so a run without them draws and traces what it did before.
  std::int64_t event_now() noexcept override { return now_; }
  void schedule_event(std::int64_t at, std::function<void()> fn) override;
  void deliver_events();
  void trace_event(const char* what, std::int64_t value) override;
  void process_event(std::string_view op, std::string_view program, std::int64_t pid,
                     std::int64_t code) override;
  void task_spawned(std::uint64_t id, std::uint64_t parent) override;
  void task_exited(std::uint64_t id) override;
  bool hold_task(std::uint64_t id) override;
  std::uint32_t net_host() noexcept override;
  bool net_faults_enabled() noexcept override { return faults_on_; }
  std::uint64_t net_fault(std::string_view kind, std::string_view site,
                          double probability) override {
    return fault(kind, site, probability);
  }
  /// Move the virtual clock to `to` (a clock line in the trace).
  void advance_clock(std::int64_t to);
  void emit(const kernel_event& e);
  /// What a divergence message says a line belongs to.
  struct line_origin {
    std::uint64_t step;
    std::int64_t time;
    std::uint64_t task;
    std::string_view task_name;
  };
  void write_line(std::string_view line);
  char* reserve(std::size_t bytes);
  void commit(char* start, char* end, const line_origin* origin);
  std::string_view prefix_for(std::uint64_t step, std::int64_t time);
  std::string_view task_fragment(std::uint64_t id, std::string_view name);
  std::string_view cached_task_fragment(std::uint64_t id) const noexcept;
  void throw_if_diverged() {
    if (diverged_ || !probe_failed_.empty()) [[unlikely]]
      report_divergence();
  }
  void report_divergence();
  std::uint64_t draw(std::uint64_t bound, std::string_view purpose);
  /// `value` drawn for (bound, purpose), or what the script serves instead;
  /// traced as a draw line.
  std::uint64_t serve_draw(std::uint64_t value, std::uint64_t bound, std::string_view purpose);
  std::size_t follow_decision(const ready_view& ready, std::size_t proposed);
  std::size_t scripted_choice(const ready_view& ready, std::size_t prev);
  /// Hint the task the next random pick will probably choose (n >= 2).
  void prefetch_next(const ready_view& ready, std::size_t n, std::size_t i);
  /// The decide line; `n` = ready.size().
  void trace_decision(const ready_view& ready, std::size_t n, std::size_t i);

  options opts_;
  prng rng_;
  std::unique_ptr<scheduler_strategy> strategy_;
  std::int64_t now_ = 0;
  std::uint64_t picks_ = 0;
  bool traced_ = false;
  bool predict_ = false;  // prefetch_next() after each pick

  std::shared_ptr<recording> record_;
  std::shared_ptr<const expectation> expect_;
  std::string expect_source_;
  bool nondeterminism_ = false;
  bool expect_unfinished_ = false;
  std::shared_ptr<const script> script_;
  std::size_t expect_pos_ = 0;
  std::size_t decision_pos_ = 0;
  std::size_t draw_pos_ = 0;
  std::string header_text_;

  std::unique_ptr<trace_file> file_;
  std::vector<char> scratch_;  // one line, when there is no file to encode into
  std::string line_;
  std::vector<std::uint64_t> ready_ids_;
  // {"i":<step>,"t":<time> of the last line: consecutive lines mostly share
  // it or differ by one step, which is a digit increment (prefix_for).
  char prefix_[codec::prefix_size_bound];
  std::size_t prefix_len_ = 0;
  std::size_t step_digits_ = 0;
  std::uint64_t prefix_step_ = 0;
  std::int64_t prefix_time_ = 0;
  std::vector<std::string> task_fragments_;  // ,"task":..,"name":".." by task id
  std::uint64_t decisions_ = 0;
  std::uint64_t preemptions_ = 0;
  std::vector<decision_record>* decision_log_ = nullptr;

  struct divergence {
    std::uint64_t line;
    std::string expected;
    std::string actual;
    std::string where;
  };
  std::optional<divergence> diverged_;
  std::string trace_failure_;
  run_outcome outcome_;
  std::shared_ptr<net::world> world_;
  std::unique_ptr<anyio::detail::network> network_;
  std::unique_ptr<world_run> hosts_;

  // Faults and probes (faults_api.hpp): untouched by a run that uses none.
  bool faults_on_ = true;
  // Liveness mode: the virtual time at which it begins (0: off), and
  // whether progress was seen since.
  std::int64_t liveness_at_ = 0;
  bool progressed_ = false;
  std::vector<run_outcome::blocked_task> liveness_blocked_;  // of a liveness failure
  void begin_liveness();
  void check_liveness(std::int64_t to);
  std::vector<std::function<void()>> heal_hooks_;
  std::map<std::string, std::uint64_t, std::less<>> fault_occurrences_;  // keyed scripts
  std::vector<fault_record>* fault_log_ = nullptr;
  std::map<std::string, bool, std::less<>> buggify_sites_;  // enabled for this run?
  std::map<std::string, probe_count, std::less<>> probes_;
  std::string probe_failed_;  // always(): the message the run fails with
  bool probe_reported_ = false;

  std::shared_ptr<fs::world> files_world_;
  std::unique_ptr<anyio::detail::filesystem> files_;
  std::map<std::pair<std::int64_t, std::uint64_t>, std::function<void()>> events_;
  std::uint64_t event_seq_ = 0;
  std::unique_ptr<sim_signals> signals_;
  std::unique_ptr<anyio::detail::process_service> processes_;  // created at first use
  std::unique_ptr<sim_threads> threads_;  // last: its workers are joined first
};

}  // namespace anyio::sim::detail
