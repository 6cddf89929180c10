// SPDX-License-Identifier: MIT
// The kernel's per-object state, laid out here only because templates in the
// public headers embed it: a cancel_node inside each cancel_scope, a
// task_group_state inside each task_group, a start_state_base inside each
// start() call. No allocation beyond the frames themselves. Only runtime/
// reads or writes these fields; user code never sees them (cancel_scope and
// task_group derive from them privately). The task_record itself is opaque
// here: each root frame reserves room for it and runtime/task_record.hpp
// defines it. These three could be made opaque the same way (reserved bytes
// checked by static_asserts, built by a runtime/ call); it has not been done
// yet (issue 9, point 7): each would need its own construct/destroy calls,
// and cancel_scope's deadline and shield, set before the scope is entered,
// would have to move to the public side.
#pragma once
#include <anyio/detail/function_ref.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <vector>

namespace anyio {

/// What an abort function reports (trio's Abort): `succeeded` = the wait was
/// undone and the task may be rescheduled with `cancelled`; `failed` = the
/// operation could not be withdrawn and whoever completes it will reschedule
/// the task later.
enum class abort_result { succeeded, failed };

namespace detail {

struct task_record;
struct task_group_state;
struct start_state_base;

inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
inline constexpr std::uint32_t not_in_heap = std::numeric_limits<std::uint32_t>::max();

/// An entry of the kernel's deadline heap, ordered by (when, seq).
struct timer_node {
  enum class kind : std::uint8_t { scope, sleep };
  std::int64_t when = never;
  std::uint64_t seq = 0;
  std::uint32_t heap_index = not_in_heap;
  kind type = kind::scope;
};

/// A cancel scope's place in the cancellation tree (trio's CancelStatus,
/// merged with CancelScope). Children are scopes whose parent this is, in
/// this task or in child tasks; `tasks` are tasks whose innermost scope this
/// is. Cancellation walks this tree downward, stopping at shields.
/// `effectively_cancelled` caches cancel_called || (!shield && the parent's
/// state), kept current on every change (trio: CancelStatus), so a
/// checkpoint reads one flag instead of walking to the root.
struct cancel_node : timer_node {
  cancel_node* parent = nullptr;
  cancel_node* first_child = nullptr;
  cancel_node* prev_sibling = nullptr;
  cancel_node* next_sibling = nullptr;
  task_record* tasks = nullptr;
  task_record* owner = nullptr;
  std::uint64_t id = 0;
  bool entered = false;
  bool exited = false;
  bool cancel_called = false;
  bool shield = false;
  bool cancelled_caught = false;
  bool effectively_cancelled = false;
};

/// A sleeping task's timer (sleep/sleep_until): fires by rescheduling `task`.
struct sleep_node : timer_node {
  task_record* task = nullptr;
  /// The sleep's abort function: withdraws the timer (runtime/wait.cpp).
  abort_result operator()() noexcept;
};

/// A task in wait_all_tasks_blocked(cushion), ordered by (cushion, seq).
struct idle_node {
  task_record* task = nullptr;
  std::int64_t cushion = 0;
  std::uint64_t seq = 0;
  bool queued = false;
  /// The wait's abort function: leaves the idle queue (runtime/testing.cpp).
  abort_result operator()() noexcept;
};

/// Room for the kernel's task_record (runtime/task_record.hpp, which checks
/// these) inside each task's root frame: the record stays part of the frame,
/// so a task costs no allocation of its own, yet its fields stay in runtime/.
inline constexpr std::size_t task_record_size = 128;
inline constexpr std::size_t task_record_align = 8;

/// A task group's bookkeeping, next to its cancel scope.
struct task_group_state {
  task_record* parent = nullptr;  ///< task that entered the group
  cancel_node* scope = nullptr;   ///< the group's cancel scope
  task_record* children = nullptr;
  std::size_t child_count = 0;
  struct failure {
    std::exception_ptr error;
    std::string task;
  };
  std::vector<failure> failures;
  bool entered = false;
  bool closed = false;
  bool body_done = false;
  bool parent_waiting = false;
  bool saw_cancelled = false;
};

/// Shared between a start() caller and the child until started() or exit.
struct start_state_base {
  task_record* waiter = nullptr;
  task_record* child = nullptr;
  task_group_state* group = nullptr;
  cancel_node* group_scope = nullptr;
  std::exception_ptr error{};
  bool started = false;  ///< started() was called (maybe refused: caller cancelled)
  bool finished = false;
};

}  // namespace detail
}  // namespace anyio
