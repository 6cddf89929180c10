// SPDX-License-Identifier: MIT
// The kernel's per-object state as public headers see it: names and room,
// no fields. The kernel's own structs (task_record, cancel_node,
// task_group_state, start_state_base) are defined in runtime/
// (task_record.hpp, kernel_structs.hpp); a public type that owns one holds
// reserved, aligned bytes for it (a root frame, a cancel_scope, a
// task_group, a start() call), so the kernel costs no allocation of its own,
// and runtime/ builds it there, reads and writes its fields and ends its
// life (task_record_construct, scope_construct, group_construct,
// start_state_construct and their destroy calls). The sizes below are
// checked against the structs by static_asserts in runtime/. What stays
// here is what public code fills in itself: the timer, sleep and idle nodes
// its awaiters embed.
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

// Complete only in runtime/: public code passes references around.
struct task_record;
struct cancel_node;
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

// Room for the kernel's other per-object structs (runtime/kernel_structs.hpp
// checks these): a cancel_node in each cancel_scope, a task_group_state in
// each task_group, a start_state_base in each start() call.
inline constexpr std::size_t cancel_node_size = 88;
inline constexpr std::size_t cancel_node_align = 8;
inline constexpr std::size_t task_group_state_size = 64;
inline constexpr std::size_t task_group_state_align = 8;
inline constexpr std::size_t start_state_size = 48;
inline constexpr std::size_t start_state_align = 8;

/// A cancel_scope's room for its node: built by scope_construct, ended by
/// scope_destroyed (runtime/cancel_scope.cpp).
struct cancel_node_storage {
  alignas(cancel_node_align) std::byte bytes[cancel_node_size];
  cancel_node& node() noexcept { return *reinterpret_cast<cancel_node*>(bytes); }
  const cancel_node& node() const noexcept {
    return *reinterpret_cast<const cancel_node*>(bytes);
  }
};

/// A task_group's room for its state: built by group_construct, ended by
/// group_destroyed (runtime/task_group.cpp).
struct task_group_state_storage {
  alignas(task_group_state_align) std::byte bytes[task_group_state_size];
  task_group_state& state() noexcept { return *reinterpret_cast<task_group_state*>(bytes); }
};

/// A start() call's room for what its caller and child share: built by
/// start_state_construct, ended by start_state_destroy (runtime/task_group.cpp).
struct start_state_storage {
  alignas(start_state_align) std::byte bytes[start_state_size];
  start_state_base& state() noexcept { return *reinterpret_cast<start_state_base*>(bytes); }
};

}  // namespace detail
}  // namespace anyio
