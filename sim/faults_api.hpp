// SPDX-License-Identifier: MIT
// The convention every injected fault follows (buggify, and the simulated
// world's network, host and clock faults), so that replay follows faults and
// shrinking removes and weakens them without knowing what they are.
//
// A fault decision is one recorded draw, made through
// sim_backend::fault(kind, site, probability, max_strength):
//   - its purpose is "fault:<kind>:<site>" (fault_purpose): <kind> names the
//     fault ("buggify", "partition", "clog", "reset", "crash", ...; a
//     sub-decision of a kind is "<kind>.<sub>", e.g. "buggify.site", and is
//     listed under <kind>), <site> the place (a buggify name, a link
//     "db1>db2", a host);
//   - its value is 0 for "no fault" and 1..max_strength for a fault, the
//     strength growing with the value (a clog's length in units the injector
//     chooses, a count of lost packets, ...); its bound is max_strength + 1;
//   - the generator advances by the same words whatever value is served, so
//     a replay or shrink that serves another value keeps every later draw in
//     step.
// The injector must act on the value it gets back, never on what it would
// have drawn: replay serves recorded values, and the shrinker serves 0 to
// remove a fault and a lower value to weaken it. Decisions are keyed for the
// shrinker by (purpose, occurrence): the k-th decision with a purpose gets
// the k-th value; a decision beyond the script is 0 — no fault is the calm
// default, as keeping the running task is for scheduling.
//
// Liveness (options::liveness_after): once it begins, faults_enabled() is
// false, fault() returns 0 without drawing, and every hook registered with
// on_heal() runs once (heal partitions, release clogs, resume hosts).
// Injection code that acts without a decision (a plan's scheduled partition)
// must check faults_enabled() itself.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace anyio::sim::detail {

inline constexpr std::string_view fault_purpose_prefix = "fault:";

/// "fault:<kind>:<site>".
std::string fault_purpose(std::string_view kind, std::string_view site);
/// True for a draw made by sim_backend::fault().
inline bool is_fault_purpose(std::string_view purpose) noexcept {
  return purpose.substr(0, fault_purpose_prefix.size()) == fault_purpose_prefix;
}
/// How shrink summaries name a fault: "<kind>:<site>" without the "fault:"
/// prefix and without a kind's ".<sub>" part ("fault:buggify.site:x" ->
/// "buggify:x").
std::string fault_name(std::string_view purpose);

class sim_backend;
/// The simulator running a task on this thread, or null (realio, or no run).
sim_backend* current_sim_backend() noexcept;

}  // namespace anyio::sim::detail
