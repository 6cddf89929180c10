// SPDX-License-Identifier: MIT
// The seam between the shared kernel (runtime/) and a backend (realio/, sim/).
// A backend supplies time, I/O completions and — on sim — the choice of the
// next task; it never sees cancel scopes or task groups. The kernel owns the
// ready queue and decides everything else, so both backends run the same
// scheduling and cancellation code. Backends include only this header and the
// rest of include/anyio, never runtime/ internals.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace anyio {

class instrument;
namespace detail {
class network;
class filesystem;
class threads;
class signals;
class process_service;
}

/// How a run ended, as the kernel reports it to the backend (sim writes it
/// as a trace's outcome line).
struct run_outcome {
  struct blocked_task {
    std::uint64_t id = 0;
    std::string name{};
    std::string wait{};
  };
  std::string kind{};            ///< "passed", "failed", "deadlock" or "error"
  std::string exception_type{};  ///< demangled type of the exception, if any
  std::string message{};         ///< its what()
  std::vector<blocked_task> blocked{};  ///< deadlock: every blocked task
  std::uint64_t steps = 0;
  std::int64_t time = 0;
  std::uint64_t shielded_failures = 0;  ///< shielded scopes left by an exception
};

/// The ready tasks as the scheduler sees them, in queue order.
class ready_view {
 public:
  virtual std::size_t size() const noexcept = 0;
  virtual std::uint64_t task_id(std::size_t index) const noexcept = 0;
  /// The task's name; may be empty unless the run is instrumented.
  virtual std::string_view task_name(std::size_t index) const noexcept = 0;
  /// The ids of the first min(size(), max) tasks, written to `out`; returns
  /// how many (one call instead of one per task, for traces).
  virtual std::size_t copy_ids(std::uint64_t* out, std::size_t max) const noexcept = 0;
  /// Index of the task that ran the last step if it is ready because it
  /// yielded — it could go on running, so choosing another task preempts
  /// it — or size() if it blocked, finished or already ran again. Exact: the
  /// kernel knows where it put that task.
  virtual std::size_t previous_index() const noexcept = 0;
  /// A hint that the task at `index` may run next: start loading its
  /// memory. Changes nothing else (sim: its predicted next random pick).
  virtual void prefetch(std::size_t index) const noexcept { (void)index; }

 protected:
  ~ready_view() = default;
};

class backend {
 public:
  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

  virtual ~backend() = default;

  /// Nanoseconds on this backend's clock (steady on realio, virtual on sim).
  virtual std::int64_t now() noexcept = 0;

  /// The wall clock in nanoseconds since the Unix epoch, for what needs a
  /// date (TLS certificate validity). realio: the system clock; sim:
  /// sim::wall_clock_start_ns plus the virtual time, so a run checks dates
  /// the same way whatever day it runs on. Default: the system clock.
  virtual std::int64_t wall_clock_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  /// Called when no task is ready: block until an I/O completion or until
  /// `deadline` (backend::never = no timer pending). The kernel calls it
  /// with `never` only while an I/O operation is in flight (else it is a
  /// deadlock, detected by the kernel). Returns false when nothing can ever
  /// happen again (sim: its event queue is empty and no deadline is pending,
  /// so the operations in flight wait for what no one will do); realio
  /// always waits. Also used by a failed run's teardown to drain cancelled
  /// operations.
  virtual bool wait_for_events(std::int64_t deadline) = 0;

  /// Deliver completions that are already due, without blocking.
  virtual void poll_events() = 0;

  /// Index into `ready` of the task to run next. realio: always 0 (FIFO).
  virtual std::size_t pick_next(const ready_view& ready) = 0;

  /// A uniform draw in [0, bound) (bound > 0). sim: from its seeded
  /// generator, recorded in the trace and replayed; realio: real entropy.
  virtual std::uint64_t random_below(std::uint64_t bound, std::string_view purpose) = 0;

  /// Poll for I/O every this many task steps while tasks stay ready. The
  /// kernel also polls at the end of every pass over the ready queue while
  /// an operation is in flight, so a busy task cannot starve completions.
  virtual std::uint32_t poll_interval() const noexcept { return 1; }

  /// True when pick_next() is always 0 and need not be called.
  virtual bool fifo() const noexcept { return false; }

  /// Instrument the backend wants attached (sim: its trace writer), or null.
  virtual instrument* backend_instrument() noexcept { return nullptr; }

  /// True when the backend instrument records, in pick_next() with more
  /// than one task ready, an event that stands for the step it decides (sim:
  /// the trace's decide line): the kernel then sends that step event only to
  /// the other instruments. Asked once per run.
  virtual bool decisions_record_steps() const noexcept { return false; }

  /// The sockets this backend provides (detail/io.hpp), or null if none.
  /// Operations complete from wait_for_events/poll_events through
  /// io_operation::complete(), which may wake a parked task between steps.
  virtual detail::network* network() noexcept { return nullptr; }

  /// The files this backend provides (detail/files.hpp), or null if none.
  virtual detail::filesystem* filesystem() noexcept { return nullptr; }
  /// The worker threads this backend provides (detail/threads.hpp), or null.
  virtual detail::threads* threads() noexcept { return nullptr; }

  /// The signals this backend delivers (detail/signals.hpp), or null.
  virtual detail::signals* signals() noexcept { return nullptr; }

  /// The child processes this backend starts (detail/process.hpp), or null.
  virtual detail::process_service* processes() noexcept { return nullptr; }

  /// Simulated hosts (sim worlds, include/anyio/sim_world.hpp): once a
  /// world runs, the kernel reports every spawn (with the spawning task)
  /// and exit, so the backend knows which host each task belongs to, and
  /// asks before each step whether a task must be held (its host paused).
  /// realio never turns this on; a sim run without a world neither.
  virtual void task_spawned(std::uint64_t id, std::uint64_t parent) { (void)id, (void)parent; }
  virtual void task_exited(std::uint64_t id) { (void)id; }
  virtual bool hold_task(std::uint64_t id) { return (void)id, false; }

  /// Short name for messages: "realio" or "sim".
  virtual std::string name() const = 0;

  /// Called once by the kernel before the main task starts and after the
  /// run ends (normally or not), so the backend can emit headers/outcomes.
  /// May throw (sim: a replay that diverged); the kernel has finished.
  virtual void run_started() {}
  virtual void run_finished(const run_outcome& outcome) { (void)outcome; }
};

}  // namespace anyio
