// SPDX-License-Identifier: MIT
// The kernel: one per anyio::run, single-threaded, reached through a
// thread-local pointer. It owns the ready queue, the deadline heap, the
// root of the cancellation tree and the list of live tasks, and asks the
// backend only for time, I/O and (on sim) which ready task runs next. Its
// code is split by concern: scheduler.cpp (run loop, lifecycle, teardown),
// wait.cpp (the blocking primitive), cancel_scope.cpp (the cancellation
// tree), task_group.cpp (groups and start()).
#pragma once
#include <anyio/backend.hpp>
#include <anyio/detail/assert.hpp>
#include <anyio/detail/explore_hooks.hpp>
#include <anyio/detail/kernel_types.hpp>
#include <anyio/detail/root_task.hpp>
#include <anyio/instrument.hpp>
#include <anyio/run.hpp>

#include <anyio/detail/io.hpp>

#include "runtime/deadline_queue.hpp"
#include "runtime/kernel_structs.hpp"
#include "runtime/ready_queue.hpp"
#include "runtime/task_record.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <vector>
#include <string>
#include <string_view>

namespace anyio::detail {

class kernel;
/// The kernel running on this thread (null outside anyio::run()); constinit
/// so that the hot paths read it without a TLS wrapper call.
extern constinit thread_local kernel* tls_kernel;

class kernel {
 public:
  kernel(backend& b, const run_config& config);
  ~kernel();
  kernel(const kernel&) = delete;
  kernel& operator=(const kernel&) = delete;

  static kernel* current() noexcept { return tls_kernel; }
  static kernel& require(const char* api);

  std::exception_ptr run(root_task main);

  // Task lifecycle (scheduler.cpp).
  void spawn(task_record& t, std::coroutine_handle<> root, std::string name, cancel_node* scope,
             std::uint64_t parent_id);
  const std::string& name_of(task_record& t);

  // Waiting (wait.cpp).
  void attempt_delivery(task_record& t) noexcept;
  void make_ready(task_record& t) {
    ready_.push_back(&t);
    if (ready_.size() > 1) skip_schedule_point = false;  // another task waits: no skip
  }
  /// What the inline cancel check of `t` reads (detail::current_cancel_flag).
  const bool* cancel_flag_of(const task_record& t) const noexcept;
  /// `t`'s innermost scope changed: if it is running, the inline check follows.
  void scope_changed(const task_record& t) noexcept {
    if (&t == current_) current_cancel_flag = cancel_flag_of(t);
  }

  // Cancellation tree (cancel_scope.cpp).
  void cancel(cancel_node& s, const char* reason) noexcept;
  void recalculate(cancel_node& s) noexcept;
  static bool compute_cancelled(const cancel_node& s) noexcept;
  static void link_task(cancel_node& s, task_record& t) noexcept;
  static void unlink_task(cancel_node& s, task_record& t) noexcept;
  static void link_child(cancel_node& parent, cancel_node& child) noexcept;
  static void unlink_child(cancel_node& parent, cancel_node& child) noexcept;
  /// The cached state of `s` (false for null): what every checkpoint asks.
  static bool node_cancelled(const cancel_node* s) noexcept {
    return s != nullptr && s->effectively_cancelled;
  }

  // I/O operations in flight (io.cpp): counted here, not by the backend, so
  // that a deadlock has one definition on both backends.
  void io_begin(io_operation& op) noexcept;
  void io_end(io_operation& op) noexcept;
  std::uint64_t io_in_flight() const noexcept { return io_count_; }

  // wait_all_tasks_blocked (testing.cpp).
  void add_idle(idle_node& n);
  void remove_idle(idle_node& n) noexcept;
  void wake_first_idle();

  // Groups (task_group.cpp).
  void child_exited(task_record& t);
  /// The start() state of a child that has not called started() yet.
  start_state_base& take_start(task_record& t) noexcept;
  std::vector<start_state_base*> starts_;  // pending start() calls
  /// Every live task, in id (spawn) order, found through the scope tree:
  /// each lives in its innermost scope's task list.
  std::vector<task_record*> live_tasks() const;

  // lowlevel::task_handle (wait.cpp): a slot table filled only for tasks that
  // were asked for a handle, so spawning costs nothing extra.
  std::uint32_t handle_slot(task_record& t);
  task_record* find_handle(std::uint64_t run, std::uint64_t id, std::uint32_t slot) const noexcept;
  void forget_handle(task_record& t) noexcept;

