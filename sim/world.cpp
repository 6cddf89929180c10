// SPDX-License-Identifier: MIT
// sim::world (include/anyio/sim_world.hpp) and the state of one of its runs
// (world.hpp). Hosts are numbered as the network numbers them: 0 is
// "localhost", the controlling host the run's body and test live on; the
// world's hosts follow in the order added. A task's host is looked up by
// task id in a map filled at spawn (only once a world runs, so runs
// without one pay nothing). Faults go to the network (net_world.cpp) and
// the kernel (runtime/hosts.cpp), and each is a "fault" line of the trace.
#include "world.hpp"

#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/world_hooks.hpp>
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

#include "sim_backend.hpp"

#include <algorithm>
#include <cmath>

namespace anyio::sim {

namespace detail {

world_run::world_run(std::shared_ptr<const world_spec> spec, net::world& net)
    : spec_(std::move(spec)), net_(net) {
  // TEST-NET-1 (RFC 5737): the controller is a host the others can answer.
  net_.set_controller_address("192.0.2.1");
  hosts_.resize(net_.hosts().size());
  for (const auto& h : spec_->hosts) (void)add_host(h.name, h.address, h.main);
}

std::uint32_t world_run::add_host(std::string name, std::string address, world::main_fn main) {
  for (const auto& h : net_.hosts())
    if (h.name == name)
      throw usage_error("sim::world::add_host: a host named \"" + name + "\" already exists");
    else if (!address.empty() && h.address == address)
      throw usage_error("sim::world::add_host: \"" + h.name + "\" already has address " +
                        address);
  const std::uint32_t id = net_.add_host(std::move(name), std::move(address));
  hosts_.resize(id + 1);
  hosts_[id].main = std::move(main);
  return id;
}

void world_run::task_spawned(std::uint64_t id, std::uint64_t parent) {
  std::uint32_t h = spawn_host_;
  if (h == no_host) h = host_of(parent);
  if (h != 0) task_host_[id] = h;
}

std::uint32_t world_run::host_of(std::uint64_t task) const {
  auto it = task_host_.find(task);
  return it == task_host_.end() ? 0 : it->second;
}

std::uint32_t world_run::current_host() const {
  anyio::detail::task_record* t = anyio::detail::current_task_ptr;
  return t == nullptr ? 0 : host_of(anyio::detail::task_id(*t));
}

bool world_run::hold_task(std::uint64_t id) const {
  const std::uint32_t h = host_of(id);
  return h != 0 && hosts_[h].paused;
}

world_run::~world_run() {
  if (anyio::detail::skewed_clocks == this) anyio::detail::skewed_clocks = nullptr;
}

namespace {
using wide = __int128;  // drift products overflow 64 bits
constexpr wide billion = 1'000'000'000;
constexpr std::int64_t clamp64(wide x) noexcept {
  if (x >= anyio::detail::never) return anyio::detail::never;
  if (x <= -anyio::detail::never) return -anyio::detail::never;
  return static_cast<std::int64_t>(x);
}
constexpr wide floor_div(wide a, wide b) noexcept {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
}  // namespace

std::int64_t world_run::host_state::host_time(std::int64_t kernel_ns) const noexcept {
  if (kernel_ns == anyio::detail::never) return kernel_ns;
  const wide dv = wide{kernel_ns} - base_kernel;
  return clamp64(wide{base_host} + dv + floor_div(dv * drift_ppb, billion));
}

std::int64_t world_run::to_host(std::int64_t kernel_ns) const noexcept {
  return hosts_[current_host()].host_time(kernel_ns);
}

std::int64_t world_run::to_kernel(std::int64_t host_ns) const noexcept {
  if (host_ns == anyio::detail::never) return host_ns;
  const host_state& h = hosts_[current_host()];
  // Invert the linear piece, then step to the first kernel time whose host
  // time reaches host_ns (the rounding of host_time is a floor).
  const wide dh = wide{host_ns} - h.base_host;
  const wide rate = billion + h.drift_ppb;  // > 0: set_clock checks the drift
  wide v = wide{h.base_kernel} + floor_div(dh * billion, rate);
  auto at = [&](wide k) { return h.host_time(clamp64(k)); };
  while (v < anyio::detail::never && at(v) < host_ns) ++v;
  while (v > -anyio::detail::never && at(v - 1) >= host_ns) --v;
  return clamp64(v);
}

std::int64_t world_run::wall_clock(std::int64_t now) const {
  const host_state& h = hosts_[current_host()];
  return h.host_time(now) + h.wall_offset;
}

std::uint32_t world_run::host_named(const std::string& name, const char* api) const {
  const auto& hs = net_.hosts();
  for (std::uint32_t i = 0; i < hs.size(); ++i)  // 0: localhost, the controller
    if (hs[i].name == name) return i;
  std::string known;
  for (std::uint32_t i = 1; i < hs.size(); ++i) known += (i > 1 ? ", " : "") + hs[i].name;
  throw usage_error(std::string(api) + ": no host named \"" + name + "\" (hosts: " +
                    (known.empty() ? "none" : known) + ")");
}

namespace {
task<> host_main(world::main_fn fn) { co_await fn(); }
}  // namespace

void world_run::start_host(std::uint32_t host) {
  if (group == nullptr)
    throw usage_error("sim::world: hosts start only while the world runs (inside run())");
  if (!hosts_[host].main) return;
  spawn_host_ = host;
  try {
    group->start_soon(task_name(net_.hosts()[host].name + ":main"), host_main, hosts_[host].main);
  } catch (...) {
    spawn_host_ = no_host;
    throw;
  }
  spawn_host_ = no_host;
}

void world_run::crash(std::uint32_t host) {
  (void)anyio::detail::crash_tasks([this, host](std::uint64_t id) { return host_of(id) == host; });
  net_.trace_fault("crash", net_.hosts()[host].name);
  if (hosts_[host].paused) --paused_hosts_;
  hosts_[host].paused = false;
  for (auto it = task_host_.begin(); it != task_host_.end();)
    it = it->second == host ? task_host_.erase(it) : std::next(it);
  net_.crash_host(host);
}

void world_run::pause(std::uint32_t host, bool paused) {
  if (hosts_[host].paused == paused) return;
  net_.trace_fault(paused ? "pause" : "resume", net_.hosts()[host].name);
  hosts_[host].paused = paused;
  if (paused)
    ++paused_hosts_;
  else
    --paused_hosts_;
  net_.pause_host(host, paused);
  if (!paused)
    anyio::detail::release_held_tasks(
        [this, host](std::uint64_t id) { return host_of(id) == host; });
}

void world_run::resume_all() {
  for (std::uint32_t h = 1; h < hosts_.size(); ++h) pause(h, false);
}

void world_run::heal_all() {
  net_.trace_fault("heal", "all");
  net_.heal_all();
  cuts_.clear();
  resume_all();
}

void world_run::cut(std::uint32_t from, std::uint32_t to) {
  if (cuts_[{from, to}]++ == 0) net_.set_blocked(from, to, true);
}

void world_run::uncut(std::uint32_t from, std::uint32_t to) {
  auto it = cuts_.find({from, to});
  if (it == cuts_.end()) return;  // not cut (heal() lifted it already)
  if (--it->second > 0) return;
  cuts_.erase(it);
  net_.set_blocked(from, to, false);
}

void world_run::lift_all_cuts() {
  cuts_.clear();
  for (std::uint32_t x = 0; x < net_.hosts().size(); ++x)
    for (std::uint32_t y = 0; y < net_.hosts().size(); ++y) {
      if (x == y) continue;
      net_.set_clogged(x, y, false);
      net_.set_blocked(x, y, false);
    }
}

void world_run::set_clock(std::uint32_t host, std::int64_t now, std::int64_t offset,
                          double drift_ppm) {
  if (!(drift_ppm > -1e5 && drift_ppm < 1e5))
    throw usage_error("sim::world::set_clock: drift_ppm must be in (-100000, 100000), a clock "
                      "off by less than 10%");
  net_.trace_fault("clock", net_.hosts()[host].name);
  host_state& h = hosts_[host];
  h.base_host = h.host_time(now);
  h.base_kernel = now;
  h.drift_ppb = std::llround(drift_ppm * 1000);
  // The wall clock reads virtual time + offset now, and drifts from here.
  h.wall_offset = now + offset - h.base_host;
  if (h.drift_ppb != 0) anyio::detail::skewed_clocks = this;
}

void world_run::jump_clock(std::uint32_t host, std::int64_t by) {
  net_.trace_fault(by >= 0 ? "clock_jump_forward" : "clock_jump_back", net_.hosts()[host].name);
  hosts_[host].wall_offset += by;  // the monotonic clock never jumps
}

namespace {

sim_backend& current_sim(const char* api) {
  auto* b = dynamic_cast<sim_backend*>(&anyio::detail::current_backend(api));
  if (b == nullptr)
    throw usage_error(std::string(api) + ": a sim::world runs only on the sim backend");
  return *b;
}

world_run& current_run(const world_spec* spec, const char* api) {
  world_run* r = current_sim(api).hosts();
  if (r == nullptr || r->spec() != spec)
    throw usage_error(std::string(api) + ": call it from a task of this world's run()");
  return *r;
}

std::uint32_t per_million(double p, const char* what) {
  if (!(p >= 0 && p <= 1))
    throw usage_error(std::string("sim::world::set_link: ") + what +
                      " must be a probability in [0, 1]");
  return static_cast<std::uint32_t>(std::llround(p * 1e6));
}

}  // namespace

}  // namespace detail

world::world() : spec_(std::make_shared<detail::world_spec>()) {}

world& world::add_host(std::string name, std::string address, main_fn main) {
  if (name.empty() || name == "localhost")
    throw usage_error("sim::world::add_host: a host needs a name other than \"localhost\"");
  socket_address probe{address_family::ipv4, address, 0};
  if (address.rfind("127.", 0) == 0 || address.find_first_not_of("0123456789.") !=
                                           std::string::npos ||
      std::count(address.begin(), address.end(), '.') != 3)
    throw usage_error("sim::world::add_host: \"" + address +
                      "\" is not an IPv4 address outside 127.0.0.0/8");
  (void)probe;
  if (anyio::detail::current_task_ptr != nullptr) {
    auto* b = dynamic_cast<detail::sim_backend*>(
        &anyio::detail::current_backend("sim::world::add_host"));
    if (b != nullptr && b->hosts() != nullptr && b->hosts()->spec() == spec_.get()) {
      detail::world_run& r = *b->hosts();
      const std::uint32_t id = r.add_host(name, address, std::move(main));
      r.net().trace_fault("add_host", name);
      r.start_host(id);
      return *this;
    }
  }
  for (const auto& h : spec_->hosts)
    if (h.name == name || h.address == address)
      throw usage_error("sim::world::add_host: host \"" + name + "\" or address " + address +
                        " is already in this world");
  spec_->hosts.push_back({std::move(name), std::move(address), std::move(main)});
  return *this;
}

task<> world::run(main_fn test) const {
  auto& b = detail::current_sim("sim::world::run");
  detail::world_run& r = b.start_world(spec_);
  b.on_heal([&r]() { r.heal_all(); });
  anyio::detail::enable_task_tracking([](std::uint64_t) {});
  // The run's plan (options::plan, or a replayed trace's) wins over set_plan's.
  std::optional<fault_plan> plan = spec_->plan;
  if (b.run_options().plan) plan = *b.run_options().plan;
  co_await with_task_group([&](task_group& tg) -> task<> {
    r.group = &tg;
    for (std::uint32_t h = 1; h < r.net().hosts().size(); ++h) r.start_host(h);
    if (plan) {
      if (!test)
        throw usage_error(
            "sim::world::run: a fault plan needs a test: the run ends when the test returns");
      tg.start_soon(task_name("nemesis"), [&r](fault_plan p) { return r.nemesis(p); }, *plan);
    }
    if (test) {
      co_await test();
      r.resume_all();  // held tasks must run to see their cancellation
      tg.cancel_scope().cancel();
    }
  });
  r.group = nullptr;
}

void world::crash(const std::string& host) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::crash");
  const std::uint32_t h = r.host_named(host, "sim::world::crash");
  if (h == 0) throw usage_error("sim::world::crash: localhost (the controller) cannot crash");
  r.crash(h);
}

void world::restart(const std::string& host) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::restart");
  const std::uint32_t h = r.host_named(host, "sim::world::restart");
  if (h == 0) throw usage_error("sim::world::restart: localhost (the controller) cannot restart");
  r.crash(h);  // whatever still runs there stops first
  r.net().trace_fault("restart", host);
  r.net().restart_host(h);
  r.start_host(h);
}

