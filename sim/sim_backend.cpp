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
  strategy_ = make_strategy(opts_, [this](std::uint64_t bound, const char* purpose) {
    return purpose == nullptr ? rng_.below(bound) : draw(bound, purpose);
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
  std::size_t i = strategy_->pick(ready, picks_, previous_);
  if (ready.size() > 1) {
    if (script_) i = follow_decision(ready, i);
    if (traced_) {
      ready_ids_.clear();
      for (std::size_t k = 0; k < ready.size(); ++k) ready_ids_.push_back(ready.task_id(k));
      kernel_event e{event_kind::decision};
      e.step = picks_;
      e.time = now_;
      e.task = ready.task_id(i);
      e.task_name = ready.task_name(i);
      e.other = i;
      e.ready = ready_ids_;
      emit(e);
      throw_if_diverged();
    }
  }
  previous_ = ready.task_id(i);
  ++picks_;
  return i;
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

void sim_backend::on_event(const kernel_event& e) { emit(e); }

void sim_backend::emit(const kernel_event& e) {
  codec::encode_event(line_, e);
  write_line(line_, &e);
}

void sim_backend::write_line(const std::string& line, const kernel_event* e) {
  if (record_) record_->lines.push_back(line);
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
      diverged_ = divergence{n + 1, past_end ? "<end of trace>" : expect_->lines[n], line, where};
    }
  }
  if (file_ != nullptr) {
    file_buffer_ += line;
    file_buffer_ += '\n';
    if (file_buffer_.size() > (1u << 16)) flush();
  }
}

void sim_backend::flush() {
  if (file_ == nullptr || file_buffer_.empty()) return;
  if (std::fwrite(file_buffer_.data(), 1, file_buffer_.size(), file_) != file_buffer_.size())
    file_failed_ = true;
  file_buffer_.clear();
}

void sim_backend::throw_if_diverged() {
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
