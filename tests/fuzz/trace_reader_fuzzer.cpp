// SPDX-License-Identifier: MIT
// libFuzzer target for the trace reader (sim/trace_reader.cpp): any bytes go
// to anyio::sim::parse_trace, which must either return a trace or throw
// anyio::sim::trace_error. Anything else — another exception (uncaught, so
// std::terminate), a crash, an ASan or UBSan report, a hang past -timeout —
// is a finding. A trace that parses must also satisfy what the reader
// promises its users (replay, the anyio-sim tool), checked below; a reader
// with a small line limit must agree with it or refuse, and quoting any
// input must give a prefix of it and its length.
#include <anyio/sim_trace.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

// The reader's postconditions on a trace it accepted.
void check_accepted(const anyio::sim::trace& t) {
  std::uint64_t previous_line = 1;  // the header is on line 1 or later
  for (const anyio::sim::trace_event& e : t.events) {
    if (e.line <= previous_line) __builtin_trap();  // lines strictly increase
    previous_line = e.line;
    if (e.text.empty()) __builtin_trap();
    if (e.kind == "decide") {
      // At most 32 ready tasks are listed; "ready_total" counts the rest.
      if (e.ready.size() > 32 || e.ready_total < e.ready.size()) __builtin_trap();
      if (e.ready_total < 2 || e.chosen >= e.ready_total) __builtin_trap();
      if (e.ready_total > e.ready.size() && e.ready.size() != 32) __builtin_trap();
      if (e.chosen < e.ready.size() && e.ready[e.chosen] != e.task) __builtin_trap();
    }
    if (e.kind == "draw" && (e.bound == 0 || e.value >= e.bound)) __builtin_trap();
  }
  if (t.header.version != 1 || t.header.text.empty() || t.outcome.text.empty()) __builtin_trap();
  const std::string& o = t.outcome.kind;
  if (o != "passed" && o != "failed" && o != "deadlock" && o != "error") __builtin_trap();
}

// quote_trace_line: the text itself when short, else a prefix of it cut at
// most 3 bytes early (a UTF-8 boundary) and "… (N bytes)".
void check_quote(std::string_view text) {
  constexpr std::size_t keep = 64;
  const std::string q = anyio::sim::quote_trace_line(text, keep);
  if (text.size() <= keep) {
    if (q != text) __builtin_trap();
    return;
  }
  const std::string suffix = "\u2026 (" + std::to_string(text.size()) + " bytes)";
  if (q.size() < suffix.size() || q.compare(q.size() - suffix.size(), suffix.size(), suffix) != 0)
    __builtin_trap();
  const std::size_t cut = q.size() - suffix.size();
  if (cut > keep || cut + 3 < keep || text.substr(0, cut) != q.substr(0, cut)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<std::size_t> events;
  try {
    const anyio::sim::trace t = anyio::sim::parse_trace(text, "fuzz.jsonl");
    check_accepted(t);
    events = t.events.size();
  } catch (const anyio::sim::trace_error&) {  // the one expected way to refuse input
  }
  // A small line limit only adds refusals: a reader under it either throws
  // trace_error or reads what the unlimited reader read.
  try {
    anyio::sim::trace_reader r(text, "fuzz.jsonl", anyio::sim::unfinished_trace::error, 128);
    while (r.next() != nullptr) {
    }
    if (!events || r.events_read() != *events) __builtin_trap();
  } catch (const anyio::sim::trace_error&) {
  }
  check_quote(text);
  return 0;
}
