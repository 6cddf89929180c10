// SPDX-License-Identifier: MIT
// The simulated filesystem (private to sim/): one in-memory tree per
// simulated host, the durability model (what a crash keeps) and the queue of
// operations in flight. Like the network (net_world.hpp), an operation is an
// event in virtual time: it is queued with a seeded latency when a task
// starts it and takes effect when the backend delivers it from
// wait_for_events/poll_events — so a crash or a cancellation before then
// finds it never happened. Every delivery is a trace line ("fs"), every
// latency a recorded draw, and every fault a fault decision
// (faults_api.hpp: "fault:fs_<kind>:<path>"), so the shrinker can take it
// out or weaken it.
#pragma once
#include <anyio/detail/files.hpp>
#include <anyio/detail/io.hpp>
#include <anyio/sim_files.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anyio::sim::detail::fs {

/// What the filesystem needs from the backend.
class services {
 public:
  virtual std::int64_t fs_now() noexcept = 0;
  virtual std::uint64_t fs_draw(std::uint64_t bound, std::string_view purpose) = 0;
  /// A fault decision (sim_backend::fault): 0, or a strength in 1..max_strength.
  virtual std::uint64_t fs_fault(std::string_view kind, std::string_view site, double probability,
                                 std::uint64_t max_strength) = 0;
  virtual std::int64_t fs_wall_clock() noexcept = 0;
  /// One operation as a trace line: `result` is "ok", "short" or an errno name.
  virtual void fs_trace(std::string_view op, std::string_view path, std::uint64_t bytes,
                        std::string_view result) = 0;

 protected:
  ~services() = default;
};

/// A change to a file not yet synced: a write, or a truncate to `offset`,
/// with what it replaced, so a crash can undo it (a sync then costs nothing
/// but forgetting the list, however large the file).
struct change {
  bool truncate = false;
  std::uint64_t offset = 0;
  std::string bytes{};
  std::uint64_t old_size = 0;  ///< the file's size before
  std::uint64_t old_at = 0;    ///< where old_bytes were
  std::string old_bytes{};     ///< the bytes it overwrote or cut off
};

struct node {
  bool dir = false;
  unsigned mode = 0644;
  std::int64_t mtime = 0;
  std::string data{};                   ///< file: what reads see
  /// file: the changes since the last sync, in order; what a crash keeps is
  /// `data` with them undone (backwards)
  std::vector<change> unsynced{};
  std::map<std::string, std::uint64_t> entries{};          ///< dir: what lookups see
  std::map<std::string, std::uint64_t> durable_entries{};  ///< dir: what a crash keeps
};

struct host_fs {
  std::map<std::uint64_t, node> nodes{};
  std::uint64_t next_id = 1;
  std::uint64_t generation = 0;  ///< bumped by a crash: older handles are stale
  std::uint64_t used = 0;        ///< bytes of file data (capacity)
};

/// The kinds of filesystem fault; fault_kind_name() is the <kind> of their
/// decisions and the fault plan's key.
enum class fault_kind : std::uint8_t {
  read_error,
  write_error,
  sync_error,
  short_write,
  no_space,
  slow
};
const char* fault_kind_name(fault_kind k) noexcept;

/// A fault plan's filesystem rates (sim/fault_plan.cpp), in force from `start`.
struct plan_rates {
  double read_error = 0, write_error = 0, sync_error = 0, short_write = 0, no_space = 0,
         slow = 0;
  std::int64_t start = 0;  ///< virtual time
};

/// How many steps a slow operation's strength has (the delay is
/// strength * slow_latency / slow_levels).
inline constexpr std::uint64_t slow_levels = 10;

class world;

/// One operation in flight; it does its work when delivered.
class op final : public anyio::detail::io_operation {
 public:
  world* owner = nullptr;
  std::string host{};
  std::uint64_t generation = 0;
  /// Runs at delivery: returns 0 or an errno and sets `result`.
  std::function<int(std::size_t& result)> apply{};
  std::pair<std::int64_t, std::uint64_t> key{};
  bool queued = false;

 private:
  bool cancel() noexcept override;
};

class world {
 public:
  explicit world(services& s);
  void detach() noexcept { services_ = nullptr; }

  bool pending() const noexcept { return !queue_.empty(); }
  std::int64_t next_time() const noexcept { return queue_.begin()->first.first; }
  void deliver_due();

  /// Queue `apply` for `host` after a seeded latency and wait for it; throws
  /// the errno it returns as file_error(op, path).
  task<std::size_t> perform(std::string host, const char* op_name, std::string path,
                            std::function<int(std::size_t&)> apply);

  host_fs& host(const std::string& name);
  const filesystem_options& options() const noexcept { return opts_; }
  void configure(const filesystem_options& o) {
    opts_ = o;
    note_rates();
  }
  /// Apply a fault plan's rates (besides configure's options).
  void set_plan(const plan_rates& r) {
    plan_ = r;
    note_rates();
  }
  /// A fault decision for `path`: 0 (no fault), or its strength in
  /// 1..max_strength. The probability is the larger of the options' and the
  /// plan's; when it is 0 nothing is decided (nor drawn, nor traced).
  std::uint64_t fault(fault_kind k, std::string_view path, std::uint64_t max_strength = 1) {
    // Every operation asks: a run without faults pays one test.
    return any_rate_ ? decide(k, path, max_strength) : 0;
  }
  std::uint64_t draw(std::uint64_t bound, std::string_view purpose);
  std::int64_t now() const noexcept;
  std::int64_t wall_clock() const noexcept;
  void trace(std::string_view op, std::string_view path, std::uint64_t bytes,
             std::string_view result);
  crash_report crash(const std::string& host_name, const crash_options& opts);
  void unqueue(op& o) noexcept;

 private:
  services* services_;
  std::uint64_t decide(fault_kind k, std::string_view path, std::uint64_t max_strength);
  void note_rates() noexcept;

  filesystem_options opts_{};
  plan_rates plan_{};
  bool any_rate_ = false;  ///< some fault rate of opts_ or plan_ is above 0
  std::map<std::string, host_fs> hosts_{};
  std::map<std::pair<std::int64_t, std::uint64_t>, op*> queue_{};
  std::uint64_t sequence_ = 0;
};

/// The detail::filesystem over a world, for one host.
std::unique_ptr<anyio::detail::filesystem> make_filesystem(std::shared_ptr<world> w,
                                                           std::string host);

/// "EIO", "ENOENT", ... for trace lines.
const char* errno_name(int error) noexcept;

}  // namespace anyio::sim::detail::fs
