// SPDX-License-Identifier: MIT
// The state of one run of a sim::world (private to sim/): which host each
// task belongs to (inherited at spawn from the spawning task, or set for a
// host's main), which hosts are paused, their clocks, and the task group
// their mains run in. The sim backend owns it once the world starts and
// forwards the kernel's spawn, exit and hold questions to it.
#pragma once
#include <anyio/detail/kernel_api.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/task_group.hpp>

#include "net_world.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace anyio::sim::detail {

class sim_backend;

struct world_spec {
  struct host {
    std::string name;
    std::string address;
    world::main_fn main;
  };
  std::vector<host> hosts;
  std::optional<fault_plan> plan;
};

class world_run final : public anyio::detail::host_clocks {
 public:
  static constexpr std::uint32_t no_host = ~std::uint32_t{0};

  world_run(std::shared_ptr<const world_spec> spec, net::world& net);
  world_run(const world_run&) = delete;
  world_run& operator=(const world_run&) = delete;
  ~world_run();

  // host_clocks: the calling task's host's monotonic clock.
  std::int64_t to_host(std::int64_t kernel_ns) const noexcept override;
  std::int64_t to_kernel(std::int64_t host_ns) const noexcept override;

  // The kernel's questions (through the backend).
  void task_spawned(std::uint64_t id, std::uint64_t parent);
  void task_exited(std::uint64_t id) { task_host_.erase(id); }
  bool hold_task(std::uint64_t id) const;
  bool any_paused() const noexcept { return paused_hosts_ != 0; }
  std::uint32_t host_of(std::uint64_t task) const;
  std::uint32_t current_host() const;
  std::int64_t wall_clock(std::int64_t now) const;

  const world_spec* spec() const noexcept { return spec_.get(); }
  net::world& net() noexcept { return net_; }
  /// Host id by name; usage_error naming the known hosts if there is none.
  std::uint32_t host_named(const std::string& name, const char* api) const;
  std::uint32_t add_host(std::string name, std::string address, world::main_fn main);
  /// Spawn the host's main in the world's group, as a task of the host.
  void start_host(std::uint32_t host);
  void crash(std::uint32_t host);
  void pause(std::uint32_t host, bool paused);
  void set_clock(std::uint32_t host, std::int64_t now, std::int64_t offset, double drift_ppm);
  void jump_clock(std::uint32_t host, std::int64_t by);
  void resume_all();
  /// Partitions cut links; a link carries traffic again only when every
  /// partition that cut it is lifted (so they overlap independently).
  void cut(std::uint32_t from, std::uint32_t to);
  void uncut(std::uint32_t from, std::uint32_t to);
  /// heal(): every cut and clog lifted.
  void lift_all_cuts();
  /// Liveness mode (faults_api.hpp): lift partitions, clogs and link faults,
  /// resume paused hosts. Crashed hosts stay down until restarted.
  void heal_all();

  /// The nemesis of a fault plan (sim/fault_plan.cpp), a task of localhost.
  task<> nemesis(fault_plan plan);
  /// A nemesis fault in force until `until`.
  struct lasting_fault {
    std::int64_t until = 0;
    enum class kind : std::uint8_t { crash, pause, isolate, one_way, clog } what{};
    std::uint32_t a = 0;
    std::uint32_t b = 0;
  };

  task_group* group = nullptr;  ///< while run() is inside its group

 private:
  // A host's monotonic clock is piecewise linear in the virtual time: from
  // (base_kernel, base_host) it runs at 1 + drift_ppb / 1e9, rebased at each
  // set_clock so it never steps. Its wall clock is that plus wall_offset,
  // which set_clock and clock jumps move.
  struct host_state {
    world::main_fn main;
    bool paused = false;
    std::int64_t base_kernel = 0;
    std::int64_t base_host = 0;
    std::int64_t drift_ppb = 0;
    std::int64_t wall_offset = 0;
    std::int64_t host_time(std::int64_t kernel_ns) const noexcept;
  };
  void lift(const lasting_fault& f);
  void inject_host(sim_backend& b, const fault_plan& plan, std::uint32_t h,
                   std::vector<lasting_fault>& active);
  void inject_link(sim_backend& b, const fault_plan& plan, std::uint32_t x, std::uint32_t y,
                   std::vector<lasting_fault>& active);

  std::shared_ptr<const world_spec> spec_;
  net::world& net_;
  std::vector<host_state> hosts_;  // by net host id; [0] is localhost
  std::unordered_map<std::uint64_t, std::uint32_t> task_host_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> cuts_;  // (from, to) -> count
  std::uint32_t spawn_host_ = no_host;
  std::uint32_t paused_hosts_ = 0;
};

}  // namespace anyio::sim::detail
