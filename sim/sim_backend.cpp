// SPDX-License-Identifier: MIT
// The deterministic backend: a virtual clock that starts at zero and jumps
// to the next deadline only when every task is blocked (trio's autojump
// clock), a seeded strategy choosing the next ready task, and the trace
// sinks. With no timer and no simulated event pending it reports a deadlock
// instead of waiting forever. Every choice comes from the one prng, so a
// seed names a whole run; decisions and draws can instead come from a
// recorded trace (replay).
#include "sim_backend.hpp"

#include <anyio/detail/assert.hpp>
#include <anyio/detail/explore_hooks.hpp>
#include <anyio/detail/network.hpp>
#include <anyio/errors.hpp>

#include "trace_codec.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace anyio::sim::detail {

namespace {
thread_local sim_backend* tls_sim = nullptr;
}  // namespace

sim_backend* current_sim_backend() noexcept { return tls_sim; }

std::string fault_purpose(std::string_view kind, std::string_view site) {
  std::string p(fault_purpose_prefix);
  p.append(kind).append(":").append(site);
  return p;
}

std::string fault_name(std::string_view purpose) {
  if (is_fault_purpose(purpose)) purpose.remove_prefix(fault_purpose_prefix.size());
  const std::size_t colon = purpose.find(':');
  const std::size_t dot = purpose.substr(0, colon).find('.');
  if (dot == std::string_view::npos) return std::string(purpose);
  return std::string(purpose.substr(0, dot)) + std::string(purpose.substr(colon));
}

sim_backend::sim_backend(const options& opts, std::shared_ptr<recording> record,
                         std::shared_ptr<const expectation> expect,
                         std::shared_ptr<const script> follow, std::string header_text)
    : opts_(opts),
      rng_(opts.seed),
      record_(std::move(record)),
      expect_(std::move(expect)),
      script_(std::move(follow)),
      header_text_(std::move(header_text)) {
  traced_ = !opts_.trace_path.empty() || record_ || expect_;
  if (expect_) {
    expect_source_ = expect_->source;
    nondeterminism_ = expect_->nondeterminism;
    expect_unfinished_ = expect_->unfinished;
  }
  if (!opts_.trace_path.empty()) file_ = std::make_unique<trace_file>(opts_.trace_path);
  if (opts_.liveness_after.count() < 0 || opts_.liveness_bound.count() < 0)
    throw usage_error("sim: liveness_after and liveness_bound must not be negative");
  liveness_at_ = opts_.liveness_after.count();
}

sim_backend::~sim_backend() {
  if (tls_sim == this) tls_sim = nullptr;
  // A socket that outlives the run keeps the world alive, not the backend.
  if (world_) world_->detach();
  if (files_world_) files_world_->detach();
}

anyio::detail::network* sim_backend::network() noexcept {
  if (!network_) {
    world_ = std::make_shared<net::world>(static_cast<net::services&>(*this));
    network_ = net::make_network(world_);
  }
  return network_.get();
}

anyio::detail::filesystem* sim_backend::filesystem() noexcept {
  if (!files_) {
    files_world_ = std::make_shared<fs::world>(static_cast<fs::services&>(*this));
    files_ = fs::make_filesystem(files_world_, "localhost");
  }
  return files_.get();
}

void sim_backend::deliver_files() {
  files_world_->deliver_due();
  throw_if_diverged();
}

void sim_backend::fs_trace(std::string_view op, std::string_view path, std::uint64_t bytes,
                           std::string_view result) {
  if (!traced_) return;
  codec::fragments reuse;
  reuse.prefix = prefix_for(picks_, now_);
  char* start = reserve(codec::fs_size_bound(op, path, result));
  const line_origin origin{picks_, now_, 0, {}};
  commit(start, codec::encode_fs(start, reuse, op, path, bytes, result), &origin);
}

anyio::detail::threads* sim_backend::threads() noexcept {
  if (!threads_) threads_ = std::make_unique<sim_threads>(static_cast<event_services&>(*this));
  return threads_.get();
}

anyio::detail::signals* sim_backend::signals() noexcept {
  if (!signals_) signals_ = std::make_unique<sim_signals>(static_cast<event_services&>(*this));
  return signals_.get();
}

void sim_backend::trace_event(const char* what, std::int64_t value) {
  // A net line from the simulated world ("signal" from "world" to "process").
  net_trace(what, "world", "process", static_cast<std::uint64_t>(value));
}

