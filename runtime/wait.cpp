// SPDX-License-Identifier: MIT
// The blocking primitive (trio's _traps.py + Task._attempt_abort). These are
// the only functions that ever yield back to the task runner: park (wait
// until rescheduled, abortable by cancellation), yield_now (a schedule
// point) and the sleep timer built on park. A task parked inside a cancelled
// scope is aborted at once, so cancellation is level-triggered for waits as
// well as for checkpoints; the abort function runs at most once per wait.
#include "runtime/kernel.hpp"

#include <anyio/detail/explore_hooks.hpp>
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

namespace anyio::detail {

bool effectively_cancelled(const task_record& t) noexcept {
  return kernel::node_cancelled(t.scope);
}

void park(task_record& t, std::coroutine_handle<> h, function_ref<abort_result()> abort,
          const char* what, bool abortable) {
  kernel& k = *tls_kernel;
  ANYIO_ASSERT(k.current_ == &t);
  ANYIO_ASSERT(t.state == task_state::running);
  ANYIO_ASSERT(static_cast<bool>(abort));
  t.resume = h;
  t.state = task_state::parked;
  t.abort = abort;
  t.abort_called = false;
  t.wait_what = what;
  if (k.instrumented()) [[unlikely]] {
    if (abortable) k.emit_cancel_point(t);
    k.emit(event_kind::park, &t, 0, what != nullptr ? what : "");
  }
  // trio: a pending cancellation is delivered as soon as the task blocks.
  if (effectively_cancelled(t)) k.attempt_delivery(t);
}

void yield_now(task_record& t, std::coroutine_handle<> h) noexcept {
  kernel& k = *tls_kernel;
  ANYIO_ASSERT(k.current_ == &t);
  ANYIO_ASSERT(t.state == task_state::running);
  t.resume = h;
  t.state = task_state::ready;
  k.ready_.push_yielded(&t);
}

void reschedule(task_record& t) {
  kernel& k = *tls_kernel;
  if (k.tearing_down_) [[unlikely]]
    return;  // as below
  ANYIO_ASSERT(t.state == task_state::parked);
  ANYIO_ASSERT(!t.error);  // a wake-up error is consumed as the task resumes
  t.abort = {};
  t.wait_what = nullptr;
  t.state = task_state::ready;
  k.make_ready(t);
  k.emit(event_kind::wake, &t, 0, {}, false);
}

void reschedule(task_record& t, std::exception_ptr error) {
  kernel& k = *tls_kernel;
  // A destructor run by teardown may wake a task whose frame is already
  // gone: `t` must not be touched then, and no task will run again anyway.
  if (k.tearing_down_) [[unlikely]]
    return;
  ANYIO_ASSERT(t.state == task_state::parked);
  t.abort = {};
  t.wait_what = nullptr;
  const bool with_error = static_cast<bool>(error);
  t.error = std::move(error);
  t.state = task_state::ready;
  k.make_ready(t);
  k.emit(event_kind::wake, &t, 0, {}, with_error);
}

void kernel::attempt_delivery(task_record& t) noexcept {
  if (t.state != task_state::parked || t.abort_called) return;
  t.abort_called = true;
  if (t.abort() == abort_result::succeeded) {
    emit(event_kind::cancel_delivered, &t);
    reschedule(t, cancelled_);
  }
}

void raise_if_cancelled_slow(task_record& t) {
  kernel& k = *tls_kernel;
  k.emit_cancel_point(t);
  if (effectively_cancelled(t)) [[unlikely]] {
    k.emit(event_kind::cancel_delivered, &t);
    throw_cancelled();
  }
}

void rethrow_wake_error(task_record& t) {
  if (t.error) [[unlikely]]
    std::rethrow_exception(std::exchange(t.error, nullptr));
}

bool cancel_innermost_scope(task_record& t) noexcept {
  if (t.scope == t.spawn_scope) return false;  // only scopes the task entered itself
  kernel::current()->cancel(*t.scope, "explore_cancellation");
  return true;
}

std::uint32_t kernel::handle_slot(task_record& t) {
  if (t.handle_slot == 0) {
    if (free_handles_.empty()) {
      handles_.push_back(&t);
      free_handles_.reserve(handles_.size());  // so forget_handle never allocates
      t.handle_slot = static_cast<std::uint32_t>(handles_.size());
    } else {
      t.handle_slot = free_handles_.back();
      free_handles_.pop_back();
      handles_[t.handle_slot - 1] = &t;
    }
  }
  ANYIO_ASSERT(handles_[t.handle_slot - 1] == &t);
  return t.handle_slot;
}

task_record* kernel::find_handle(std::uint64_t run, std::uint64_t id,
                                 std::uint32_t slot) const noexcept {
  if (run != run_serial_ || slot == 0 || slot > handles_.size()) return nullptr;
  task_record* t = handles_[slot - 1];
  // A reused slot holds another task: ids are never reused within a run.
  return t != nullptr && t->id == id ? t : nullptr;
}

void kernel::forget_handle(task_record& t) noexcept {
  if (t.handle_slot == 0) return;
  ANYIO_ASSERT(handles_[t.handle_slot - 1] == &t);
  handles_[t.handle_slot - 1] = nullptr;
  free_handles_.push_back(t.handle_slot);  // reserved by handle_slot
  t.handle_slot = 0;
}

abort_result sleep_node::operator()() noexcept {
  kernel& k = *kernel::current();
  if (heap_index != not_in_heap) k.deadlines_.remove(this);
  return abort_result::succeeded;
}

void sleep_done(sleep_node& node) noexcept {
  kernel::current()->deadlines_.remove(&node);
}

void sleep_park(sleep_node& node, task_record& t, std::coroutine_handle<> h, std::int64_t when) {
  kernel& k = *kernel::current();
  node.type = timer_node::kind::sleep;
  node.task = &t;
  node.when = skewed_clocks == nullptr ? when : skewed_clocks->to_kernel(when);
  node.seq = k.next_timer_seq_++;
  k.deadlines_.push(&node);
  park(t, h, node, "sleep");
}

}  // namespace anyio::detail

