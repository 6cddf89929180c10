// SPDX-License-Identifier: MIT
// The kernel's low-level interface (trio.lowlevel): checkpoints, the one
// blocking primitive wait_task_rescheduled + reschedule, and task identity.
// Every blocking operation in anyio — sleep, primitives, channels, I/O — is
// built on wait_task_rescheduled, so all of them cancel the same way on both
// backends. User code rarely needs more than checkpoint() and current_task().
#pragma once
#include <anyio/detail/awaiter.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace anyio {

namespace detail {

/// Schedule point, then cancel point (trio's checkpoint order: the scheduler
/// runs deadline expiry in between, so the cancel check sees fresh state).
struct checkpoint_awaiter {
  const char* api;
  task_record* t = nullptr;
  bool await_ready() {
    t = &current_task_record(api);
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) noexcept { yield_now(*t, h); }
  void await_resume() { raise_if_cancelled(*t); }
};

/// Schedule point only.
struct shielded_checkpoint_awaiter {
  task_record* t = nullptr;
  bool await_ready() {
    t = &current_task_record("anyio::cancel_shielded_checkpoint()");
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) noexcept { yield_now(*t, h); }
  void await_resume() const noexcept {}
};

/// Cancel point only: raises if cancelled, never switches task.
struct cancel_check_awaiter {
  bool await_ready() {
    raise_if_cancelled(current_task_record("anyio::checkpoint_if_cancelled()"));
    return true;
  }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

}  // namespace detail

/// A schedule point and a cancel point: lets other tasks run, then raises
/// `cancelled` if an enclosing scope is cancelled.
/// Checkpoint: yes. Throws: cancelled.
[[nodiscard]] inline detail::checkpoint_awaiter checkpoint() noexcept {
  return {"anyio::checkpoint()"};
}

/// Raises `cancelled` if an enclosing scope is cancelled; never switches task.
[[nodiscard]] inline detail::cancel_check_awaiter checkpoint_if_cancelled() noexcept { return {}; }

/// Lets other tasks run; never raises `cancelled`.
[[nodiscard]] inline detail::shielded_checkpoint_awaiter cancel_shielded_checkpoint() noexcept {
  return {};
}

/// A uniform random number in [0, bound) from the running backend: on sim it
/// comes from the run's seeded generator, is recorded in the trace and is
/// replayed, so randomised test logic stays reproducible; on realio it is
/// real entropy. `purpose` labels the draw in traces. Throws usage_error if
/// bound is 0 or outside anyio::run().
std::uint64_t random_below(std::uint64_t bound, std::string_view purpose = "user");

/// Identity of a task: a small sequential id (1 = the main task) and a name.
struct task_info {
  std::uint64_t id = 0;
  std::string name;
};

/// The task running now. Throws usage_error outside anyio::run().
task_info current_task();

namespace lowlevel {

/// A reference to a kernel task, for waking it with reschedule(). It names
/// the task by run, slot and id rather than by address, so a handle that
/// outlives its task (or its run) is detected instead of dangling.
class task_handle {
 public:
  task_handle() noexcept = default;
  /// The task's id (as current_task().id); 0 for an empty handle.
  std::uint64_t id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != 0; }
  friend bool operator==(task_handle a, task_handle b) noexcept {
    return a.run_ == b.run_ && a.id_ == b.id_;
  }

 private:
  task_handle(std::uint64_t run, std::uint64_t id, std::uint32_t slot) noexcept
      : run_(run), id_(id), slot_(slot) {}
  std::uint64_t run_ = 0;
  std::uint64_t id_ = 0;
  std::uint32_t slot_ = 0;
  friend task_handle current_task_handle();
  friend void reschedule(task_handle, std::exception_ptr);
};

/// A handle to the running task. Throws usage_error outside anyio::run().
task_handle current_task_handle();

/// Make a task parked in wait_task_rescheduled runnable again; it resumes by
/// returning normally, or by throwing `error` if one is given.
/// Throws usage_error if the task is not parked, has exited, or belongs to
/// another run (the handle is checked, never dereferenced blindly).
void reschedule(task_handle task, std::exception_ptr error = nullptr);

/// Park the current task until someone calls reschedule() on it (trio's
/// wait_task_rescheduled). If an enclosing scope is cancelled — now or
/// later — `abort_fn()` is called at most once; returning
/// abort_result::succeeded makes the task resume with `cancelled`, returning
/// failed means the operation will still complete and reschedule the task.
/// `abort_fn` must outlive the co_await (a lambda in the same expression does).
/// `what` describes the wait (deadlock reports, traces); it must stay valid.
/// Checkpoint: yes (a cancel point: a pending cancellation aborts at once).
template <class F>
[[nodiscard]] detail::user_park_awaiter wait_task_rescheduled(F&& abort_fn, const char* what) {
  return {detail::function_ref<abort_result()>(abort_fn), what};
}

using anyio::cancel_shielded_checkpoint;
using anyio::checkpoint;
using anyio::checkpoint_if_cancelled;

}  // namespace lowlevel
}  // namespace anyio
