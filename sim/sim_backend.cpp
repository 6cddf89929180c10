// SPDX-License-Identifier: MIT
// The deterministic backend: a virtual clock that starts at zero and jumps
// to the next deadline only when every task is blocked (trio's autojump
// clock), a seeded strategy choosing the next ready task, and the trace
// sinks. With no timer and no simulated event pending it reports a deadlock
// instead of waiting forever. Every choice comes from the one prng, so a
// seed names a whole run; decisions and draws can instead come from a
// recorded trace (replay).
#include "sim_backend.hpp"

#include <anyio/errors.hpp>

#include "trace_codec.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace anyio::sim::detail {

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
  }
  if (!opts_.trace_path.empty()) {
    std::filesystem::path p(opts_.trace_path);
    std::error_code ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    file_ = std::fopen(opts_.trace_path.c_str(), "wb");
    if (file_ == nullptr)
      throw std::runtime_error("sim: cannot write trace file '" + opts_.trace_path +
                               "': " + std::strerror(errno));
  }
}

sim_backend::~sim_backend() {
  if (file_ != nullptr) {
    flush();
    std::fclose(file_);
  }
}

std::string sim_backend::name() const { return "sim seed " + std::to_string(opts_.seed); }

void sim_backend::run_started() {
  if (traced_) {
    if (header_text_.empty()) codec::encode_header(header_text_, opts_);
    write_line(header_text_, nullptr);
  }
  strategy_ = make_strategy(opts_, rng_, [this](std::uint64_t bound, const char* purpose) {
    return draw(bound, purpose);
  });
}

bool sim_backend::wait_for_events(std::int64_t deadline) {
  throw_if_diverged();
  if (deadline == never) return false;
  const std::int64_t limit = opts_.max_virtual_time.count();
  if (limit > 0 && deadline > limit)
    throw liveness_error("sim: virtual time would pass max_virtual_time (" +
                         anyio::detail::format_duration(limit) + ") at seed " +
                         std::to_string(opts_.seed) + ", step " + std::to_string(picks_) +
                         ": the program keeps waiting on timers");
  if (deadline > now_) {
    const std::int64_t from = now_;
    now_ = deadline;
    if (traced_) {
      kernel_event e{event_kind::clock};
      e.step = picks_;
      e.time = now_;
      e.other = static_cast<std::uint64_t>(from);
      emit(e);
    }
  }
  return true;
}

std::size_t sim_backend::pick_next(const ready_view& ready) {
  throw_if_diverged();
  if (opts_.max_steps > 0 && picks_ >= opts_.max_steps)
    throw liveness_error("sim: the run exceeded max_steps (" + std::to_string(opts_.max_steps) +
                         ") at seed " + std::to_string(opts_.seed) +
                         ": a livelock, or a limit set too low");
  const bool scripted = script_ && script_->lenient;
  std::size_t i = scripted ? 0 : strategy_->pick(ready, picks_, previous_);
  if (ready.size() > 1) {
    // Preemptions are counted where someone looks: traces, the shrinker.
    const bool watched = scripted || decision_log_ != nullptr || traced_;
    const std::size_t prev = watched ? find_recent(ready, previous_) : ready.size();
    if (scripted)
      i = scripted_choice(ready, prev);
    else if (script_)
      i = follow_decision(ready, i);
    const bool preempted = prev < ready.size() && prev != i;
    ++decisions_;
    preemptions_ += preempted ? 1 : 0;
    if (decision_log_) {
      std::vector<std::uint64_t> ids(std::min<std::size_t>(ready.size(), 8));
      ids.resize(ready.copy_ids(ids.data(), ids.size()));
      decision_log_->push_back(
          {ready.task_id(i), preempted, i == (prev < ready.size() ? prev : 0), std::move(ids)});
    }
    if (traced_) trace_decision(ready, i);
  }
  previous_ = ready.task_id(i);
  ++picks_;
  return i;
}

void sim_backend::trace_decision(const ready_view& ready, std::size_t i) {
  ready_ids_.resize(codec::max_ready_listed);
  ready_ids_.resize(ready.copy_ids(ready_ids_.data(), codec::max_ready_listed));
  kernel_event e{event_kind::decision};
  e.step = picks_ + 1;  // the step being decided: the next "step" line has the same i
  e.time = now_;
  e.task = ready.task_id(i);
  e.task_name = ready.task_name(i);
  e.other = i;
  e.value2 = ready.size();
  e.ready = ready_ids_;
  emit(e);
  decided_task_ = e.task;
  decided_step_ = e.step;
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
  if (decision_pos_ >= script_->decisions.size()) return proposed;
  const trace_event& d = script_->decisions[decision_pos_++];
  std::size_t i = find_ready(ready, d.task);
  return i < ready.size() ? i : proposed;
}

std::uint64_t sim_backend::random_below(std::uint64_t bound, std::string_view purpose) {
  return draw(bound, purpose.empty() ? "user" : purpose);
}

