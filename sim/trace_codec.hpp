// SPDX-License-Identifier: MIT
// Encoding of trace lines (docs/trace-format.md): the header, one line per
// kernel or simulator event, and the outcome. Hand-written rather than built
// with nlohmann_json because tracing must stay cheap enough to leave on
// (bench/: traced vs untraced steps/s); the reader (trace_reader.cpp) parses
// with nlohmann_json and checks every field. Key order is fixed, numbers are
// integers, and nothing nondeterministic is written: equal runs give equal
// bytes.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/instrument.hpp>
#include <anyio/sim.hpp>

#include <string>
#include <string_view>

namespace anyio::sim::codec {

inline constexpr const char* format_name = "anyio-sim-trace";
inline constexpr int format_version = 1;

void append_json_string(std::string& out, std::string_view s);
void append_u64(std::string& out, std::uint64_t v);
void append_i64(std::string& out, std::int64_t v);

const char* event_name(event_kind kind) noexcept;

/// Replaces `out` with the header line for a run with these options.
void encode_header(std::string& out, const options& opts);
/// Replaces `out` with the line for one event.
void encode_event(std::string& out, const kernel_event& e);
/// Replaces `out` with the outcome line.
void encode_outcome(std::string& out, const run_outcome& o);

}  // namespace anyio::sim::codec
