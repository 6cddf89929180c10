// SPDX-License-Identifier: MIT
// The blocking primitive (trio's _traps.py + Task._attempt_abort). These are
// the only functions that ever yield back to the task runner: park (wait
// until rescheduled, abortable by cancellation), yield_now (a schedule
// point) and the sleep timer built on park. A task parked inside a cancelled
// scope is aborted at once, so cancellation is level-triggered for waits as
// well as for checkpoints; the abort function runs at most once per wait.
#include "runtime/kernel.hpp"

#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

namespace anyio::detail {

bool effectively_cancelled(const task_record& t) noexcept {
  return kernel::node_cancelled(t.scope);
}

void park(task_record& t, std::coroutine_handle<> h, function_ref<abort_result()> abort,
          const char* what, bool abortable) {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(k.current_ == &t);
  ANYIO_ASSERT(t.state == task_state::running);
  ANYIO_ASSERT(static_cast<bool>(abort));
  t.resume = h;
  t.state = task_state::parked;
  t.abort = abort;
  t.abort_called = false;
  t.wait_what = what;
  if (k.instrumented()) [[unlikely]] {
    if (abortable) k.emit(event_kind::cancel_point, &t);
    k.emit(event_kind::park, &t, 0, what != nullptr ? what : "");
  }
  // trio: a pending cancellation is delivered as soon as the task blocks.
  if (effectively_cancelled(t)) k.attempt_delivery(t);
}

void yield_now(task_record& t, std::coroutine_handle<> h) noexcept {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(k.current_ == &t);
  ANYIO_ASSERT(t.state == task_state::running);
  t.resume = h;
  t.state = task_state::ready;
  k.ready_.push_yielded(&t);
}

void reschedule(task_record& t, std::exception_ptr error) {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(t.state == task_state::parked);
  t.abort = {};
  t.wait_what = nullptr;
  const bool with_error = static_cast<bool>(error);
  t.wake_error = std::move(error);
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

void raise_if_cancelled(task_record& t) {
  kernel& k = *kernel::current();
  k.emit(event_kind::cancel_point, &t);
  if (effectively_cancelled(t)) [[unlikely]] {
    k.emit(event_kind::cancel_delivered, &t);
    throw_cancelled();
  }
}

void rethrow_wake_error(task_record& t) {
  if (t.wake_error) [[unlikely]]
    std::rethrow_exception(std::exchange(t.wake_error, nullptr));
}

bool cancel_innermost_scope(task_record& t) noexcept {
  if (t.scope == t.spawn_scope) return false;  // only scopes the task entered itself
  kernel::current()->cancel(*t.scope, "explore_cancellation");
  return true;
}

bool tearing_down() noexcept {
  kernel* k = kernel::current();
  return k != nullptr && k->tearing_down_;
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
  node.when = when;
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
  return task_handle(&detail::current_task_record("anyio::lowlevel::current_task_handle()"));
}

void reschedule(task_handle task, std::exception_ptr error) {
  detail::kernel::require("anyio::lowlevel::reschedule()");
  if (!task.rec_ || task.rec_->state != detail::task_state::parked)
    detail::throw_usage_error(
        "anyio::lowlevel::reschedule(): the task is not parked in wait_task_rescheduled");
  detail::reschedule(*task.rec_, std::move(error));
}

}  // namespace lowlevel
}  // namespace anyio
