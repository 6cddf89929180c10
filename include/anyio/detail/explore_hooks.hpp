// SPDX-License-Identifier: MIT
// The kernel's hooks for the simulator's explore_cancellation (sim/
// explore.cpp), defined in runtime/wait.cpp. Not part of the API: no public
// header includes this one, so user code never sees them; it sits under
// include/ only because sim/ may include nothing else. Cancel points
// themselves reach explore as instrument events (event_kind::cancel_point).
#pragma once
#include <anyio/backend.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <vector>

namespace anyio::detail {

/// Cancel the innermost scope of `t` (not the root); false if it has none.
bool cancel_innermost_scope(task_record& t) noexcept;

/// Every live task of the kernel running on this thread and what it waits
/// on, as a deadlock report lists them (empty outside a run): the sim's
/// liveness mode names them when progress fails (runtime/scheduler.cpp).
std::vector<run_outcome::blocked_task> blocked_tasks_now();

}  // namespace anyio::detail
