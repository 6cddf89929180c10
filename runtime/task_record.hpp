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
#include <anyio/detail/root_task.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>

namespace anyio::detail {

enum class task_state : std::uint8_t { ready, running, parked, done };

/// One kernel task (trio's Task). Lives in the root promise of the task's
/// frame, so it dies with the frame; the kernel unlinks it first. That frame
/// is found from the record's own address (root_of), not kept in a field.
struct task_record {
  std::uint64_t id = 0;
  /// Out of line, and only for a named task or once a trace or report has
  /// asked for the name (kernel::name_of): a std::string here would cost
  /// every parked task 24 more bytes (bench/ w4).
  std::unique_ptr<std::string> name;
  std::coroutine_handle<> resume{};  ///< innermost suspended coroutine
  // The small fields share one word.
  task_state state = task_state::ready;
  bool abort_called = false;
  bool exit_cancelled = false;        ///< the exit error is `cancelled`
  bool starting = false;  ///< a start() child before started(): its state is in kernel::starts_
  std::uint32_t handle_slot = 0;      ///< 1 + index in the kernel's handle table, or 0
  cancel_node* scope = nullptr;        ///< innermost scope
  cancel_node* spawn_scope = nullptr;  ///< scope the task was spawned under
  cancel_node* outermost = nullptr;    ///< first scope it entered, while entered
  task_record* scope_prev = nullptr;   ///< links in scope->tasks
  task_record* scope_next = nullptr;
  function_ref<abort_result()> abort{};
  const char* wait_what = nullptr;
  /// While the task lives, the error its next wake-up raises (consumed by
  /// rethrow_wake_error as the task resumes); once it is done, its exit
  /// error. One slot: the two are never live at once (bench/README.md, w4).
  std::exception_ptr error{};
  task_group_state* group = nullptr;
  task_record* group_prev = nullptr;
  task_record* group_next = nullptr;
};

/// The task's name as given, or empty when it was spawned unnamed and no
/// one has asked for it yet.
inline std::string_view given_name(const task_record& t) noexcept {
  return t.name ? std::string_view(*t.name) : std::string_view{};
}

/// The frame to destroy when the task is done: the one whose root_promise
/// holds `t` (its storage is the promise's first and only member).
inline std::coroutine_handle<root_promise> root_of(task_record& t) noexcept {
  return std::coroutine_handle<root_promise>::from_promise(
      *std::launder(reinterpret_cast<root_promise*>(&t)));
}

static_assert(sizeof(task_record) == task_record_size,
              "detail/kernel_types.hpp: task_record_size must match the record");
static_assert(alignof(task_record) == task_record_align,
              "detail/kernel_types.hpp: task_record_align must match the record");

}  // namespace anyio::detail
