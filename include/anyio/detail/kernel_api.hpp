// SPDX-License-Identifier: MIT
// The kernel entry points that public templates and awaiters call. They are
// defined in runtime/ (scheduler.cpp, wait.cpp, cancel_scope.cpp,
// task_group.cpp); this header only declares them so that user code never
// needs runtime/ internals. Every function that needs a running kernel takes
// the name of the public API it serves, so misuse errors can name it. The
// simulator's explore hooks are apart, in detail/explore_hooks.hpp, which no
// public header includes.
#pragma once
#include <anyio/detail/kernel_types.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>

namespace anyio::detail {

[[noreturn]] void throw_usage_error(const std::string& what);
[[noreturn]] void throw_cancelled();
bool is_cancelled(const std::exception_ptr& error) noexcept;
/// "1.5s", "250ms", "3us", "12ns": for messages.
std::string format_duration(std::int64_t ns);

/// The task the kernel is stepping on this thread (null between steps and
/// outside anyio::run()); constinit so reads need no TLS wrapper call.
extern constinit thread_local task_record* current_task_ptr;
[[noreturn]] void throw_outside_run(const char* api);

/// The running task; throws usage_error naming `api` outside anyio::run().
inline task_record& current_task_record(const char* api) {
  if (task_record* t = current_task_ptr) [[likely]]
    return *t;
  throw_outside_run(api);
}
/// The running kernel's clock in ns; throws usage_error outside anyio::run().
/// In a sim world whose hosts' clocks drift, the calling task's host's clock.
std::int64_t current_time_ns(const char* api);

/// The clocks of simulated hosts (sim worlds, runtime/hosts.cpp): between
/// the kernel's (virtual) time, which orders the deadline heap, and the
/// monotonic clock of the calling task's host, which current_time(), sleeps
/// and deadlines speak. Set only while a world has a host whose clock drifts,
/// so every other run pays one null test where time is read or a timer set.
struct host_clocks {
  virtual std::int64_t to_host(std::int64_t kernel_ns) const noexcept = 0;
  /// The first kernel time at which the host's clock reads `host_ns` or more.
  virtual std::int64_t to_kernel(std::int64_t host_ns) const noexcept = 0;

