// SPDX-License-Identifier: MIT
// The few kernel entry points simulated hosts need (runtime/hosts.cpp),
// for sim/world.cpp only: not part of the public API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace anyio {
class backend;
}

namespace anyio::detail {

/// The running backend. Throws usage_error outside a run.
backend& current_backend(const char* api);
/// From now on the kernel reports spawns and exits to the backend and asks
/// it whether to hold a task; `adopt` is called for every live task.
void enable_task_tracking(const std::function<void(std::uint64_t)>& adopt);
/// Freeze every live task for which on_host(id) holds (a host crash);
/// returns how many. usage_error if the calling task is one of them.
std::size_t crash_tasks(const std::function<bool(std::uint64_t)>& on_host);
/// Put the held tasks for which on_host(id) holds back in the ready queue.
void release_held_tasks(const std::function<bool(std::uint64_t)>& on_host);

}  // namespace anyio::detail
