// SPDX-License-Identifier: MIT
// Shared pieces of the anyio-sim command-line tool: the exit-code contract
// (0 ok, 1 differences or failures found, 2 bad usage or bad input), a small
// argument parser that names the offending argument, time formatting in
// human units, and the output buffer every subcommand writes through. Each
// subcommand lives in its own file (show.cpp, diff.cpp, merge.cpp,
// stats.cpp); main.cpp dispatches and turns errors into messages.
#pragma once
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace anyio::sim::tool {

inline constexpr int exit_ok = 0;
inline constexpr int exit_found = 1;  ///< diff: traces differ; merge: failures present
inline constexpr int exit_bad = 2;    ///< bad usage or bad input

/// Bad usage: main prints the message and the subcommand's usage line, exits 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Command-line arguments of one subcommand, split into options and operands.
class arguments {
 public:
  /// `valued` lists the options that take a value (`--width 80` or `--width=80`);
  /// `flags` those that do not. Anything else starting with '-' is a usage_error.
  arguments(const std::vector<std::string>& args, const std::vector<std::string>& valued,
            const std::vector<std::string>& flags);
  bool help() const { return help_; }
  bool flag(const std::string& name) const;
  std::optional<std::string> value(const std::string& name) const;
  /// The option's value as an integer in [min, max], or `fallback` if absent.
  std::uint64_t number(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                       std::uint64_t max) const;
  const std::vector<std::string>& operands() const { return operands_; }

 private:
  bool help_ = false;
  std::unordered_map<std::string, std::string> values_;
  std::vector<std::string> flags_;
  std::vector<std::string> operands_;
};

/// Buffered stdout: a million-event trace prints a million lines, so lines
/// are collected in one string and written in large blocks.
class output {
 public:
  explicit output(std::FILE* to = stdout) : to_(to) {}
  ~output() { flush(); }
  output(const output&) = delete;
  output& operator=(const output&) = delete;
  std::string& line() { return buf_; }
  /// Ends the current line; writes out the buffer when it is large.
  void end_line() {
    buf_ += '\n';
    if (buf_.size() > (1u << 16)) flush();
  }
  void print(const std::string& text) {
    buf_ += text;
    end_line();
  }
  void flush();

 private:
  std::FILE* to_;
  std::string buf_;
};

/// Virtual time with a fixed number of decimals: "1.500s" (3), "0.000250s" (6).
std::string seconds(std::int64_t ns, int decimals);
/// The fewest decimals (3, 6 or 9) that show `ns` exactly.
int decimals_for(std::int64_t ns);
/// A duration for prose: "1.5s", "250ms", "3us", "12ns".
std::string human_duration(std::int64_t ns);
/// `s` with control characters as \xNN: names in a trace are user data, and a
/// terminal escape in a hostile trace must not reach the terminal.
std::string printable(const std::string& s);
/// User data from a trace for a report: printable(), and past `keep` bytes
/// only its start and its length (quote_trace_line), so one huge name or
/// message does not flood the output.
std::string quoted(const std::string& s, std::size_t keep = 200);
/// POSIX shell quoting: 'it'\''s'.
std::string shell_quote(const std::string& s);
/// "random", or "pct (depth 3, 1000 steps)".
std::string describe_strategy(const trace_header& h);
/// "max_steps 1000, max virtual time 10s", or "none".
std::string describe_limits(const trace_header& h);
/// The outcome as a sentence plus indented detail lines (exception, blocked tasks).
std::vector<std::string> describe_outcome(const trace_outcome& o);

/// The sweep summary version this build writes and reads.
std::int64_t summary_version();
/// Whether `text` is a sweep summary (a JSON object of format anyio-sim-sweep).
bool is_sweep_summary(std::string_view text);
/// The same for a regular file of at most 64 MiB (false for anything else).
bool file_is_sweep_summary(const std::string& path);
/// A reader of the trace at `path`, unfinished traces accepted; a sweep
/// summary given instead is an error saying so.
trace_reader open_trace(const std::string& path);
/// A sweep summary, every field checked (summary.cpp); throws
/// std::runtime_error naming `path` and the field. `path` "-" reads stdin.
sweep_summary read_summary(const std::string& path);
sweep_summary parse_summary(const std::string& text, const std::string& path);
/// "K/N".
std::string shard_name(const sweep_summary& s);
/// "a, b, c".
std::string join(const std::vector<std::string>& items);
/// Each failure with the commands that replay and rerun it.
void describe_failures(output& out, const sweep_summary& m, const std::string& program);

/// The line numbers in A and B of the first body line (event or outcome)
/// where two traces differ, as `anyio-sim diff` finds it; nullopt if their
/// events and outcomes are equal (headers are not compared).
std::optional<std::pair<std::uint64_t, std::uint64_t>> first_difference(
    const std::string& path_a, const std::string& path_b);

int run_show(const std::vector<std::string>& args);
int run_diff(const std::vector<std::string>& args);
int run_merge(const std::vector<std::string>& args);
int run_stats(const std::vector<std::string>& args);
int run_html(const std::vector<std::string>& args);

extern const char* const show_usage;
extern const char* const diff_usage;
extern const char* const merge_usage;
extern const char* const stats_usage;
extern const char* const html_usage;

}  // namespace anyio::sim::tool
