// SPDX-License-Identifier: MIT
// Scheduler instrumentation (trio's Instrument): the kernel reports every
// event that shapes a run — spawn, step, park, wake, cancellation, deadline,
// exit — and the sim backend adds its scheduling decisions and random draws.
// Traces, determinism checks and replay are all built on this one stream, so
// it carries only deterministic fields: ids, step numbers, virtual time and
// short strings, never addresses or wall-clock time.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace anyio {

enum class event_kind : std::uint8_t {
  spawn,             ///< task created; `other` = parent task id (0 for the main task)
  step,              ///< task resumed by the scheduler
  park,              ///< task blocked; `detail` = what it waits for
  wake,              ///< task made runnable; `flag` = woken with `cancelled`
  cancel_requested,  ///< a scope was cancelled; `other` = scope id, `detail` = reason
  cancel_delivered,  ///< `cancelled` raised in a task at a checkpoint
  deadline_fired,    ///< a scope's deadline expired; `other` = scope id
  task_exit,         ///< task finished; `detail` = "ok" or "type: message"; `flag` = failed
  decision,          ///< sim: next task chosen; `ready` = ready ids (the first 32),
                     ///< `value2` = how many are ready, `other` = index chosen
  draw,              ///< sim: random draw; `other` = value, `value2` = bound, `detail` = purpose
  clock,             ///< sim: virtual clock jumped; `time` = new time
  cancel_point,      ///< a cancellation check or an abortable wait is about to
                     ///< look at cancellation (explore_cancellation counts
                     ///< these); traces leave it out
};

/// One kernel event. Views are valid only during the callback.
struct kernel_event {
  event_kind kind;
  std::uint64_t step = 0;     ///< number of task steps taken so far
  std::int64_t time = 0;      ///< nanoseconds on the run's clock (virtual on sim)
  std::uint64_t task = 0;     ///< task id (0 when no task is involved)
  std::string_view task_name{};
  std::uint64_t other = 0;
  std::uint64_t value2 = 0;
  std::string_view detail{};
  bool flag = false;
  std::span<const std::uint64_t> ready{};
};

/// Receives kernel events. Attach with run options or a backend.
class instrument {
 public:
  virtual ~instrument() = default;
  virtual void on_event(const kernel_event& event) = 0;
};

}  // namespace anyio