void world::pause(const std::string& host) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::pause");
  const std::uint32_t h = r.host_named(host, "sim::world::pause");
  if (h == r.current_host() || h == 0)
    throw usage_error(
        "sim::world::pause: a host cannot pause itself, and localhost (the controller) never "
        "pauses");
  r.pause(h, true);
}

void world::resume(const std::string& host) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::resume");
  r.pause(r.host_named(host, "sim::world::resume"), false);
}

namespace {
// Cut (or, healing, lift one cut of) every link from a to b, and b to a if
// both. Names are checked before anything changes.
void block(const detail::world_spec* spec, const std::vector<std::string>& a,
           const std::vector<std::string>& b, bool both, bool heal, const char* api) {
  auto& r = detail::current_run(spec, api);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
  for (const auto& x : a)
    for (const auto& y : b) {
      const std::uint32_t hx = r.host_named(x, api), hy = r.host_named(y, api);
      links.emplace_back(hx, hy);
      if (both) links.emplace_back(hy, hx);
    }
  std::string who;
  for (const auto& x : a) who += (who.empty() ? "" : ",") + x;
  who += both ? " | " : " -> ";
  for (std::size_t i = 0; i < b.size(); ++i) who += (i ? "," : "") + b[i];
  if (heal) r.net().trace_fault("heal", who);
  else r.net().trace_fault(both ? "partition" : "partition_one_way", who);
  for (const auto& [x, y] : links)
    if (heal) r.uncut(x, y);
    else r.cut(x, y);
}
}  // namespace