void sim_backend::schedule_event(std::int64_t at, std::function<void()> fn) {
  events_.emplace(std::make_pair(at, event_seq_++), std::move(fn));
}

void sim_backend::deliver_events() {
  while (!events_.empty() && events_.begin()->first.first <= now_) {
    auto fn = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    fn();
  }
  throw_if_diverged();
}

anyio::detail::process_service* sim_backend::processes() noexcept {
  if (!processes_) processes_ = make_process_service(static_cast<process_tracer&>(*this));
  return processes_.get();
}

void sim_backend::process_event(std::string_view op, std::string_view program, std::int64_t pid,
                                std::int64_t code) {
  if (!traced_) return;
  codec::fragments reuse;
  reuse.prefix = prefix_for(picks_, now_);
  char* start = reserve(codec::process_size_bound(op, program));
  const line_origin origin{picks_, now_, 0, {}};
  commit(start, codec::encode_process(start, reuse, op, program, pid, code), &origin);
}

std::int64_t sim_backend::wall_clock_ns() noexcept {
  return wall_clock_start_ns + (hosts_ ? hosts_->wall_clock(now_) : now_);
}

world_run& sim_backend::start_world(std::shared_ptr<const world_spec> spec) {
  if (hosts_) {
    if (hosts_->spec() != spec.get())
      throw usage_error("sim::world::run: another world already runs in this sim run");
    throw usage_error("sim::world::run: this world is already running");
  }
  (void)network();
  hosts_ = std::make_unique<world_run>(std::move(spec), *world_);
  return *hosts_;
}

void sim_backend::task_spawned(std::uint64_t id, std::uint64_t parent) {
  if (hosts_) hosts_->task_spawned(id, parent);
}

void sim_backend::task_exited(std::uint64_t id) {
  if (hosts_) hosts_->task_exited(id);
}

bool sim_backend::hold_task(std::uint64_t id) { return hosts_ && hosts_->hold_task(id); }

std::uint32_t sim_backend::net_host() noexcept { return hosts_ ? hosts_->current_host() : 0; }

void sim_backend::deliver_net() {
  world_->deliver_due();
  throw_if_diverged();
}

void sim_backend::net_trace(std::string_view op, std::string_view src, std::string_view dst,
                            std::uint64_t bytes) {
  if (!traced_) return;
  codec::fragments reuse;
  reuse.prefix = prefix_for(picks_, now_);
  char* start = reserve(codec::net_size_bound(op, src, dst));
  const line_origin origin{picks_, now_, 0, {}};
  commit(start, codec::encode_net(start, reuse, op, src, dst, bytes), &origin);
}

std::string sim_backend::name() const { return "sim seed " + std::to_string(opts_.seed); }

void sim_backend::run_started() {
  tls_sim = this;
  if (traced_) {
    if (header_text_.empty()) codec::encode_header(header_text_, opts_);
    write_line(header_text_);
  }
  // Only the random strategy's next pick is one draw of the generator.
  predict_ = opts_.strategy == strategy::random && !script_;
  strategy_ = make_strategy(opts_, rng_, [this](std::uint64_t bound, const char* purpose) {
    return draw(bound, purpose);
  });
}

bool sim_backend::wait_for_events(std::int64_t deadline) {
  throw_if_diverged();
  if (!events_.empty()) [[unlikely]] {
    // A thread's or a signal's event due first (before the network's at the
    // same time) moves the clock to it.
    const std::int64_t at = events_.begin()->first.first;
    if (at <= deadline && !(world_ && world_->pending() && world_->next_time() < at) &&
        !(files_world_ && files_world_->pending() && files_world_->next_time() < at)) {
      advance_clock(at);
      deliver_events();
      return true;
    }
  }
  if (world_ && world_->pending()) [[unlikely]] {
    // A delivery due before the deadline comes first: the clock moves to it.
    const std::int64_t at = world_->next_time();
    const bool files_first = files_world_ && files_world_->pending() &&
                             files_world_->next_time() < at;
    if (at <= deadline && !files_first) {
      advance_clock(at);
      deliver_net();
      return true;
    }
  }
  if (files_world_ && files_world_->pending()) [[unlikely]] {
    const std::int64_t at = files_world_->next_time();
    if (at <= deadline) {
      advance_clock(at);
      deliver_files();
      return true;
    }
  }
  if (deadline == never) return false;
  advance_clock(deadline);
  return true;
}