namespace anyio {

std::uint64_t random_below(std::uint64_t bound, std::string_view purpose) {
  auto& k = detail::kernel::require("anyio::random_below()");
  if (bound == 0) detail::throw_usage_error("anyio::random_below(0): the bound must be positive");
  return k.backend_.random_below(bound, purpose);
}

task_info current_task() {
  auto& k = detail::kernel::require("anyio::current_task()");
  return {k.current_->id, k.name_of(*k.current_)};
}

namespace lowlevel {

task_handle current_task_handle() {
  auto& k = detail::kernel::require("anyio::lowlevel::current_task_handle()");
  detail::task_record& t = *k.current_;
  return task_handle(k.run_serial_, t.id, k.handle_slot(t));
}

void reschedule(task_handle task, std::exception_ptr error) {
  auto& k = detail::kernel::require("anyio::lowlevel::reschedule()");
  if (!task)
    detail::throw_usage_error(
        "anyio::lowlevel::reschedule(): the task_handle is empty; get one with "
        "current_task_handle() in the task that will wait");
  detail::task_record* t = k.find_handle(task.run_, task.id_, task.slot_);
  if (t == nullptr)
    detail::throw_usage_error("anyio::lowlevel::reschedule(): task " + std::to_string(task.id_) +
                              " has exited (or the handle comes from another run); a handle "
                              "is valid only while its task lives");
  if (t->state != detail::task_state::parked)
    detail::throw_usage_error(
        "anyio::lowlevel::reschedule(): the task is not parked in wait_task_rescheduled");
  detail::reschedule(*t, std::move(error));
}

}  // namespace lowlevel
}  // namespace anyio
