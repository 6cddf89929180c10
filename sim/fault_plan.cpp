// SPDX-License-Identifier: MIT
// Fault plans (include/anyio/sim_world.hpp): their JSON form, swarm
// testing, and the nemesis that carries a plan out in a run. The nemesis
// follows sim/faults_api.hpp: each fault it may start is one fault decision
// (0: none; else how many ticks it lasts), so a replay serves the same
// faults and the shrinker removes or shortens them; once liveness mode
// begins, faults_enabled() is false and the nemesis stops (the backend's
// heal hook lifts what is still in force). A plan's fs_ rates go to the
// simulated filesystem (sim/files.cpp), which makes the same kind of
// decisions per file operation.
#include "world.hpp"

#include <anyio/errors.hpp>

#include "sim_backend.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace anyio::sim {

namespace {

using json = nlohmann::json;

struct rate_field {
  const char* name;
  double fault_plan::*rate;
};
constexpr rate_field rate_fields[] = {
    {"crash", &fault_plan::crash},
    {"pause", &fault_plan::pause},
    {"partition", &fault_plan::partition},
    {"partition_one_way", &fault_plan::partition_one_way},
    {"clog", &fault_plan::clog},
    {"clock_jump", &fault_plan::clock_jump},
    {"udp_loss", &fault_plan::udp_loss},
    {"udp_duplicate", &fault_plan::udp_duplicate},
    {"udp_reorder", &fault_plan::udp_reorder},
    {"tcp_reset", &fault_plan::tcp_reset},
};
// The filesystem's rates: in the JSON only when set, so a plan without disk
// faults writes what it wrote before they existed.
constexpr rate_field fs_rate_fields[] = {
    {"fs_read_error", &fault_plan::fs_read_error},
    {"fs_write_error", &fault_plan::fs_write_error},
    {"fs_sync_error", &fault_plan::fs_sync_error},
    {"fs_short_write", &fault_plan::fs_short_write},
    {"fs_no_space", &fault_plan::fs_no_space},
    {"fs_slow", &fault_plan::fs_slow},
};

const rate_field* find_rate(const std::string& key) {
  for (const auto& f : rate_fields)
    if (key == f.name) return &f;
  for (const auto& f : fs_rate_fields)
    if (key == f.name) return &f;
  return nullptr;
}

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("fault plan: '" + field + "' " + why);
}

}  // namespace

std::string fault_plan::to_json() const {
  json j;
  j["tick_ns"] = tick.count();
  j["start_ns"] = start.count();
  j["max_ticks"] = max_ticks;
  for (const auto& f : rate_fields) j[f.name] = this->*f.rate;
  for (const auto& f : fs_rate_fields)
    if (this->*f.rate != 0) j[f.name] = this->*f.rate;
  j["swarm"] = swarm;
  return j.dump();
}

fault_plan fault_plan::from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("fault plan: not JSON: ") + e.what());
  }
  if (!j.is_object()) throw std::invalid_argument("fault plan: expected a JSON object");
  fault_plan p;
  for (const auto& item : j.items()) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string key = item.key();
    const json& value = item.value();
    if (key == "tick_ns" || key == "start_ns") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < (key == "tick_ns" ? 1 : 0))
        bad(key, key == "tick_ns" ? "must be a positive integer" : "must be an integer >= 0");
      (key == "tick_ns" ? p.tick : p.start) = clock::duration(value.get<std::int64_t>());
    } else if (key == "max_ticks") {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1)
        bad(key, "must be an integer >= 1");
      p.max_ticks = value.get<std::uint64_t>();
    } else if (key == "swarm") {
      if (!value.is_boolean()) bad(key, "must be true or false");
      p.swarm = value.get<bool>();
    } else {
      const rate_field* f = find_rate(key);
      if (f == nullptr) bad(key, "is not a field of a fault plan");
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1)
        bad(key, "must be a probability in [0, 1]");
      p.*(f->rate) = value.get<double>();
    }
  }
  return p;
}