void sim_backend::advance_clock(std::int64_t to) {
  const std::int64_t limit = opts_.max_virtual_time.count();
  if (limit > 0 && to > limit)
    throw liveness_error("sim: virtual time would pass max_virtual_time (" +
                         anyio::detail::format_duration(limit) + ") at seed " +
                         std::to_string(opts_.seed) + ", step " + std::to_string(picks_) +
                         ": the program keeps waiting on timers");
  if (liveness_at_ > 0 && to >= liveness_at_ && !progressed_) [[unlikely]]
    check_liveness(to);
  if (to > now_) {
    const std::int64_t from = now_;
    now_ = to;
    if (traced_) {
      kernel_event e{event_kind::clock};
      e.step = picks_;
      e.time = now_;
      e.other = static_cast<std::uint64_t>(from);
      emit(e);
    }
  }
}

void sim_backend::begin_liveness() {
  faults_on_ = false;
  // A hook may heal by scheduling deliveries: they come at or after now.
  auto hooks = std::move(heal_hooks_);
  for (auto& heal : hooks) heal();
}

void sim_backend::check_liveness(std::int64_t to) {
  if (faults_on_) begin_liveness();
  if (opts_.liveness_progress && opts_.liveness_progress()) {
    progressed_ = true;
    return;
  }
  const std::int64_t bound = opts_.liveness_bound.count();
  const std::int64_t limit = liveness_at_ > never - bound ? never : liveness_at_ + bound;
  if (to <= limit) return;
  // Once: teardown may wait for events again, and must not fail.
  progressed_ = true;
  // The deadlock report's machinery: every live task and what it waits on.
  liveness_blocked_ = anyio::detail::blocked_tasks_now();
  std::string what = "liveness: no progress within " + anyio::detail::format_duration(bound) +
                     " after every fault healed at t=" +
                     anyio::detail::format_duration(liveness_at_) + " (seed " +
                     std::to_string(opts_.seed) + ", step " + std::to_string(picks_) +
                     "; the next event is at t=" + anyio::detail::format_duration(to) + "): " +
                     (opts_.liveness_progress ? "the progress condition is still false"
                                              : "the run has not finished") +
                     "\nblocked tasks:";
  for (const auto& t : liveness_blocked_)
    what += "\n  task " + std::to_string(t.id) + " '" + t.name + "' waits on " + t.wait;
  throw liveness_error(what);
}

std::size_t sim_backend::pick_next(const ready_view& ready) {
  throw_if_diverged();
  if (opts_.max_steps > 0 && picks_ >= opts_.max_steps)
    throw liveness_error("sim: the run exceeded max_steps (" + std::to_string(opts_.max_steps) +
                         ") at seed " + std::to_string(opts_.seed) +
                         ": a livelock, or a limit set too low");
  if (hosts_ && hosts_->any_paused()) [[unlikely]] {
    // A paused host's task cannot run: the kernel holds it (hold_task) as
    // soon as it is picked, so it is picked at once, with no decision, and
    // decisions choose among the tasks that can run.
    for (std::size_t k = 0; k < ready.size(); ++k)
      if (hosts_->hold_task(ready.task_id(k))) return k;
  }
  const bool scripted = script_ && script_->lenient;
  const std::size_t n = ready.size();
  // Where the kernel put the task that ran last, if it yielded and could go
  // on: choosing another one preempts it (a task that blocked and woke
  // since is not preempted — CHESS's definition).
  const std::size_t prev = ready.previous_index();
  ANYIO_ASSERT(prev <= n);
  std::size_t i = scripted ? 0 : strategy_->pick(ready, picks_, prev);
  if (n > 1) {
    if (scripted)
      i = scripted_choice(ready, prev);
    else if (script_)
      i = follow_decision(ready, i);
    const bool preempted = prev < n && prev != i;
    ++decisions_;
    preemptions_ += preempted ? 1 : 0;
    if (decision_log_) {
      std::vector<std::uint64_t> logged(std::min<std::size_t>(n, 8));
      logged.resize(ready.copy_ids(logged.data(), logged.size()));
      decision_log_->push_back({ready.task_id(i), preempted, i == (prev < n ? prev : 0),
                                std::move(logged), n, prev, i});
    }
    if (traced_) trace_decision(ready, n, i);
    if (predict_ && n >= 64) prefetch_next(ready, n, i);
  }
  ++picks_;
  return i;
}

