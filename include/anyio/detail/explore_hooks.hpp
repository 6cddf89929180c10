// SPDX-License-Identifier: MIT
// The kernel's hooks for the simulator's explore_cancellation (sim/
// explore.cpp), defined in runtime/wait.cpp. Not part of the API: no public
// header includes this one, so user code never sees them; it sits under
// include/ only because sim/ may include nothing else. Cancel points
// themselves reach explore as instrument events (event_kind::cancel_point).
#pragma once
#include <anyio/detail/kernel_types.hpp>


namespace anyio::detail {

/// Cancel the innermost scope of `t` (not the root); false if it has none.
bool cancel_innermost_scope(task_record& t) noexcept;

}  // namespace anyio::detail
