// SPDX-License-Identifier: MIT
// The seam between the shared kernel (runtime/) and a backend (realio/, sim/).
// A backend supplies time, I/O completions and — on sim — the choice of the
// next task; it never sees cancel scopes or task groups. The kernel owns the
// ready queue and decides everything else, so both backends run the same
// scheduling and cancellation code. Backends include only this header and the
// rest of include/anyio, never runtime/ internals.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace anyio {

class instrument;

/// The ready tasks as the scheduler sees them, in queue order.
class ready_view {
 public:
  virtual std::size_t size() const noexcept = 0;
  virtual std::uint64_t task_id(std::size_t index) const noexcept = 0;

 protected:
  ~ready_view() = default;
};

class backend {
 public:
  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

  virtual ~backend() = default;

  /// Nanoseconds on this backend's clock (steady on realio, virtual on sim).
  virtual std::int64_t now() noexcept = 0;

  /// Called when no task is ready: block until an I/O completion or until
  /// `deadline` (backend::never = no timer pending). Returns false when
  /// nothing can ever happen again (sim: a deadlock); realio always waits.
  virtual bool wait_for_events(std::int64_t deadline) = 0;

  /// Deliver completions that are already due, without blocking.
  virtual void poll_events() = 0;

  /// Index into `ready` of the task to run next. realio: always 0 (FIFO).
  virtual std::size_t pick_next(const ready_view& ready) = 0;

  /// Poll for I/O every this many task steps while tasks stay ready.
  virtual std::uint32_t poll_interval() const noexcept { return 1; }

  /// True when pick_next() is always 0 and need not be called.
  virtual bool fifo() const noexcept { return false; }

  /// Instrument the backend wants attached (sim: its trace writer), or null.
  virtual instrument* backend_instrument() noexcept { return nullptr; }

  /// Short name for messages: "realio" or "sim".
  virtual std::string name() const = 0;

  /// Called once by the kernel before the main task starts and after the
  /// run ends (normally or not), so the backend can emit headers/outcomes.
  virtual void run_started() {}
  virtual void run_finished(const std::string& outcome_kind, const std::string& detail) {
    (void)outcome_kind;
    (void)detail;
  }
};

}  // namespace anyio