std::uint64_t sim_backend::draw(std::uint64_t bound, std::string_view purpose) {
  // Always advance the generator, so a replay that serves recorded values
  // keeps it in step with the original run.
  std::uint64_t value = rng_.below(bound);
  if (script_ && draw_pos_ < script_->draws.size()) {
    const trace_event& d = script_->draws[draw_pos_];
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
  // A decide line names the task that takes the step it decides: the step
  // line that follows it would repeat it (docs/trace-format.md, "decide").
  if (e.kind == event_kind::step && e.task == decided_task_ && e.step == decided_step_) {
    decided_task_ = 0;
    return;
  }
  decided_task_ = 0;
  emit(e);
}

void sim_backend::emit(const kernel_event& e) {
  // Most lines of a step share its step number and time, and a task's id
  // and name never change: encode those parts once and copy them.
  codec::fragments reuse;
  if (e.step != prefix_step_ || e.time != prefix_time_ || prefix_.empty()) {
    codec::encode_prefix(prefix_, e.step, e.time);
    prefix_step_ = e.step;
    prefix_time_ = e.time;
  }
  reuse.prefix = prefix_;
  if (e.task != 0) {
    if (e.task >= task_fragments_.size()) task_fragments_.resize(e.task + 1024);
    std::string& f = task_fragments_[e.task];
    if (f.empty()) codec::encode_task(f, e.task, e.task_name);
    reuse.task = f;
  }
  char* start = reserve(codec::event_size_bound(e));
  commit(start, codec::encode_event(start, e, reuse), &e);
}

char* sim_backend::reserve(std::size_t bytes) {
  if (buffered_ + bytes + 1 > buffer_.size()) {
    flush();
    if (bytes + 1 > buffer_.size()) buffer_.resize(std::max<std::size_t>(bytes + 1, 1 << 20));
  }
  return buffer_.data() + buffered_;
}

void sim_backend::write_line(std::string_view line, const kernel_event* e) {
  char* start = reserve(line.size());
  std::memcpy(start, line.data(), line.size());
  commit(start, start + line.size(), e);
}

void sim_backend::commit(char* start, char* end, const kernel_event* e) {
  const std::string_view line(start, static_cast<std::size_t>(end - start));
  if (record_) record_->lines.emplace_back(line);
  if (expect_ && !diverged_) {
    const std::size_t n = expect_pos_++;
    const bool past_end = n >= expect_->lines.size();
    if (past_end || expect_->lines[n] != line) {
      std::string where = e == nullptr ? std::string("(header or outcome line)")
                                       : "(step " + std::to_string(e->step) + ", t=" +
                                             anyio::detail::format_duration(e->time) +
                                             (e->task != 0 ? ", task " + std::to_string(e->task) +
                                                                 " '" + std::string(e->task_name) +
                                                                 "'"
                                                           : std::string()) +
                                             ")";
      diverged_ = divergence{n + 1, past_end ? "<end of trace>" : expect_->lines[n],
                             std::string(line), where};
    }
  }
  if (file_ != nullptr) {  // keep the line (and its newline) for the file
    *end = '\n';
    buffered_ = static_cast<std::size_t>(end + 1 - buffer_.data());
  }
}

void sim_backend::flush() {
  if (file_ != nullptr && buffered_ != 0 &&
      std::fwrite(buffer_.data(), 1, buffered_, file_) != buffered_)
    file_failed_ = true;
  buffered_ = 0;
}

void sim_backend::report_divergence() {
  if (!diverged_ || !expect_) return;
  divergence d = *diverged_;
  expect_ = nullptr;  // report once; the run is torn down after this
  std::string what;
  if (d.expected == "<end of trace>") {
    what = "the run went on past the end of " + expect_source_ + " at line " +
           std::to_string(d.line) + " " + d.where + ":\n  actual:   " + d.actual;
  } else {
    what = (nondeterminism_ ? "nondeterminism: seed " + std::to_string(opts_.seed) +
                                  " ran differently the second time, from line "
                            : "replay of " + expect_source_ + " diverged at line ") +
           std::to_string(d.line) + " " + d.where + ":\n  expected: " + d.expected +
           "\n  actual:   " + d.actual;
  }
  if (nondeterminism_) throw nondeterminism_error(what, d.line, d.expected, d.actual);
  throw replay_divergence(what, d.line, d.expected, d.actual);
}

void sim_backend::run_finished(const run_outcome& outcome) {
  outcome_ = outcome;
  if (traced_) {
    codec::encode_outcome(line_, outcome);
    write_line(line_, nullptr);
    if (expect_ && !diverged_ && expect_pos_ < expect_->lines.size())
      diverged_ = divergence{expect_pos_ + 1, expect_->lines[expect_pos_], "<end of run>",
                             "(the run ended; the trace goes on)"};
  }
  if (file_ != nullptr) {
    flush();
    if (std::fclose(file_) != 0) file_failed_ = true;
    file_ = nullptr;
    if (file_failed_)
      throw std::runtime_error("sim: writing trace file '" + opts_.trace_path + "' failed");
  }
  throw_if_diverged();
}

}  // namespace anyio::sim::detail