fault_plan fault_plan::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("fault plan file '" + path + "': cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::invalid_argument("fault plan file '" + path + "': cannot be read");
  try {
    return from_json(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("fault plan file '" + path + "': " + e.what());
  }
}

fault_plan fault_plan::swarm_all() {
  fault_plan p;
  p.crash = p.pause = p.partition = p.partition_one_way = p.clog = 0.05;
  p.clock_jump = 0.02;
  p.udp_loss = p.udp_duplicate = p.udp_reorder = 0.1;
  p.tcp_reset = 0.002;
  p.fs_read_error = p.fs_write_error = p.fs_sync_error = p.fs_no_space = 0.01;
  p.fs_short_write = p.fs_slow = 0.05;
  p.swarm = true;
  return p;
}

world& world::set_plan(const fault_plan& plan) {
  (void)fault_plan::from_json(plan.to_json());  // the same checks as a plan read from a file
  if (plan.tick <= clock::duration::zero() || plan.max_ticks < 1)
    throw usage_error("sim::world::set_plan: tick must be positive and max_ticks at least 1");
  spec_->plan = plan;
  return *this;
}

namespace detail {

namespace {

// Swarm testing: each kind is on with probability 1/2, at a rate drawn up
// to the plan's (a recorded draw, so the plan replays).
void swarm(fault_plan& plan, sim_backend& b) {
  auto pick = [&](const rate_field& f) {
    double& r = plan.*f.rate;
    if (r <= 0) return;
    const std::uint64_t v = b.random_below(1001, std::string("swarm.") + f.name);
    r = v < 500 ? 0 : r * static_cast<double>(v - 500) / 500.0;
  };
  for (const auto& f : rate_fields) pick(f);
  for (const auto& f : fs_rate_fields) pick(f);  // after: the network's draws stay as they were
  plan.swarm = false;
}

// The filesystem's rates, from the plan's start (nothing for a plan without).
void set_files(sim_backend& b, const fault_plan& plan) {
  fs::plan_rates r;
  r.read_error = plan.fs_read_error;
  r.write_error = plan.fs_write_error;
  r.sync_error = plan.fs_sync_error;
  r.short_write = plan.fs_short_write;
  r.no_space = plan.fs_no_space;
  r.slow = plan.fs_slow;
  r.start = plan.start.count();
  if (r.read_error > 0 || r.write_error > 0 || r.sync_error > 0 || r.short_write > 0 ||
      r.no_space > 0 || r.slow > 0)
    b.files_model().set_plan(r);
}

void set_links(net::world& net, const fault_plan& plan) {
  net::link_faults links;
  links.udp_loss = static_cast<std::uint32_t>(plan.udp_loss * 1e6);
  links.udp_duplicate = static_cast<std::uint32_t>(plan.udp_duplicate * 1e6);
  links.udp_reorder = static_cast<std::uint32_t>(plan.udp_reorder * 1e6);
  links.tcp_reset = static_cast<std::uint32_t>(plan.tcp_reset * 1e6);
  const auto n = static_cast<std::uint32_t>(net.hosts().size());
  for (std::uint32_t x = 1; x < n; ++x)
    for (std::uint32_t y = 0; y < n; ++y)
      if (x != y) {
        net.set_link(x, y, links);
        net.set_link(y, x, links);
      }
}

void isolate(world_run& r, std::uint32_t h, bool blocked) {
  for (std::uint32_t y = 1; y < r.net().hosts().size(); ++y)
    if (y != h) {
      if (blocked) {
        r.cut(h, y);
        r.cut(y, h);
      } else {
        r.uncut(h, y);
        r.uncut(y, h);
      }
    }
}

}  // namespace

void world_run::lift(const lasting_fault& f) {
  const std::string& an = net_.hosts()[f.a].name;
  switch (f.what) {
    case lasting_fault::kind::crash:
      net_.trace_fault("restart", an);
      net_.restart_host(f.a);
      start_host(f.a);
      return;
    case lasting_fault::kind::pause: pause(f.a, false); return;
    case lasting_fault::kind::isolate:
      net_.trace_fault("heal", an);
      isolate(*this, f.a, false);
      return;
    case lasting_fault::kind::one_way:
      net_.trace_fault("heal", an + " -> " + net_.hosts()[f.b].name);
      uncut(f.a, f.b);
      return;
    case lasting_fault::kind::clog:
      net_.trace_fault("unclog", an + " -> " + net_.hosts()[f.b].name);
      net_.set_clogged(f.a, f.b, false);
      return;
  }
}

void world_run::inject_host(sim_backend& b, const fault_plan& plan, std::uint32_t h,
                            std::vector<lasting_fault>& active) {
  using k = lasting_fault::kind;
  const std::string& name = net_.hosts()[h].name;
  const std::int64_t now = b.now(), tick = plan.tick.count();
  if (std::any_of(active.begin(), active.end(), [&](const lasting_fault& f) {
        return f.a == h && (f.what == k::crash || f.what == k::pause);
      }))
    return;  // down or paused: nothing more happens to it until it is back
  if (plan.crash > 0)
    if (std::uint64_t v = b.fault("crash", name, plan.crash, plan.max_ticks)) {
      crash(h);
      active.push_back({now + static_cast<std::int64_t>(v) * tick, k::crash, h});
      return;
    }
  if (plan.pause > 0)
    if (std::uint64_t v = b.fault("pause", name, plan.pause, plan.max_ticks)) {
      pause(h, true);
      active.push_back({now + static_cast<std::int64_t>(v) * tick, k::pause, h});
    }
  if (plan.partition > 0)
    if (std::uint64_t v = b.fault("partition", name, plan.partition, plan.max_ticks)) {
      net_.trace_fault("partition", name + " | *");
      isolate(*this, h, true);
      active.push_back({now + static_cast<std::int64_t>(v) * tick, k::isolate, h});
    }
  if (plan.clock_jump > 0)
    if (std::uint64_t v = b.fault("clock_jump", name, plan.clock_jump, 2 * plan.max_ticks)) {
      // Odd strengths jump back, even ones forward.
      const auto ticks = static_cast<std::int64_t>((v + 1) / 2);
      jump_clock(h, (v % 2 == 1 ? -ticks : ticks) * tick);
    }
}

void world_run::inject_link(sim_backend& b, const fault_plan& plan, std::uint32_t x,
                            std::uint32_t y, std::vector<lasting_fault>& active) {
  using k = lasting_fault::kind;
  const std::string site = net_.hosts()[x].name + ">" + net_.hosts()[y].name;
  const std::int64_t now = b.now(), tick = plan.tick.count();
  if (plan.partition_one_way > 0)
    if (std::uint64_t v =
            b.fault("partition_one_way", site, plan.partition_one_way, plan.max_ticks)) {
      net_.trace_fault("partition_one_way", site);
      cut(x, y);
      active.push_back({now + static_cast<std::int64_t>(v) * tick, k::one_way, x, y});
    }
  if (plan.clog > 0)
    if (std::uint64_t v = b.fault("clog", site, plan.clog, plan.max_ticks)) {
      net_.trace_fault("clog", site);
      net_.set_clogged(x, y, true);
      active.push_back({now + static_cast<std::int64_t>(v) * tick, k::clog, x, y});
    }
}

task<> world_run::nemesis(fault_plan plan) {
  sim_backend* b = current_sim_backend();
  ANYIO_ASSERT(b != nullptr);
  if (plan.swarm) swarm(plan, *b);
  net_.trace_fault("plan", plan.to_json());
  set_links(net_, plan);
  set_files(*b, plan);
  std::vector<lasting_fault> active;
  co_await sleep_until(clock::time_point(plan.start));
  for (;;) {
    co_await sleep(plan.tick);
    if (!b->faults_enabled()) co_return;  // liveness: the heal hook lifted the rest
    // Lift what has run its course, in the order it started.
    for (std::size_t i = 0; i < active.size();) {
      if (active[i].until > b->now()) {
        ++i;
        continue;
      }
      const lasting_fault f = active[i];
      active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      lift(f);
    }
    const auto n = static_cast<std::uint32_t>(net_.hosts().size());
    for (std::uint32_t h = 1; h < n; ++h) inject_host(*b, plan, h, active);
    for (std::uint32_t x = 1; x < n; ++x)
      for (std::uint32_t y = 1; y < n; ++y)
        if (x != y) inject_link(*b, plan, x, y, active);
  }
}

}  // namespace detail

}  // namespace anyio::sim
