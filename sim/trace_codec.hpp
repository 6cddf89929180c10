// SPDX-License-Identifier: MIT
// Encoding of trace lines (docs/trace-format.md): the header, one line per
// kernel or simulator event, and the outcome. Hand-written rather than built
// with nlohmann_json because tracing must stay cheap enough to leave on
// (bench/sim_tracing.cpp: traced vs untraced steps/s): an event is formatted
// straight into the caller's buffer after one bound check. The reader
// (trace_reader.cpp) parses with nlohmann_json and checks every field. Key
// order is fixed, numbers are integers, and nothing nondeterministic is
// written: equal runs give equal bytes.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/instrument.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace anyio::sim::codec {

inline constexpr const char* format_name = "anyio-sim-trace";
inline constexpr int format_version = trace_format_version;
/// A decide event lists at most this many ready tasks (then "ready_total"),
/// so a run with 100,000 ready tasks does not write quadratic traces.
inline constexpr std::size_t max_ready_listed = 32;

void append_json_string(std::string& out, std::string_view s);

const char* event_name(event_kind kind) noexcept;

/// Replaces `out` with the header line for a run with these options.
void encode_header(std::string& out, const options& opts);
/// Replaces `out` with the outcome line.
void encode_outcome(std::string& out, const run_outcome& o);

/// Pre-encoded parts of an event line a writer may reuse across events:
/// `prefix` = `{"i":<step>,"t":<time>` and `task` = `,"task":<id>,"name":"<name>"`
/// (see encode_prefix / encode_task). Empty parts are encoded afresh.
struct fragments {
  std::string_view prefix{};
  std::string_view task{};
};
/// Writes `{"i":<step>,"t":<time>` (at most prefix_size_bound bytes) at
/// `out`; returns its end. The step's digits start at prefix_step_offset.
inline constexpr std::size_t prefix_size_bound = 48;
inline constexpr std::size_t prefix_step_offset = 5;
char* encode_prefix(char* out, std::uint64_t step, std::int64_t time) noexcept;
void encode_task(std::string& out, std::uint64_t task, std::string_view name);

/// An upper bound on the bytes encode_event writes for `e`.
inline std::size_t event_size_bound(const kernel_event& e) noexcept {
  // Fixed keys and numbers fit in 200 bytes; a string escapes to at most
  // six bytes per byte; a listed ready id takes at most 21.
  const std::size_t listed = e.ready.size() < max_ready_listed ? e.ready.size() : max_ready_listed;
  return 200 + 6 * (e.task_name.size() + e.detail.size()) + 21 * listed;
}
/// Writes the line for one event (no newline) at `out`; returns its end.
char* encode_event(char* out, const kernel_event& e, const fragments& reuse = {}) noexcept;
/// The line of a decide event from its parts, as encode_event writes it:
/// `ids` = the first `listed` ready task ids (listed <= max_ready_listed),
/// `total` = how many are ready, `chosen` = the index run. Both fragments
/// must be given (the decide fast path of the sim backend).
inline std::size_t decide_size_bound(std::size_t listed, const fragments& reuse) noexcept {
  return 80 + reuse.prefix.size() + reuse.task.size() + 21 * listed;
}
char* encode_decide(char* out, const fragments& reuse, const std::uint64_t* ids, std::size_t listed,
                    std::uint64_t total, std::uint64_t chosen) noexcept;
/// The line of a network delivery (the sim network's `net` event):
/// `{"i":..,"t":..,"ev":"net","op":"data","src":"..","dst":"..","bytes":N}`.
/// Sizes and endpoints only, never payload. `reuse.prefix` must be given.
inline std::size_t net_size_bound(std::string_view op, std::string_view src,
                                  std::string_view dst) noexcept {
  return prefix_size_bound + 100 + 6 * (op.size() + src.size() + dst.size());
}
char* encode_net(char* out, const fragments& reuse, std::string_view op, std::string_view src,
                 std::string_view dst, std::uint64_t bytes) noexcept;
/// The line of a simulated filesystem operation (the `fs` event):
/// `{"i":..,"t":..,"ev":"fs","op":"write","path":"..","bytes":N,"result":"ok"}`.
/// `result` is "ok", "short", "torn" or an errno name. `reuse.prefix` must be given.
inline std::size_t fs_size_bound(std::string_view op, std::string_view path,
                                 std::string_view result) noexcept {
  return prefix_size_bound + 100 + 6 * (op.size() + path.size() + result.size());
}
char* encode_fs(char* out, const fragments& reuse, std::string_view op, std::string_view path,
                std::uint64_t bytes, std::string_view result) noexcept;

/// The line of a simulated process's life (sim/process.cpp):
/// `{"i":..,"t":..,"ev":"process","op":"spawn","program":"cat","pid":1000,"code":0}`.
/// `code`: the exit status (exit; minus the signal if one ended it), the
/// signal (signal), else 0. `reuse.prefix` must be given.
inline std::size_t process_size_bound(std::string_view op, std::string_view program) noexcept {
  return prefix_size_bound + 120 + 6 * (op.size() + program.size());
}
char* encode_process(char* out, const fragments& reuse, std::string_view op,
                     std::string_view program, std::int64_t pid, std::int64_t code) noexcept;
/// Replaces `out` with the line for one event (for tools and tests).
void encode_event(std::string& out, const kernel_event& e);

}  // namespace anyio::sim::codec
