// SPDX-License-Identifier: MIT
// The kernel's per-scope, per-group and per-start() state. Public headers
// see only these names and the room reserved for each
// (detail/kernel_types.hpp): a cancel_scope, a task_group and a start()
// call hold aligned bytes, the kernel builds the struct there when the
// public object is made (scope_construct, group_construct,
// start_state_construct) and ends its life when it is destroyed, so no
// field is part of the public API and no object costs an allocation. The
// static_asserts below keep the reserved sizes honest.
#pragma once
#include <anyio/detail/kernel_types.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace anyio::detail {

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
/// The value started() hands over stays on the public side
/// (detail::start_state<T>, task_group.hpp).
struct start_state_base {
  task_record* waiter = nullptr;
  task_record* child = nullptr;
  task_group_state* group = nullptr;
  cancel_node* group_scope = nullptr;
  std::exception_ptr error{};
  bool started = false;  ///< started() was called (maybe refused: caller cancelled)
  bool finished = false;
};

// Exact sizes, as for task_record: a struct that grows fails here rather than
// overrunning its public owner, and one that shrinks does not leave the
// public types larger than they need be.
static_assert(sizeof(cancel_node) == cancel_node_size,
              "detail/kernel_types.hpp: cancel_node_size must match cancel_node");
static_assert(alignof(cancel_node) <= cancel_node_align,
              "detail/kernel_types.hpp: cancel_node_align is too small for cancel_node");
static_assert(sizeof(task_group_state) == task_group_state_size,
              "detail/kernel_types.hpp: task_group_state_size must match task_group_state");
static_assert(alignof(task_group_state) <= task_group_state_align,
              "detail/kernel_types.hpp: task_group_state_align is too small for "
              "task_group_state");
static_assert(sizeof(start_state_base) == start_state_size,
              "detail/kernel_types.hpp: start_state_size must match start_state_base");
static_assert(alignof(start_state_base) <= start_state_align,
              "detail/kernel_types.hpp: start_state_align is too small for start_state_base");

}  // namespace anyio::detail
