// SPDX-License-Identifier: MIT
// Reading simulator traces (JSON Lines, docs/trace-format.md). The reader
// validates everything — format name and version, every field's presence
// and type — and reports the first problem as a trace_error naming the file,
// the line and the field, so a truncated, corrupted or foreign file is an
// error message, never a crash. Used by replay, the anyio-sim tool and the
// shrinker.
#pragma once
#include <anyio/backend.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace anyio::sim {

class trace_error : public std::runtime_error {
 public:
  trace_error(const std::string& what, std::uint64_t line, std::string field)
      : std::runtime_error(what), line_(line), field_(std::move(field)) {}
  /// 1-based line of the problem (0: the file as a whole).
  std::uint64_t line() const noexcept { return line_; }
  /// The offending field, or "" when the line itself is the problem.
  const std::string& field() const noexcept { return field_; }

 private:
  std::uint64_t line_;
  std::string field_;
};

struct trace_header {
  int version = 0;
  std::string test{};
  std::uint64_t seed = 0;
  std::string strategy{};
  int pct_depth = 0;
  std::uint64_t pct_steps = 0;
  std::uint64_t max_steps = 0;
  std::int64_t max_virtual_time_ns = 0;
  std::string text{};  ///< the line as written
};

/// One event line. Fields not used by `kind` are zero/empty.
struct trace_event {
  std::uint64_t line = 0;  ///< 1-based line number in the trace
  /// spawn step park wake cancel cancelled deadline exit decide draw clock
  std::string kind{};
  std::uint64_t step = 0;
  std::int64_t time = 0;
  std::uint64_t task = 0;
  std::string name{};
  std::uint64_t parent = 0;          ///< spawn
  std::string wait{};                ///< park
  bool error = false;                ///< wake: woken with an exception
  std::uint64_t scope = 0;           ///< cancel, deadline
  std::string reason{};              ///< cancel
  std::string outcome{};             ///< exit
  bool failed = false;               ///< exit
  std::vector<std::uint64_t> ready{};  ///< decide: ready task ids in queue order (first 32)
  std::uint64_t ready_total = 0;     ///< decide: how many tasks were ready
  std::uint64_t chosen = 0;          ///< decide: index into the ready queue
  std::string purpose{};             ///< draw
  std::uint64_t bound = 0;           ///< draw
  std::uint64_t value = 0;           ///< draw
  std::int64_t from = 0;             ///< clock: time before the jump
  std::string text{};                ///< the line as written
};

struct trace_outcome {
  std::string kind{};  ///< passed failed deadlock error
  std::uint64_t steps = 0;
  std::int64_t time = 0;
  std::string exception_type{};
  std::string message{};
  std::vector<run_outcome::blocked_task> blocked{};
  std::string text{};
};

struct trace {
  std::string source{};  ///< file name, for messages
  trace_header header{};
  std::vector<trace_event> events{};
  trace_outcome outcome{};
};

/// Parse a whole trace; throws trace_error naming `source`, line and field.
trace parse_trace(std::string_view text, const std::string& source = "<trace>");
/// Read and parse a trace file; throws trace_error (also if unreadable).
trace read_trace(const std::string& path);

}  // namespace anyio::sim
