// SPDX-License-Identifier: MIT
// Buggify and coverage probes. buggify() is FoundationDB's BUGGIFY: a site
// is enabled for a run with one fault decision, then fires with another at
// each call, both following the fault convention (faults_api.hpp) so replay
// follows them and shrinking drops the sites a failure does not need.
// Probes count per run (run_result::probes) and a sweep adds them up, so a
// test can show that the situations it means to test really happen; always()
// is an invariant that fails the whole run, whatever the program catches.
// On realio (no simulator on the thread) buggify is false, sometimes and
// reachable do nothing and always throws.
#include <anyio/sim.hpp>

#include "faults_api.hpp"
#include "sim_backend.hpp"

namespace anyio::sim {

namespace detail {

bool sim_backend::buggify(std::string_view name) {
  auto site = buggify_sites_.find(name);
  if (site == buggify_sites_.end()) {
    const bool enabled = fault("buggify.site", name, opts_.buggify_site_probability) != 0;
    site = buggify_sites_.emplace(std::string(name), enabled).first;
  }
  return site->second && fault("buggify", name, opts_.buggify_fire_probability) != 0;
}

void sim_backend::probe(std::string_view kind, std::string_view name, bool cond) {
  auto it = probes_.find(name);
  if (it == probes_.end()) {
    probe_count c;
    c.name = name;
    c.kind = kind;
    it = probes_.emplace(std::string(name), std::move(c)).first;
  }
  ++it->second.evaluations;
  if (cond) {
    if (it->second.hits++ == 0) it->second.seeds = 1;
  }
}

void sim_backend::fail_probe(std::string_view name) {
  std::string message = "sim::always(\"" + std::string(name) + "\") failed: the condition was "
                        "false at seed " + std::to_string(opts_.seed) + ", step " +
                        std::to_string(picks_) + ", t=" + anyio::detail::format_duration(now_);
  if (probe_failed_.empty()) probe_failed_ = message;
  throw probe_failure(message);
}

}  // namespace detail

bool buggify(std::string_view name) {
  detail::sim_backend* b = detail::current_sim_backend();
  return b != nullptr && b->buggify(name);
}

void sometimes(bool cond, std::string_view name) {
  if (detail::sim_backend* b = detail::current_sim_backend()) b->probe("sometimes", name, cond);
}

void reachable(std::string_view name) {
  if (detail::sim_backend* b = detail::current_sim_backend()) b->probe("reachable", name, true);
}

void always(bool cond, std::string_view name) {
  detail::sim_backend* b = detail::current_sim_backend();
  if (b == nullptr) {
    if (!cond)
      throw probe_failure("sim::always(\"" + std::string(name) +
                          "\") failed: the condition was false");
    return;
  }
  b->probe("always", name, cond);
  if (!cond) b->fail_probe(name);
}

}  // namespace anyio::sim
