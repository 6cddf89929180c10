// SPDX-License-Identifier: MIT
// Reading simulator traces (JSON Lines, docs/trace-format.md). The reader
// validates everything — format name and version, every field's presence
// and type — and reports the first problem as a trace_error naming the file,
// the line and the field, so a truncated, corrupted or foreign file is an
// error message, never a crash. Used by replay, the anyio-sim tool and the
// shrinker. trace_reader streams a trace line by line in constant memory;
// read_trace / parse_trace load a whole trace, for traces known to be small.
// A line longer than the limit (1 MiB unless ANYIO_TRACE_MAX_LINE_BYTES says
// otherwise) is an error, found without holding the line, so one hostile
// line cannot take the memory or the time that quoting it would.
#pragma once
#include <anyio/backend.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace anyio::sim {

/// The trace format version this build writes and reads ("version" in the
/// header line).
inline constexpr int trace_format_version = 1;

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
  std::int64_t liveness_after_ns = 0;  ///< liveness mode (0: off)
  std::int64_t liveness_bound_ns = 0;
  std::string plan{};  ///< options.plan: the fault plan's JSON ("" = none)
  std::string text{};  ///< the line as written
};

/// One event line. Fields not used by `kind` are zero/empty.
struct trace_event {
  std::uint64_t line = 0;  ///< 1-based line number in the trace
  /// spawn step park wake cancel cancelled deadline exit decide draw clock net fs
  /// process
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
  std::string op{};                  ///< net: what was delivered (syn, data, ...); fs: the call
  std::string src{};                 ///< net: the sending endpoint ("127.0.0.1:5000")
  std::string dst{};                 ///< net: the receiving endpoint
  std::uint64_t bytes = 0;           ///< net: payload size (data, datagram, drop, window); fs too
  std::string path{};                ///< fs: the path operated on
  std::string result{};              ///< fs: "ok", "short", "torn" or an errno name
  std::string program{};             ///< process: argv[0] (op is spawn, signal, exit, not_found)
  std::int64_t pid = 0;              ///< process: the simulated pid (0 for not_found)
  std::int64_t code = 0;             ///< process: exit status (exit), signal (signal), else 0
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

/// Reads a trace one event at a time, holding one line and one event, so a
/// trace of millions of events takes as little memory as one of ten. It
/// checks exactly what read_trace checks, with the same messages, in file
/// order: a problem on line 7 is thrown by the next() that reaches line 7.
/// A moved-from reader may only be assigned to or destroyed.
/// ```
/// trace_reader r(path);                      // the header is read here
/// while (const trace_event* e = r.next()) {  // valid until the next call
///   ...
/// }
/// use(r.outcome());
/// ```
/// What a reader makes of a trace that ends without its outcome line: the
/// run crashed or was killed (a fatal signal still flushes every line the
/// run committed; docs/trace-format.md, "Unfinished traces").
enum class unfinished_trace {
  error,   ///< a trace_error "truncated: no outcome line" (read_trace)
  accept,  ///< the events up to there; a last line cut off mid-write is dropped
};

/// The longest trace line a reader accepts by default, newline excluded.
inline constexpr std::size_t default_max_line_bytes = std::size_t{1} << 20;

/// The reader's line limit: ANYIO_TRACE_MAX_LINE_BYTES (a number of bytes,
/// at least 1024) if set, else default_max_line_bytes. Throws
/// std::invalid_argument naming the variable if its value is not such a
/// number.
std::size_t max_line_bytes();

/// A line (or any text) for a message: whole if at most `keep` bytes, else
/// its first `keep` bytes (cut at a UTF-8 character boundary) followed by
/// "… (N bytes)". Divergence and diff reports quote lines through this.
std::string quote_trace_line(std::string_view line, std::size_t keep = 200);

class trace_reader {
 public:
  /// Opens the file and reads its header line; throws trace_error. A line
  /// longer than `max_line` bytes (0: max_line_bytes()) is a trace_error
  /// naming the file, the line and its length.
  explicit trace_reader(const std::string& path,
                        unfinished_trace unfinished = unfinished_trace::error,
                        std::size_t max_line = 0);
  /// Over a trace in memory; `text` must outlive the reader. `source` names
  /// it in messages.
  trace_reader(std::string_view text, std::string source,
               unfinished_trace unfinished = unfinished_trace::error,
               std::size_t max_line = 0);
  trace_reader(trace_reader&&) noexcept;
  trace_reader& operator=(trace_reader&&) noexcept;
  ~trace_reader();

  /// The file name (or `source`), for messages.
  const std::string& source() const noexcept;
  const trace_header& header() const noexcept;
  /// The next event, or nullptr once the outcome line has been read and
  /// nothing but blank lines follows it; then outcome() is valid. The event
  /// is overwritten by the next call. Throws trace_error at the first
  /// malformed line, at the end of a file without an outcome line
  /// (truncated) and for a line after the outcome; a reader that threw
  /// throws the same error again.
  const trace_event* next();
  /// How many events next() has returned.
  std::uint64_t events_read() const noexcept;
  /// The outcome line; throws std::logic_error before next() returned nullptr.
  /// For an accepted unfinished trace: kind "unfinished", text "".
  const trace_outcome& outcome() const;
  /// False once next() has returned nullptr at the end of an unfinished
  /// trace (unfinished_trace::accept).
  bool finished() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Parse a whole trace; throws trace_error naming `source`, line and field.
trace parse_trace(std::string_view text, const std::string& source = "<trace>");
/// Read and parse a trace file; throws trace_error (also if unreadable). It
/// holds every event: a million-event trace takes most of a gigabyte, where
/// trace_reader takes kilobytes.
trace read_trace(const std::string& path);

}  // namespace anyio::sim