void sim_backend::prefetch_next(const ready_view& ready, std::size_t n, std::size_t i) {
  // The next random pick draws the generator's next word (unless a user
  // draw comes first): peek at it on a copy and start loading the task it
  // will probably choose, so its frame is in cache when it runs. With many
  // ready tasks a uniform pick lands on a cold frame almost every time
  // (bench/ w1). The ready count then is n if this task yields, n-1 if it
  // blocks or ends; Lemire's draw maps the word to the same or the previous
  // index, so both are hinted. After take(i) the queue's index j is today's
  // j+1, except that the front task moves into slot i.
  prng peek = rng_;
  const std::uint64_t word = peek.next();
  const auto p = static_cast<std::size_t>((static_cast<unsigned __int128>(word) * n) >> 64);
  for (std::size_t next : {p, p == 0 ? p : p - 1}) {
    if (next + 1 >= n) continue;  // the task now running, pushed back
    ready.prefetch(next + 1 == i ? 0 : next + 1);
  }
}

void sim_backend::trace_decision(const ready_view& ready, std::size_t n, std::size_t i) {
  const std::size_t listed = std::min(n, codec::max_ready_listed);
  ready_ids_.resize(listed);
  ready.copy_ids(ready_ids_.data(), listed);
  const std::uint64_t* ids = ready_ids_.data();
  const std::uint64_t task = i < listed ? ids[i] : ready.task_id(i);
  const std::uint64_t step = picks_ + 1;  // the step decided: this line stands for its step line
  codec::fragments reuse;
  reuse.task = cached_task_fragment(task);
  if (reuse.task.empty()) reuse.task = task_fragment(task, ready.task_name(i));
  reuse.prefix = prefix_for(step, now_);
  char* start = reserve(codec::decide_size_bound(listed, reuse));
  char* end = codec::encode_decide(start, reuse, ids, listed, n, i);
  if (expect_) {  // only a compare sink can need the origin, for its message
    const line_origin origin{step, now_, task, ready.task_name(i)};
    commit(start, end, &origin);
  } else {
    commit(start, end, nullptr);
  }
  throw_if_diverged();
}

std::size_t sim_backend::scripted_choice(const ready_view& ready, std::size_t prev) {
  // Non-preemptive unless the script says otherwise: the default keeps the
  // previous task running, so an empty script has the fewest preemptions.
  const std::size_t fallback = prev < ready.size() ? prev : 0;
  const std::size_t k = decision_pos_++;
  if (k >= script_->choices.size() || script_->choices[k] == 0) return fallback;
  const std::uint64_t c = script_->choices[k];
  if (script_->by_index) return static_cast<std::size_t>((c - 1) % ready.size());
  std::size_t i = find_ready(ready, c);
  return i < ready.size() ? i : fallback;
}

std::size_t sim_backend::follow_decision(const ready_view& ready, std::size_t proposed) {
  if (decision_pos_ >= script_->decision_tasks.size()) return proposed;
  std::size_t i = find_ready(ready, script_->decision_tasks[decision_pos_++]);
  return i < ready.size() ? i : proposed;
}

std::uint64_t sim_backend::random_below(std::uint64_t bound, std::string_view purpose) {
  return draw(bound, purpose.empty() ? "user" : purpose);
}

std::uint64_t sim_backend::draw(std::uint64_t bound, std::string_view purpose) {
  // Always advance the generator, so a replay that serves recorded values
  // keeps it in step with the original run.
  return serve_draw(rng_.below(bound), bound, purpose);
}

