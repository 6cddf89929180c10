// SPDX-License-Identifier: MIT
// The kernel's hooks for the simulator's explore_cancellation (sim/
// explore.cpp), defined in runtime/wait.cpp. Not part of the API: no public
// header includes this one, so user code never sees them; it sits under
// include/ only because sim/ may include nothing else. A trap set here fires
// at the n-th cancel point of the running kernel, before that point's
// cancellation check.
#pragma once
#include <anyio/detail/kernel_types.hpp>

#include <cstdint>
#include <string>

namespace anyio::detail {

/// Called with the task reaching the trapped cancel point.
using cancel_point_trap = void (*)(void* context, task_record& t);
struct cancel_point_trap_setting {
  std::uint64_t at = 0;  ///< 1-based cancel point of the run; 0 = none
  cancel_point_trap fn = nullptr;
  void* context = nullptr;
};
/// Set the running kernel's trap; throws usage_error outside anyio::run().
void set_cancel_point_trap(const cancel_point_trap_setting& trap);
/// Cancel points reached so far in the running kernel.
std::uint64_t cancel_points_reached();
/// Cancel the innermost scope of `t` (not the root); false if it has none.
bool cancel_innermost_scope(task_record& t) noexcept;
/// "task 3 'worker'" (or "task 3 'task-3'" for an unnamed task): for reports.
std::string describe_task(const task_record& t);

}  // namespace anyio::detail