void world::partition(const std::vector<std::string>& a, const std::vector<std::string>& b) const {
  block(spec_.get(), a, b, true, false, "sim::world::partition");
}

void world::partition_one_way(const std::vector<std::string>& from,
                              const std::vector<std::string>& to) const {
  block(spec_.get(), from, to, false, false, "sim::world::partition_one_way");
}

void world::heal(const std::vector<std::string>& a, const std::vector<std::string>& b) const {
  block(spec_.get(), a, b, true, true, "sim::world::heal");
}

void world::heal_one_way(const std::vector<std::string>& from,
                         const std::vector<std::string>& to) const {
  block(spec_.get(), from, to, false, true, "sim::world::heal_one_way");
}

void world::heal() const {
  auto& r = detail::current_run(spec_.get(), "sim::world::heal");
  r.net().trace_fault("heal", "all");
  r.lift_all_cuts();
}

void world::clog(const std::string& from, const std::string& to) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::clog");
  r.net().trace_fault("clog", from + " -> " + to);
  r.net().set_clogged(r.host_named(from, "sim::world::clog"), r.host_named(to, "sim::world::clog"),
                      true);
}

void world::unclog(const std::string& from, const std::string& to) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::unclog");
  r.net().trace_fault("unclog", from + " -> " + to);
  r.net().set_clogged(r.host_named(from, "sim::world::unclog"),
                      r.host_named(to, "sim::world::unclog"), false);
}