std::uint64_t sim_backend::fault(std::string_view kind, std::string_view site,
                                 double probability, std::uint64_t max_strength) {
  ANYIO_ASSERT(max_strength >= 1);
  if (!faults_on_) return 0;
  // Two words whatever is served (faults_api.hpp): replay and shrink stay
  // in step. The roll has 2^24 steps: probabilities finer than that are 0.
  constexpr std::uint64_t scale = std::uint64_t{1} << 24;
  const std::uint64_t roll = rng_.below(scale);
  const std::uint64_t strength = 1 + rng_.below(max_strength);
  const double p = std::clamp(probability, 0.0, 1.0);
  const auto threshold = static_cast<std::uint64_t>(p * static_cast<double>(scale));
  const std::uint64_t bound = max_strength + 1;
  const std::string purpose = fault_purpose(kind, site);
  std::uint64_t value = roll < threshold ? strength : 0;
  if (script_ && script_->faults_keyed) {
    const std::uint64_t k = fault_occurrences_[purpose]++;
    const auto it = script_->faults.find(purpose);
    value = it != script_->faults.end() && k < it->second.size()
                ? std::min(it->second[k], max_strength)
                : 0;
  }
  value = serve_draw(value, bound, purpose);
  if (fault_log_) fault_log_->push_back({purpose, value, bound});
  return value;
}

std::uint64_t sim_backend::serve_draw(std::uint64_t value, std::uint64_t bound,
                                      std::string_view purpose) {
  if (script_ && draw_pos_ < script_->draws.size()) {
    const scripted_draw& d = script_->draws[draw_pos_];
    if (d.bound == bound && d.purpose == purpose) {
      value = d.value;
      ++draw_pos_;
    }
  }
  if (traced_) {
    kernel_event e{event_kind::draw};
    e.step = picks_;
    e.time = now_;
    e.other = value;
    e.value2 = bound;
    e.detail = purpose;
    emit(e);
  }
  return value;
}

void sim_backend::on_event(const kernel_event& e) {
  // No step event comes after a decide line: it stands for its step
  // (decisions_record_steps(); docs/trace-format.md, "decide"). Cancel
  // points are for explore_cancellation's counter, not the trace.
  if (e.kind == event_kind::cancel_point) return;
  emit(e);
}

void sim_backend::emit(const kernel_event& e) {
  codec::fragments reuse;
  reuse.prefix = prefix_for(e.step, e.time);
  if (e.task != 0) reuse.task = task_fragment(e.task, e.task_name);
  char* start = reserve(codec::event_size_bound(e));
  const line_origin origin{e.step, e.time, e.task, e.task_name};
  commit(start, codec::encode_event(start, e, reuse), &origin);
}

std::string_view sim_backend::prefix_for(std::uint64_t step, std::int64_t time) {
  // Most lines share the previous line's step and time, or take the next
  // step at the same time: then the digits are incremented in place.
  if (prefix_len_ != 0 && time == prefix_time_) {
    if (step == prefix_step_) return {prefix_, prefix_len_};
    if (step == prefix_step_ + 1) {
      char* first = prefix_ + codec::prefix_step_offset;
      char* d = first + step_digits_;
      while (d != first && *(d - 1) == '9') *--d = '0';
      if (d != first) {  // not all nines: the length is unchanged
        ++*(d - 1);
        prefix_step_ = step;
        return {prefix_, prefix_len_};
      }
    }
  }
  char* end = codec::encode_prefix(prefix_, step, time);
  prefix_len_ = static_cast<std::size_t>(end - prefix_);
  char* digits = prefix_ + codec::prefix_step_offset;
  step_digits_ = static_cast<std::size_t>(std::find(digits, end, ',') - digits);
  prefix_step_ = step;
  prefix_time_ = time;
  return {prefix_, prefix_len_};
}

std::string_view sim_backend::cached_task_fragment(std::uint64_t id) const noexcept {
  return id < task_fragments_.size() ? std::string_view(task_fragments_[id]) : std::string_view();
}

std::string_view sim_backend::task_fragment(std::uint64_t id, std::string_view name) {
  // A task's id and name never change: encode them once per task.
  if (id >= task_fragments_.size()) task_fragments_.resize(id + 1024);
  std::string& f = task_fragments_[id];
  if (f.empty()) codec::encode_task(f, id, name);
  return f;
}

char* sim_backend::reserve(std::size_t bytes) {
  if (file_) return file_->reserve(bytes + 1);  // + the newline
  if (bytes > scratch_.size()) scratch_.resize(std::max<std::size_t>(bytes, 4096));
  return scratch_.data();
}

void sim_backend::write_line(std::string_view line) {
  char* start = reserve(line.size());
  std::memcpy(start, line.data(), line.size());
  commit(start, start + line.size(), nullptr);
}

