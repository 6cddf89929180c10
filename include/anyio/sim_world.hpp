// SPDX-License-Identifier: MIT
// A simulated world of hosts for the sim backend (FoundationDB's simulator,
// madsim, turmoil): named hosts with addresses, each running a main
// function; the tasks a host's main spawns belong to that host. The same
// program code (connect_tcp, create_tcp_listener, UDP, getaddrinfo) runs
// unchanged on realio, on one simulated host and across simulated hosts.
// Inside a run, any task may crash, restart, pause or resume a host, add
// hosts, partition groups of hosts (both ways or one way), clog links and
// give links latency and loss; every such fault is a line of the trace and
// every random choice a fault makes is a recorded draw, so a failing seed
// replays. A world is a description: `run()` is a task body like any other,
// so sim::run, sweep, replay and shrink take it unchanged, and each run
// starts from the hosts added before it.
#pragma once
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace anyio::sim {

/// How long a packet takes between two hosts.
struct latency {
  enum class model : std::uint8_t { fixed, uniform, exponential };
  model kind = model::fixed;
  clock::duration a{};  ///< fixed: the latency; uniform: the least; exponential: the minimum
  clock::duration b{};  ///< uniform: the most; exponential: the mean beyond the minimum
  static latency fixed(clock::duration d) { return {model::fixed, d, d}; }
  static latency uniform(clock::duration low, clock::duration high) {
    return {model::uniform, low, high};
  }
  static latency exponential(clock::duration minimum, clock::duration mean) {
    return {model::exponential, minimum, mean};
  }
};

/// The faults of the links between two hosts. Probabilities are per packet
/// (a UDP datagram; a TCP data piece for tcp_reset), in [0, 1].
struct link_options {
  bool set_latency = false;  ///< use `delay` (else each connection draws 10-100 us)
  sim::latency delay{};
  double udp_loss = 0;
  double udp_duplicate = 0;
  double udp_reorder = 0;
  double tcp_reset = 0;
};

/// A fault plan: the faults a world's nemesis (a task of the controlling
/// host) injects while the test runs, as data. Every `tick` it decides, for
/// each host (crash, pause, partition, clock_jump) and each ordered pair of
/// hosts (partition_one_way, clog), whether that fault starts, with the
/// probability given, and for how many ticks (1..max_ticks) it lasts: each
/// decision is a recorded, shrinkable fault decision ("fault:crash:db1"),
/// so shrinking drops and shortens faults. The per-packet rates apply to
/// every link between hosts. `swarm`: each run first draws which kinds are
/// on and their rates (TigerBeetle's VOPR swarm testing), keeping the rates
/// given as the largest. The plan that ran is a trace line (op "fault",
/// src "plan", dst its JSON). A run can also bring the plan itself
/// (sim::options::plan, sweep_options::plan): it wins over set_plan(), is
/// recorded in the trace header, and a replay of the trace runs it. The fs_
/// rates are the simulated filesystem's faults (sim_files.hpp), per file
/// operation from `start`, each a fault decision "fault:fs_<kind>:<path>"
/// (swarmed like the rest; in the JSON only when not 0).
struct fault_plan {
  clock::duration tick = std::chrono::milliseconds(100);
  clock::duration start{};  ///< no nemesis faults before this virtual time
  std::uint64_t max_ticks = 10;
  double crash = 0;  ///< then restarted
  double pause = 0;  ///< then resumed
  double partition = 0;  ///< the host cut off from every other host, both ways
  double partition_one_way = 0;
  double clog = 0;
  double clock_jump = 0;  ///< the host's wall clock jumps by +-1..max_ticks ticks
  double udp_loss = 0;
  double udp_duplicate = 0;
  double udp_reorder = 0;
  double tcp_reset = 0;
  // The simulated filesystem (filesystem_options' faults), per operation.
  double fs_read_error = 0;   ///< EIO on a read
  double fs_write_error = 0;  ///< EIO on a write
  double fs_sync_error = 0;   ///< EIO on a sync
  double fs_short_write = 0;  ///< a write stores only a part
  double fs_no_space = 0;     ///< ENOSPC on a write
  double fs_slow = 0;         ///< an operation takes up to filesystem_options::slow_latency more
  bool swarm = false;

  /// One JSON object with every field (durations in nanoseconds).
  std::string to_json() const;
  /// Throws std::invalid_argument naming the field that is wrong.
  static fault_plan from_json(const std::string& text);
  /// A plan from a JSON file; std::invalid_argument naming the file (and
  /// the field) if it cannot be read or is not a plan.
  static fault_plan from_file(const std::string& path);
  /// A plan of every kind at modest rates, swarmed: a sweep's default.
  static fault_plan swarm_all();
};

namespace detail {
struct world_spec;
}

class world {
 public:
  using main_fn = std::function<task<>()>;

  world();

  /// A host named `name` (a name getaddrinfo resolves) with the IPv4
  /// address `address` and a loopback of its own, running `main` when the
  /// world starts. Called inside a run of this world, the host is added to
  /// that run only and starts at once.
  world& add_host(std::string name, std::string address, main_fn main);

  /// The nemesis of every run of this world (include it before run()).
  world& set_plan(const fault_plan& plan);

  /// Run the world: start every host's main, then run `test` on the
  /// controlling host ("localhost", loopback only, never faulted); when it
  /// returns, every host is cancelled and the run ends. Without a test, the
  /// run ends when every host's main has returned. A host's main raising
  /// fails the run with that exception.
  task<> run(main_fn test = {}) const;

  // Faults, called from a task of a run of this world (usage_error
  // otherwise). A host cannot crash or pause itself.
  /// Power loss: every task of the host stops at once and never runs again
  /// (no cleanup, no shielded scope), its sockets are gone, the peers of
  /// its connections are reset, its listeners vanish.
  void crash(const std::string& host) const;
  /// Run the host's main again (after a crash, or after it returned).
  void restart(const std::string& host) const;
  /// The host's tasks stop being scheduled and nothing is delivered to it.
  void pause(const std::string& host) const;
  void resume(const std::string& host) const;
  /// Nothing passes between the groups, either way (TCP waits, UDP is lost).
  void partition(const std::vector<std::string>& a, const std::vector<std::string>& b) const;
  /// Nothing passes from `from` to `to`; the other way still works.
  void partition_one_way(const std::vector<std::string>& from,
                         const std::vector<std::string>& to) const;
  /// Lift every partition and clog (held traffic is delivered, in order).
  void heal() const;
  /// Lift one partition(a, b) (one_way: one partition_one_way(from, to)).
  /// Partitions overlap independently: a link carries traffic again only
  /// once every partition that cut it is lifted. Lifting a cut that is not
  /// there does nothing.
  void heal(const std::vector<std::string>& a, const std::vector<std::string>& b) const;
  void heal_one_way(const std::vector<std::string>& from, const std::vector<std::string>& to) const;
  /// Hold everything sent from `from` to `to` until unclog (then in order).
  void clog(const std::string& from, const std::string& to) const;
  void unclog(const std::string& from, const std::string& to) const;
  /// Faults of the links between `a` and `b`, both ways.
  void set_link(const std::string& a, const std::string& b, const link_options& o) const;
  /// The host's clocks from now on. Its monotonic clock (current_time(),
  /// and the time_points its sleeps and deadlines use) runs at 1 + drift_ppm
  /// / 1e6 of the virtual rate, without a step: sleep(1s) there takes
  /// 1s / (1 + drift) of virtual time. Its wall clock (wall_clock_now())
  /// reads the virtual time + `offset` now and drifts with it. |drift_ppm|
  /// < 100000. A drift change applies to deadlines set after it.
  void set_clock(const std::string& host, clock::duration offset, double drift_ppm = 0) const;
  /// Step the host's wall clock (forward or back); current_time() there
  /// stays monotonic.
  void jump_clock(const std::string& host, clock::duration by) const;

  /// The host of the calling task ("localhost" outside any world host).
  static std::string current_host();

 private:
  std::shared_ptr<detail::world_spec> spec_;
};

}  // namespace anyio::sim