 protected:
  ~host_clocks() = default;
};
extern constinit thread_local const host_clocks* skewed_clocks;

// The one suspension primitive (runtime/wait.cpp). `abortable` = false for a
// wait whose abort function never succeeds (a group's join, start()'s wait,
// a condition re-acquiring its lock): it is not a cancel point.
void park(task_record& t, std::coroutine_handle<> h, function_ref<abort_result()> abort,
          const char* what, bool abortable = true);
void yield_now(task_record& t, std::coroutine_handle<> h) noexcept;

// The inline halves of the two checks around every blocking call, kept
// current by the kernel (runtime/scheduler.cpp, kernel::step) so that a
// check that finds nothing costs a thread-local load and a byte, not a call.
// current_cancel_flag: the running task's innermost scope's cached state
// (cancel_node::effectively_cancelled); a constant true while instruments
// observe cancel points (every check then takes the full path and is seen);
// a constant false outside a step. skip_schedule_point: realio may skip the
// next schedule point after an operation that completed at once.
extern constinit thread_local const bool* current_cancel_flag;
extern constinit thread_local bool skip_schedule_point;

/// The schedule point after an operation that completed at once (trio's
/// cancel_shielded_checkpoint): yield_now, except that realio skips it
/// (returns false: do not suspend) when the only task it would let run is
/// one the current step woke. The kernel arms skip_schedule_point at the
/// start of a step whose ready queue was empty, on a FIFO run without
/// instruments (so never on sim), with no I/O in flight and no poll due; a
/// second task made ready, or an I/O operation started, disarms it; a skip
/// uses it up, so no task waits for more than one more segment.
inline bool schedule_point_after_op(task_record& t, std::coroutine_handle<> h) noexcept {
  if (skip_schedule_point) {
    skip_schedule_point = false;
    return false;
  }
  yield_now(t, h);
  return true;
}
/// Wake a parked task; its wait returns normally (the hot path: channels,
/// parking lots, timers), or raises `error` as it resumes.
void reschedule(task_record& t);
void reschedule(task_record& t, std::exception_ptr error);
/// The cancel point: throws `cancelled` if the task's scope is cancelled.
void raise_if_cancelled_slow(task_record& t);
inline void raise_if_cancelled(task_record& t) {
  if (*current_cancel_flag) [[unlikely]]
    raise_if_cancelled_slow(t);
}
bool effectively_cancelled(const task_record& t) noexcept;
void rethrow_wake_error(task_record& t);
/// After a sleep resumes: withdraw its timer if something other than the
/// timer woke it (lowlevel::reschedule), so no stale node stays in the heap.
void sleep_done(sleep_node& node) noexcept;
void sleep_park(sleep_node& node, task_record& t, std::coroutine_handle<> h, std::int64_t when);

// Cancel scopes (runtime/cancel_scope.cpp). A cancel_node is built in its
// scope's storage with the deadline (ns, never for none) and shield the
// scope was made with; scope_destroyed ends it and says whether the scope
// was ever entered (a debug build reports a helper-made scope that was not).
void scope_construct(cancel_node_storage& storage, std::int64_t when, bool shield) noexcept;
bool scope_destroyed(cancel_node& s) noexcept;
void scope_enter(cancel_node& s, const char* api);
void scope_exit(cancel_node& s, std::exception_ptr& error);
void scope_cancel(cancel_node& s, const char* reason) noexcept;
void scope_set_deadline(cancel_node& s, std::int64_t when);
void scope_set_shield(cancel_node& s, bool shield);
bool scope_cancel_called(const cancel_node& s) noexcept;
bool scope_cancelled_caught(const cancel_node& s) noexcept;
/// The deadline on the calling task's host's clock (ns; never for none).
std::int64_t scope_deadline(const cancel_node& s) noexcept;
bool scope_shield(const cancel_node& s) noexcept;
std::int64_t effective_deadline(const task_record& t) noexcept;

// Task groups (runtime/task_group.cpp).
void group_construct(task_group_state_storage& storage) noexcept;
void group_enter(task_group_state& g, cancel_node& scope, const char* api);
void group_spawn(task_group_state& g, cancel_node& scope, task_record& child,
                 std::coroutine_handle<> root, std::string name, start_state_base* start);
void group_body_done(task_group_state& g, cancel_node& scope, std::exception_ptr error);
void group_wait(task_group_state& g, task_record& t, std::coroutine_handle<> h);
void group_finish(task_group_state& g, cancel_node& scope);
/// Ends the state's life (group_construct built it).
void group_destroyed(task_group_state& g) noexcept;
/// A task outside every task group, under the run's root scope (trio's
/// system tasks): for what must run beside the caller without a group of
/// its own, such as a simulated program's handler. Its root must catch
/// everything (an exception it lets out is dropped). When the main task
/// finishes, the root scope is cancelled and the run waits for these tasks.
void spawn_system_task(task_record& child, std::coroutine_handle<> root, std::string name);
void start_begin(start_state_base& s, task_group_state& g, cancel_node& scope, task_record& child,
                 std::coroutine_handle<> root, std::string name);
void start_wait(start_state_base& s, task_record& t, std::coroutine_handle<> h);
void task_started(start_state_base& s);
/// After start_wait resumes: rethrows what ended the start (the child's
/// exception before started(), `cancelled`, a usage_error), if anything.
void start_done(start_state_base& s);
/// A start() call's shared state lives in the caller's frame, which a
/// failed run's teardown may destroy while the start is pending (the kernel
/// has forgotten it by then).
void start_state_construct(start_state_storage& storage) noexcept;
void start_state_destroy(start_state_base& s) noexcept;

/// True while a failed run destroys its remaining frames: close() paths then
/// unlink waiters instead of waking tasks that are about to be destroyed,
/// and a scope never entered is not reported.
bool kernel_tearing_down() noexcept;
/// Called from a root frame's final suspend; the scheduler finalizes after.
void task_finished(task_record& t) noexcept;
/// The root frame's record: built in `storage` (task_record_size bytes) when
/// the frame is created, destroyed with it; the task's exit exception.
void task_record_construct(void* storage) noexcept;
void task_record_destroy(task_record& t) noexcept;
void task_raised(task_record& t, std::exception_ptr error) noexcept;
/// The task's id (as current_task().id).
std::uint64_t task_id(const task_record& t) noexcept;

}  // namespace anyio::detail
