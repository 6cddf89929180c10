// SPDX-License-Identifier: MIT
// The public entry points of the simulator that are not templates: backend
// factories for plain runs, determinism checks (record, then check) and
// replays (the trace's header supplies the options, its decide/draw events
// the script, its lines the expectation), and run_body, which turns any
// ending of a run into a run_result so sweeps and the harness can count.
#include <anyio/errors.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/sim_world.hpp>

#include "sim_backend.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace anyio::sim {

const char* to_string(strategy s) noexcept {
  switch (s) {
    case strategy::random: return "random";
    case strategy::fifo: return "fifo";
    case strategy::pct: return "pct";
    case strategy::replay: return "replay";
    case strategy::exhaustive: return "exhaustive";
  }
  return "unknown";
}

strategy strategy_from_string(const std::string& name) {
  if (name == "random") return strategy::random;
  if (name == "fifo") return strategy::fifo;
  if (name == "pct") return strategy::pct;
  if (name == "replay") return strategy::replay;
  if (name == "exhaustive") return strategy::exhaustive;
  throw std::invalid_argument("unknown sim strategy '" + name +
                              "': expected random, fifo, pct, replay or exhaustive");
}

namespace detail {

namespace {

struct replay_material {
  options opts;
  std::shared_ptr<expectation> expect;
  std::shared_ptr<script> follow;
  std::string header;
};

// The run a trace records: its header's seed, strategy and limits; the
// caller keeps where the new trace goes and what observes it.
options options_from_header(const trace_header& h, const options& base) {
  options opts = base;
  opts.seed = h.seed;
  opts.strategy = strategy_from_string(h.strategy);
  if (h.pct_depth > 0) opts.pct_depth = h.pct_depth;
  if (h.pct_steps > 0) opts.pct_steps = h.pct_steps;
  opts.max_steps = h.max_steps;
  opts.max_virtual_time = clock::duration(h.max_virtual_time_ns);
  opts.liveness_after = clock::duration(h.liveness_after_ns);
  if (h.liveness_after_ns > 0) opts.liveness_bound = clock::duration(h.liveness_bound_ns);
  opts.test_name = h.test;
  // The plan that ran, whatever the caller's: a trace alone replays.
  opts.plan = h.plan.empty()
                  ? nullptr
                  : std::make_shared<const fault_plan>(fault_plan::from_json(h.plan));
  return opts;
}

// Streams the trace: the expectation needs every line's text (a strict
// replay compares them byte for byte), the script only a task id per
// decision and three fields per draw, so no parsed event is kept.
replay_material load_replay(const options& base) {
  // An unfinished trace (the recorded run crashed) is followed up to where
  // it stops, so the replay reaches the crash again.
  trace_reader r(base.replay_path, unfinished_trace::accept);
  replay_material m;
  m.opts = options_from_header(r.header(), base);
  m.expect = std::make_shared<expectation>();
  m.expect->source = base.replay_path;
  m.expect->lines.push_back(r.header().text);
  m.follow = std::make_shared<script>();
  while (const trace_event* e = r.next()) {
    m.expect->lines.push_back(e->text);
    if (e->kind == "decide") m.follow->decision_tasks.push_back(e->task);
    if (e->kind == "draw") m.follow->draws.push_back({e->bound, e->value, e->purpose});
  }
  if (r.finished())
    m.expect->lines.push_back(r.outcome().text);
  else
    m.expect->unfinished = true;
  m.header = r.header().text;
  return m;
}

// The decision list a replay or exhaustive run follows (null for others).
std::shared_ptr<script> schedule_script(const options& opts) {
  if (opts.strategy != strategy::replay && opts.strategy != strategy::exhaustive) return nullptr;
  if (opts.strategy == strategy::exhaustive && opts.preemption_bound < 0)
    throw usage_error("sim: preemption_bound must not be negative");
  auto follow = std::make_shared<script>();
  follow->lenient = true;
  // An exhaustive run's schedule is always by index (explore_schedules).
  follow->by_index = opts.schedule_by_index || opts.strategy == strategy::exhaustive;
  follow->choices = opts.schedule;
  return follow;
}

// options::fault_decisions: served by purpose and occurrence (faults_api.hpp).
std::shared_ptr<script> with_fault_decisions(const options& opts, std::shared_ptr<script> sc) {
  if (!opts.fault_decisions) return sc;
  if (!sc) sc = std::make_shared<script>();  // follows nothing else
  sc->faults_keyed = true;
  for (const auto& [purpose, values] : *opts.fault_decisions) {
    if (!is_fault_purpose(purpose))
      throw usage_error("sim: fault_decisions has \"" + purpose +
                        "\", which is not a fault decision's purpose (\"fault:<kind>:<site>\")");
    sc->faults.emplace(purpose, values);
  }
  return sc;
}

std::unique_ptr<sim_backend> make_sim_backend(const options& opts) {
  if (opts.fault_decisions && !opts.replay_path.empty())
    throw usage_error("sim: fault_decisions cannot be followed with replay_path (the trace "
                      "records its own fault decisions)");
  if (!opts.replay_path.empty()) {
    replay_material m = load_replay(opts);
    return std::make_unique<sim_backend>(m.opts, nullptr, std::move(m.expect),
                                         std::move(m.follow), std::move(m.header));
  }
  if (auto follow = schedule_script(opts))
    return std::make_unique<sim_backend>(opts, nullptr, nullptr,
                                         with_fault_decisions(opts, std::move(follow)));
  if (!opts.schedule.empty())
    throw usage_error(
        "sim: options::schedule is followed only with strategy::replay or strategy::exhaustive");
  if (opts.pct_depth < 1) throw usage_error("sim: pct_depth must be at least 1");
  if (opts.strategy == strategy::pct && opts.pct_steps == 0)
    throw usage_error("sim: pct_steps must be at least 1 (sweep() estimates it when 0)");
  return std::make_unique<sim_backend>(opts, nullptr, nullptr,
                                       with_fault_decisions(opts, nullptr));
}

}  // namespace

std::unique_ptr<backend> make_backend(const options& opts) { return make_sim_backend(opts); }

std::shared_ptr<recording> new_recording() { return std::make_shared<recording>(); }

std::unique_ptr<backend> make_recording_backend(const options& opts,
                                                std::shared_ptr<recording> rec) {
  options first = opts;
  first.trace_path.clear();  // the checking run writes the file
  if (!first.replay_path.empty()) {
    replay_material m = load_replay(first);
    return std::make_unique<sim_backend>(m.opts, std::move(rec), nullptr, std::move(m.follow),
                                         std::move(m.header));
  }
  return std::make_unique<sim_backend>(first, std::move(rec), nullptr,
                                       with_fault_decisions(first, schedule_script(first)));
}

std::unique_ptr<backend> make_checking_backend(const options& opts,
                                               std::shared_ptr<recording> rec) {
  auto expect = std::make_shared<expectation>();
  expect->lines = std::move(rec->lines);
  expect->source = "the first run";
  expect->nondeterminism = true;
  std::shared_ptr<script> follow;
  std::string header;
  if (!opts.replay_path.empty()) {
    replay_material m = load_replay(opts);
    follow = std::move(m.follow);
    header = std::move(m.header);
  } else {
    follow = with_fault_decisions(opts, schedule_script(opts));
  }
  return std::make_unique<sim_backend>(opts, nullptr, std::move(expect), std::move(follow),
                                       std::move(header));
}

bool determinism_check_requested(const options& opts) {
  if (opts.check_determinism) return true;
  const char* env = std::getenv("ANYIO_CHECK_DETERMINISM");
  return env != nullptr && std::strcmp(env, "1") == 0;
}

options replay_options_for(const std::string& trace_path) {
  options base;
  base.replay_path = trace_path;
  // Only the header: the backend reads and checks the rest when the replay
  // starts (load_replay), and a large trace is not worth reading twice.
  return options_from_header(trace_reader(trace_path).header(), base);
}

}  // namespace detail

namespace {
run_result run_once(const body_fn& body, std::unique_ptr<backend> b, const options& opts) {
  auto* sb = static_cast<detail::sim_backend*>(b.get());
  try {
    anyio::detail::run_on(*b, anyio::detail::run_config{opts.observer},
                          [&body]() { return body(); });
  } catch (const replay_divergence&) {
    throw;
  } catch (...) {  // the backend recorded how the run ended
  }
  return sb->result(opts.trace_path);
}
}  // namespace

run_result run_body(const body_fn& body, const options& opts) {
  if (detail::determinism_check_requested(opts)) {
    auto rec = detail::new_recording();
    (void)run_once(body, detail::make_recording_backend(opts, rec), opts);
    return run_once(body, detail::make_checking_backend(opts, rec), opts);
  }
  return run_once(body, detail::make_backend(opts), opts);
}

}  // namespace anyio::sim