void sim_backend::commit(char* start, char* end, const line_origin* origin) {
  const std::string_view line(start, static_cast<std::size_t>(end - start));
  if (record_) record_->lines.emplace_back(line);
  if (expect_ && !diverged_) [[unlikely]] {
    const std::size_t n = expect_pos_++;
    const bool past_end = n >= expect_->lines.size();
    if (past_end || expect_->lines[n] != line) {
      std::string where = "(header or outcome line)";
      if (origin != nullptr) {
        where = "(step " + std::to_string(origin->step) +
                ", t=" + anyio::detail::format_duration(origin->time);
        if (origin->task != 0)
          where += ", task " + std::to_string(origin->task) + " '" +
                   quote_trace_line(origin->task_name, 80) + "'";
        where += ")";
      }
      diverged_ = divergence{n + 1, past_end ? "<end of trace>" : expect_->lines[n],
                             std::string(line), std::move(where)};
    }
  }
  if (file_) {  // keep the line (and its newline) for the file
    *end = '\n';
    file_->commit(end + 1);
  }
}

void sim_backend::report_divergence() {
  if (!probe_failed_.empty() && (!diverged_ || !expect_)) {
    // Once from the scheduler (teardown may wait for events: it must not
    // throw), once more from run_finished.
    if (probe_reported_) return;
    probe_reported_ = true;
    throw probe_failure(probe_failed_);
  }
  if (!diverged_ || !expect_) return;
  divergence d = *diverged_;
  expect_ = nullptr;  // report once; the run is torn down after this
  std::string what;
  if (d.expected == "<end of trace>") {
    what = "the run went on past the end of " + expect_source_ + " at line " +
           std::to_string(d.line) + " " + d.where + ":\n  actual:   " + quote_trace_line(d.actual);
    if (expect_unfinished_)
      what += "\n  (the recorded run stopped there without an outcome line: it crashed or was "
              "killed, and this run did not)";
  } else {
    what = (nondeterminism_ ? "nondeterminism: seed " + std::to_string(opts_.seed) +
                                  " ran differently the second time, from line "
                            : "replay of " + expect_source_ + " diverged at line ") +
           std::to_string(d.line) + " " + d.where + ":\n  expected: " +
           quote_trace_line(d.expected) + "\n  actual:   " + quote_trace_line(d.actual);
  }
  if (nondeterminism_) throw nondeterminism_error(what, d.line, d.expected, d.actual);
  throw replay_divergence(what, d.line, d.expected, d.actual);
}

run_result sim_backend::result(const std::string& trace_path) const {
  if (!trace_failure_.empty()) throw std::runtime_error(trace_failure_);
  run_result r;
  r.outcome = outcome_.kind.empty() ? "error" : outcome_.kind;
  r.exception_type = outcome_.exception_type;
  r.message = outcome_.message;
  r.steps = outcome_.steps;
  r.virtual_time_ns = outcome_.time;
  r.trace_path = trace_path;
  r.decisions = decisions_;
  r.preemptions = preemptions_;
  r.probes.reserve(probes_.size());
  for (const auto& [name, count] : probes_) r.probes.push_back(count);
  return r;
}

void sim_backend::run_finished(const run_outcome& outcome) {
  if (tls_sim == this) tls_sim = nullptr;
  outcome_ = outcome;
  if (!probe_failed_.empty()) {
    // Whatever the program made of the probe_failure, the run failed with it.
    outcome_.kind = "failed";
    outcome_.exception_type = "anyio::sim::probe_failure";
    outcome_.message = probe_failed_;
    outcome_.blocked.clear();
  } else if (!liveness_blocked_.empty() && outcome_.kind == "error") {
    outcome_.blocked = liveness_blocked_;  // the trace's outcome lists them too
  }
  if (traced_) {
    codec::encode_outcome(line_, outcome_);
    write_line(line_);
    if (expect_ && !diverged_ && expect_pos_ < expect_->lines.size())
      diverged_ = divergence{expect_pos_ + 1, expect_->lines[expect_pos_], "<end of run>",
                             "(the run ended; the trace goes on)"};
  }
  if (file_) {
    auto file = std::move(file_);
    try {
      file->close();
    } catch (const std::runtime_error& e) {
      trace_failure_ = e.what();
      throw;
    }
  }
  throw_if_diverged();
  if (!probe_failed_.empty()) throw probe_failure(probe_failed_);
}

}  // namespace anyio::sim::detail
