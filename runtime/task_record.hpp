// SPDX-License-Identifier: MIT
// The kernel's task (trio's Task): every field the scheduler, the waits, the
// cancellation tree and the groups keep per task. Public headers see only
// the name and the room reserved for it (detail/kernel_types.hpp); the
// record is built in that room inside the task's root frame
// (task_record_construct, runtime/scheduler.cpp) and dies with the frame,
// after the kernel has unlinked it.
#pragma once
#include <anyio/detail/function_ref.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>

namespace anyio::detail {

enum class task_state : std::uint8_t { ready, running, parked, done };

/// One kernel task (trio's Task). Lives in the root promise of the task's
/// frame, so it dies with the frame; the kernel unlinks it first.
struct task_record {
  std::uint64_t id = 0;
  std::string name;
  std::coroutine_handle<> resume{};  ///< innermost suspended coroutine
  std::coroutine_handle<> root{};    ///< the frame to destroy when done
  task_state state = task_state::ready;
  bool abort_called = false;
  bool exit_cancelled = false;  ///< exit_error is `cancelled`
  cancel_node* scope = nullptr;        ///< innermost scope
  cancel_node* spawn_scope = nullptr;  ///< scope the task was spawned under
  cancel_node* outermost = nullptr;    ///< first scope it entered, while entered
  task_record* scope_prev = nullptr;   ///< links in scope->tasks
  task_record* scope_next = nullptr;
  task_record* all_prev = nullptr;  ///< links in the kernel's list of live tasks
  task_record* all_next = nullptr;
  function_ref<abort_result()> abort{};
  const char* wait_what = nullptr;
  std::exception_ptr wake_error{};
  std::exception_ptr exit_error{};
  task_group_state* group = nullptr;
  task_record* group_prev = nullptr;
  task_record* group_next = nullptr;
  start_state_base* start = nullptr;  ///< set while a start() child has not started
  std::uint32_t handle_slot = 0;      ///< 1 + index in the kernel's handle table, or 0
};

static_assert(sizeof(task_record) == task_record_size,
              "detail/kernel_types.hpp: task_record_size must match the record");
static_assert(alignof(task_record) == task_record_align,
              "detail/kernel_types.hpp: task_record_align must match the record");

}  // namespace anyio::detail