  void emit(event_kind kind, task_record* t, std::uint64_t other = 0,
            std::string_view detail = {}, bool flag = false) {
    if (instrument_count_ != 0) [[unlikely]]
      emit_slow(kind, t, other, detail, flag);
  }
  bool instrumented() const noexcept { return instrument_count_ != 0; }
  /// A cancel point, for instruments other than the backend's (explore's
  /// observer): the trace has no such event, so a traced run builds none.
  void emit_cancel_point(task_record& t) {
    if (observer_first_ < instrument_count_) [[unlikely]]
      emit_slow(event_kind::cancel_point, &t, 0, {}, false, observer_first_);
  }

  backend& backend_;
  const std::uint64_t run_serial_;  // distinguishes handles of different runs
  ready_queue ready_;
  deadline_queue deadlines_;
  cancel_node root_scope_;
  task_record* current_ = nullptr;
  task_record* main_ = nullptr;
  std::exception_ptr cancelled_;     // one shared `cancelled` object
  std::uint64_t next_task_id_ = 1;
  std::uint64_t next_scope_id_ = 1;
  std::uint64_t next_timer_seq_ = 1;
  std::uint64_t steps_ = 0;
  std::uint64_t live_tasks_ = 0;
  std::uint64_t system_live_ = 0;  // tasks from spawn_system_task, not in a group
  std::vector<idle_node*> idle_;     // wait_all_tasks_blocked, by (cushion, seq)
  std::uint64_t shielded_failures_ = 0;  // shielded scopes left by an exception
  std::vector<task_record*> handles_;       // slot - 1 -> task, null when free
  std::vector<std::uint32_t> free_handles_;  // free slots, reused last-in first-out
  bool tearing_down_ = false;
  // Simulated hosts (runtime/hosts.cpp; sim worlds only): spawns and exits
  // go to the backend, paused hosts' tasks wait in held_, crashed hosts'
  // tasks are frozen in zombies_ and their frames destroyed at run end.
  bool track_tasks_ = false;
  std::vector<task_record*> held_;
  std::vector<task_record*> zombies_;
  std::size_t crash(const std::function<bool(std::uint64_t)>& on_host);
  void release_held(const std::function<bool(std::uint64_t)>& on_host);
  void destroy_zombies() noexcept;
  io_operation* io_head_ = nullptr;  // operations in flight, newest first
  std::uint64_t io_count_ = 0;
  // The cheap schedule point after an operation that completed at once
  // (detail::schedule_point_after_op): only a FIFO run without instruments
  // (realio) arms detail::skip_schedule_point, in step().
  bool cheap_yields_ = false;
  bool may_skip_ = false;  ///< cheap_yields_ and no I/O in flight (io.cpp keeps it)
  /// Instruments see cancel points: the inline cancel check always calls in.
  bool observed_cancel_points_ = false;
  std::uint32_t poll_interval_ = 1;
  std::uint32_t since_poll_ = 0;

 private:
  void loop();
  void step(task_record& t, bool contested);
  void finalize(task_record& t);
  void expire_deadlines();
  void teardown() noexcept;
  void drain_io() noexcept;
  void unlink_scope_tree() noexcept;
  std::string describe_blocked() const;
  run_outcome make_outcome(const std::exception_ptr& error) const;
  void emit_step(task_record& t, bool contested);
  /// Sends the event to instruments_[first..]; `first` skips the backend's.
  void emit_slow(event_kind kind, task_record* t, std::uint64_t other, std::string_view detail,
                 bool flag, int first = 0);

  instrument* instruments_[2] = {nullptr, nullptr};
  int instrument_count_ = 0;
  int observer_first_ = 0;  // index of the first instrument not the backend's
  bool decisions_record_steps_ = false;  // backend::decisions_record_steps()
  /// Steps left in the current pass (the tasks that were ready when it
  /// began, trio's batch). A pass that ends with I/O in flight polls.
  std::size_t pass_left_ = 0;
  bool fifo_ = false;
  bool main_done_ = false;

  std::exception_ptr main_error_;
};

std::exception_ptr cancelled_exception();

}  // namespace anyio::detail