void world::set_link(const std::string& a, const std::string& b, const link_options& o) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::set_link");
  detail::net::link_faults f;
  if (o.set_latency) {
    using k = detail::net::latency_model::kind;
    f.latency.type = o.delay.kind == latency::model::fixed     ? k::fixed
                     : o.delay.kind == latency::model::uniform ? k::uniform
                                                               : k::exponential;
    f.latency.a = o.delay.a.count();
    f.latency.b = o.delay.b.count();
    if (f.latency.a < 0 || f.latency.b < 0 ||
        (o.delay.kind == latency::model::uniform && f.latency.b < f.latency.a))
      throw usage_error("sim::world::set_link: latencies must be >= 0 (uniform: low <= high)");
  }
  f.udp_loss = detail::per_million(o.udp_loss, "udp_loss");
  f.udp_duplicate = detail::per_million(o.udp_duplicate, "udp_duplicate");
  f.udp_reorder = detail::per_million(o.udp_reorder, "udp_reorder");
  f.tcp_reset = detail::per_million(o.tcp_reset, "tcp_reset");
  const std::uint32_t ha = r.host_named(a, "sim::world::set_link");
  const std::uint32_t hb = r.host_named(b, "sim::world::set_link");
  r.net().trace_fault("link", a + " <-> " + b);
  r.net().set_link(ha, hb, f);
  r.net().set_link(hb, ha, f);
}

void world::set_clock(const std::string& host, clock::duration offset, double drift_ppm) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::set_clock");
  auto& b = detail::current_sim("sim::world::set_clock");
  r.set_clock(r.host_named(host, "sim::world::set_clock"), b.now(), offset.count(), drift_ppm);
}

void world::jump_clock(const std::string& host, clock::duration by) const {
  auto& r = detail::current_run(spec_.get(), "sim::world::jump_clock");
  r.jump_clock(r.host_named(host, "sim::world::jump_clock"), by.count());
}

std::string world::current_host() {
  auto& b = detail::current_sim("sim::world::current_host");
  if (b.hosts() == nullptr) return "localhost";
  return b.hosts()->net().hosts()[b.hosts()->current_host()].name;
}

}  // namespace anyio::sim
