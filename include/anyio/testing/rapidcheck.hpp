// SPDX-License-Identifier: MIT
// RapidCheck integration (part of anyio::testing): an interleaving becomes
// part of RapidCheck's generated input, so RapidCheck's own shrinking
// minimises it. A generated schedule is a decision list (entry k picks ready
// task (k-1) mod n at decision k; 0 keeps the previous task running), so
// RapidCheck shrinking towards shorter lists and smaller numbers means
// shrinking towards fewer preemptions. The body may draw its own parameters
// with *rc::gen::... as in any property. A failure prints the sim seed,
// RapidCheck's reproduce string and a trace that --anyio-replay accepts.
// Public entry: <anyio/rapidcheck.hpp>.
#pragma once
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>

#include <rapidcheck.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace anyio::sim {
/// How RapidCheck prints a generated fault_plan (found by ADL): its JSON.
inline void showValue(const fault_plan& plan, std::ostream& os) { os << plan.to_json(); }
}  // namespace anyio::sim

namespace anyio::rc {

/// Decision lists: up to `max_decisions` entries in [0, max_choice].
::rc::Gen<std::vector<std::uint64_t>> schedules(std::size_t max_decisions = 64,
                                                std::uint64_t max_choice = 8);

struct pct_params {
  std::uint64_t seed = 0;
  int depth = 3;
  std::uint64_t steps = 1000;
};
/// PCT parameters: a seed, depth 1..max_depth, estimated steps up to max_steps.
::rc::Gen<pct_params> pct_parameters(int max_depth = 5, std::uint64_t max_steps = 2000);

/// Fault plans (sim::options::fault_decisions): for each purpose, up to
/// `max_decisions` decisions with values in [0, max_strength] (0: no fault).
/// RapidCheck shrinks them towards fewer, shorter lists of smaller values:
/// fewer and weaker faults.
::rc::Gen<sim::fault_decision_map> fault_plans(std::vector<std::string> purposes,
                                               std::size_t max_decisions = 16,
                                               std::uint64_t max_strength = 1);
/// Buggify plans: for each site, which of its first `max_calls` calls fire
/// (the site is enabled when one does). Shrinks towards fewer firing calls.
::rc::Gen<sim::fault_decision_map> buggify_plans(std::vector<std::string> sites,
                                                 std::size_t max_calls = 16);
/// What world_plans() generates.
struct world_plan_limits {
  /// The kinds that may be on (fault_plan's field names: "crash", "pause",
  /// "partition", "partition_one_way", "clog", "clock_jump", "udp_loss",
  /// "udp_duplicate", "udp_reorder", "tcp_reset"); empty: every kind.
  std::vector<std::string> kinds{};
  double max_rate = 0.2;            ///< each kind's rate is at most this
  std::uint64_t max_ticks = 10;     ///< faults last 1..max_ticks ticks
  clock::duration tick = std::chrono::milliseconds(100);
};
/// sim::world fault plans (sim::fault_plan, for options::plan or
/// world::set_plan): each kind off or on at a rate in (0, max_rate], in
/// steps of 1/1000, unswarmed. RapidCheck shrinks them towards fewer kinds
/// on, lower rates and shorter faults. Throws std::invalid_argument naming
/// an unknown kind.
::rc::Gen<sim::fault_plan> world_plans(world_plan_limits limits = {});

/// The faults a plan injects, "<kind>:<site> xN" (enabling decisions of a
/// buggify site not counted), for messages and checks.
std::vector<std::string> describe_fault_plan(const sim::fault_decision_map& plan);

struct interleaving_options {
  int tests = 100;                  ///< cases RapidCheck runs (before shrinking)
  std::size_t max_decisions = 64;   ///< length of generated decision lists
  std::uint64_t max_choice = 8;
  bool pct = false;                 ///< generate PCT parameters instead of decision lists
  std::uint64_t pct_max_steps = 100;  ///< pct: generated step estimates stay below this
  std::uint64_t max_steps = 100000; ///< a generated schedule that livelocks fails here
  std::string trace_dir{};          ///< default: anyio::testing::trace_dir()
};

struct interleaving_result {
  bool passed = true;
  std::string message{};        ///< the failure of the minimal counterexample
  std::string reproduce{};      ///< RapidCheck's reproduce string (RC_PARAMS="reproduce=...")
  std::string trace_path{};     ///< the counterexample's trace (strategy "replay")
  std::uint64_t seed = 0;       ///< the sim seed of the counterexample
  sim::schedule_stats counterexample{};  ///< its preemptions, steps, decisions
  explicit operator bool() const noexcept { return passed; }
};

/// Check that `body` passes under every interleaving RapidCheck generates
/// (and shrinks). With --anyio-replay TRACE naming `name` (and RapidCheck's
/// RC_PARAMS reproduce string, so the generators draw the same), replays it.
interleaving_result check_interleavings(const std::string& name, const sim::body_fn& body,
                                        const interleaving_options& opts = {});

}  // namespace anyio::rc
