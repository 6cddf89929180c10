// SPDX-License-Identifier: MIT
// The run loop and task lifecycle (trio's Runner.run / unrolled_run). Each
// iteration either runs one ready task for one step or, when none is ready,
// asks the backend to wait for I/O until the nearest deadline; expired
// deadlines cancel their scopes or wake their sleepers. Invariants: a task is
// in the ready queue iff its state is `ready`; it is parked iff it has an
// abort function; the main task finishing ends the run. If the run ends
// abnormally (a deadlock on sim), every live task's frame is destroyed,
// children before parents, so destructors run and nothing leaks.
#include "runtime/kernel.hpp"

#include <anyio/detail/explore_hooks.hpp>
#include <anyio/errors.hpp>
#include <anyio/time.hpp>

#include <atomic>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <new>
#include <string>
#include <type_traits>

namespace anyio::detail {

constinit thread_local kernel* tls_kernel = nullptr;

namespace {
std::atomic<std::uint64_t> run_serials{1};  // runs may start on several threads
}  // namespace

kernel& kernel::require(const char* api) {
  kernel* k = tls_kernel;
  if (k == nullptr || k->current_ == nullptr) [[unlikely]]
    throw_usage_error(std::string(api) +
                      " was called outside anyio::run(): start the program with "
                      "anyio::run(fn) or anyio::sim::run(fn, options) and call it from a task");
  return *k;
}

constinit thread_local task_record* current_task_ptr = nullptr;

namespace {
// What detail::current_cancel_flag points at when no scope's state applies.
constinit const bool flag_false = false;
constinit const bool flag_true = true;  // observed: every cancel point takes the full path
}  // namespace
constinit thread_local const bool* current_cancel_flag = &flag_false;
constinit thread_local bool skip_schedule_point = false;

namespace {
// Between steps and after a run: no task runs, so neither thread-local may
// keep pointing into a scope that can be gone by the next read.
void clear_step_flags() noexcept {
  current_cancel_flag = &flag_false;
  skip_schedule_point = false;
}
}  // namespace

const bool* kernel::cancel_flag_of(const task_record& t) const noexcept {
  if (observed_cancel_points_) return &flag_true;  // as emit_cancel_point
  ANYIO_ASSERT(t.scope != nullptr);  // every task runs inside at least the root scope
  return &t.scope->effectively_cancelled;
}

void throw_outside_run(const char* api) {
  kernel::require(api);  // throws: no task is running on this thread
  ANYIO_ASSERT(false && "current_task_ptr out of sync with the kernel");
  std::abort();
}

std::int64_t current_time_ns(const char* api) {
  const std::int64_t now = kernel::require(api).backend_.now();
  if (skewed_clocks != nullptr) [[unlikely]]
    return skewed_clocks->to_host(now);
  return now;
}

std::exception_ptr cancelled_exception() {
  kernel* k = tls_kernel;
  ANYIO_ASSERT(k != nullptr);
  return k->cancelled_;
}

kernel::kernel(backend& b, const run_config& config)
    : backend_(b), run_serial_(run_serials.fetch_add(1, std::memory_order_relaxed)) {
  if (tls_kernel != nullptr)
    throw_usage_error(
        "anyio::run() was called inside a running anyio::run() on the same thread: await the "
        "coroutine instead (co_await fn()), or start the second run on another thread");
  if (instrument* i = b.backend_instrument()) {
    instruments_[instrument_count_++] = i;
    decisions_record_steps_ = b.decisions_record_steps();
    observer_first_ = 1;
  }
  if (config.extra_instrument != nullptr)
    instruments_[instrument_count_++] = config.extra_instrument;
  poll_interval_ = b.poll_interval() == 0 ? 1 : b.poll_interval();
  fifo_ = b.fifo();
  // Only a FIFO, uninstrumented run may skip a schedule point: on sim every
  // schedule point is a decision, and a trace must see every step.
  cheap_yields_ = fifo_ && instrument_count_ == 0;
  may_skip_ = cheap_yields_;
  observed_cancel_points_ = observer_first_ < instrument_count_;
  try {
    throw_cancelled();
  } catch (...) {
    cancelled_ = std::current_exception();
  }
  root_scope_.entered = true;
  root_scope_.id = 0;
  tls_kernel = this;
}

kernel::~kernel() {
  tls_kernel = nullptr;
  clear_step_flags();
}

std::exception_ptr run_kernel(backend& b, root_task main, const run_config& config) {
  kernel k(b, config);
  return k.run(std::move(main));
}

std::exception_ptr kernel::run(root_task main) {
  backend_.run_started();
  auto h = main.release();
  spawn(h.promise().record(), h, "main", &root_scope_, 0);
  main_ = &h.promise().record();
  try {
    loop();
  } catch (...) {
    auto error = std::current_exception();
    run_outcome outcome = make_outcome(error);
    teardown();
    backend_.run_finished(outcome);
    throw;
  }
  ANYIO_ASSERT(live_tasks_ == 0);
  if (!zombies_.empty()) [[unlikely]]
    destroy_zombies();
  backend_.run_finished(make_outcome(main_error_));
  return main_error_;
}

run_outcome kernel::make_outcome(const std::exception_ptr& error) const {
  run_outcome out;
  out.steps = steps_;
  out.time = backend_.now();
  out.shielded_failures = shielded_failures_;
  if (!error) {
    out.kind = main_done_ ? "passed" : "error";
    return out;
  }
  exception_description d = describe_exception_parts(error);
  out.exception_type = d.type;
  out.message = d.message;
  if (!main_done_) {
    // The run loop itself failed: a deadlock (with the blocked tasks) or an
    // error of the backend (liveness limit, replay divergence).
    try {
      std::rethrow_exception(error);
    } catch (const deadlock_error&) {
      out.kind = "deadlock";
      for (task_record* t : live_tasks())
        out.blocked.push_back({t->id, t->name ? *t->name : "task-" + std::to_string(t->id),
                               t->state == task_state::parked && t->wait_what ? t->wait_what
                                                                              : "(not parked)"});
      return out;
    } catch (...) {
      out.kind = "error";
      return out;
    }
  }
  out.kind = "failed";
  return out;
}

void kernel::spawn(task_record& t, std::coroutine_handle<> root, std::string name,
                   cancel_node* scope, std::uint64_t parent_id) {
  t.id = next_task_id_++;
  if (!name.empty()) t.name = std::make_unique<std::string>(std::move(name));
  ANYIO_ASSERT(root == root_of(t));
  t.resume = root;
  t.state = task_state::ready;
  t.scope = t.spawn_scope = scope;
  link_task(*scope, t);
  ++live_tasks_;
  ready_.push_back(&t);
  if (track_tasks_) [[unlikely]]
    backend_.task_spawned(t.id, parent_id);
  emit(event_kind::spawn, &t, parent_id);
}

void spawn_system_task(task_record& child, std::coroutine_handle<> root, std::string name) {
  kernel& k = kernel::require("spawn_system_task()");
  k.spawn(child, root, std::move(name), &k.root_scope_, k.current_->id);
  ++k.system_live_;
}

const std::string& kernel::name_of(task_record& t) {
  if (!t.name) t.name = std::make_unique<std::string>("task-" + std::to_string(t.id));
  return *t.name;
}

void kernel::loop() {
  // System tasks (a sim program's handler) outlive main only until they
  // have seen the cancellation main's end sent them.
  while (!main_done_ || system_live_ != 0) {
    if (ready_.empty()) {
      std::int64_t next = deadlines_.empty() ? never : deadlines_.top()->when;
      bool idle_primed = false;  // trio: wait at most the smallest cushion
      if (!idle_.empty()) {
        std::int64_t idle_at = saturating_add(backend_.now(), idle_.front()->cushion);
        if (idle_at <= next) {
          next = idle_at;
          idle_primed = true;
        }
      }
      // Deadlock: nothing ready, no deadline, no I/O in flight (both
      // backends); sim also reports one when its event queue is empty.
      if ((next == never && io_count_ == 0) || !backend_.wait_for_events(next))
        throw deadlock_error("deadlock: every task is blocked and nothing can wake them (" +
                             backend_.name() + ", t=" + format_duration(backend_.now()) +
                             ", step " + std::to_string(steps_) + ")\n" + describe_blocked());
      since_poll_ = 0;
      expire_deadlines();
      if (idle_primed && ready_.empty() && !idle_.empty()) wake_first_idle();
      pass_left_ = ready_.size();
      continue;
    }
    // Poll every poll_interval_ steps, and at the end of every pass while
    // I/O is in flight (trio checks I/O once per batch): a task that stays
    // ready — a sender whose sends all succeed at once — must not starve its
    // peers' completions, or the peer's buffer fills and the sender stalls.
    if (++since_poll_ >= poll_interval_ || (pass_left_ == 0 && io_count_ != 0)) {
      since_poll_ = 0;
      backend_.poll_events();
      expire_deadlines();
      pass_left_ = ready_.size();
      if (ready_.empty()) continue;
    }
    if (pass_left_ != 0) --pass_left_;
    const bool contested = ready_.size() > 1;
    task_record* next = fifo_ ? ready_.take_front() : ready_.take(backend_.pick_next(ready_));
    if (track_tasks_ && backend_.hold_task(next->id)) [[unlikely]] {
      held_.push_back(next);  // its host is paused: it runs after resume
      continue;
    }
    step(*next, contested);
  }
}

void kernel::step(task_record& t, bool contested) {
  ANYIO_ASSERT(t.state == task_state::ready);
  ANYIO_ASSERT(current_ == nullptr);
  t.state = task_state::running;
  current_ = &t;
  current_task_ptr = &t;
  current_cancel_flag = cancel_flag_of(t);
  // The skip (detail::schedule_point_after_op) is armed only when the only
  // task it could delay is one this step wakes. Not while I/O is in flight
  // or a poll is due (the loop polls between steps). A skipped point is not
  // a step, so it does not count toward the next poll: counting it doubled
  // w2's epoll_wait calls (one per 16 round trips, strace).
  // (`contested` is false exactly when loop() took the only ready task.)
  skip_schedule_point = may_skip_ && !contested && since_poll_ + 1 < poll_interval_;
  ++steps_;
  if (instrument_count_ != 0) [[unlikely]]
    emit_step(t, contested);
  resume_flat(t.resume);  // task.hpp: awaits within the step run on a flat stack
  current_ = nullptr;
  current_task_ptr = nullptr;
  clear_step_flags();
  ANYIO_ASSERT(t.state != task_state::running);
  if (t.state == task_state::done) finalize(t);
}

void task_record_construct(void* storage) noexcept {
  static_assert(std::is_nothrow_default_constructible_v<task_record>);
  ::new (storage) task_record();
}

void task_record_destroy(task_record& t) noexcept { t.~task_record(); }

void task_raised(task_record& t, std::exception_ptr error) noexcept {
  ANYIO_ASSERT(!t.error);  // a wake-up error is consumed as the task resumes
  t.error = std::move(error);
  t.exit_cancelled = is_cancelled(t.error);
}

std::uint64_t task_id(const task_record& t) noexcept { return t.id; }

void task_finished(task_record& t) noexcept {
  ANYIO_ASSERT(t.state == task_state::running);
  t.state = task_state::done;
}

void kernel::finalize(task_record& t) {
  // Structured concurrency: a task can only end after leaving every scope it
  // entered, so it is back in the scope it was spawned under.
  ANYIO_ASSERT(t.scope == t.spawn_scope);
  ANYIO_ASSERT(t.outermost == nullptr);
  unlink_task(*t.scope, t);
  --live_tasks_;
  if (track_tasks_) [[unlikely]]
    backend_.task_exited(t.id);
  if (t.handle_slot != 0) [[unlikely]]
    forget_handle(t);
  if (instrumented()) {
    std::string outcome = t.error ? describe_exception(t.error) : std::string("ok");
    emit(event_kind::task_exit, &t, 0, outcome, static_cast<bool>(t.error));
  }
  if (&t == main_) {
    main_error_ = t.error;
    main_done_ = true;
    main_ = nullptr;
    if (system_live_ != 0) cancel(root_scope_, "the main task finished");
  } else if (t.group == nullptr) {
    ANYIO_ASSERT(system_live_ > 0);
    --system_live_;  // its wrapper keeps its outcome; nothing to report here
  } else {
    child_exited(t);
  }
  root_of(t).destroy();  // `t` lives in this frame: nothing may touch it after
}

void kernel::expire_deadlines() {
  if (deadlines_.empty()) return;
  const std::int64_t now = backend_.now();
  while (!deadlines_.empty() && deadlines_.top()->when <= now) {
    timer_node* n = deadlines_.pop();
    if (n->type == timer_node::kind::scope) {
      auto& s = static_cast<cancel_node&>(*n);
      emit(event_kind::deadline_fired, nullptr, s.id);
      cancel(s, "deadline");
    } else {
      auto& sleeper = static_cast<sleep_node&>(*n);
      reschedule(*sleeper.task);
    }
  }
}

std::vector<run_outcome::blocked_task> blocked_tasks_now() {
  std::vector<run_outcome::blocked_task> out;
  if (kernel* k = tls_kernel)
    for (task_record* t : k->live_tasks())
      out.push_back({t->id, t->name ? *t->name : "task-" + std::to_string(t->id),
                     t->state == task_state::parked && t->wait_what ? t->wait_what
                                                                    : "(not parked)"});
  return out;
}

std::string kernel::describe_blocked() const {
  std::string out = "blocked tasks:";
  for (task_record* t : live_tasks()) {
    out += "\n  task " + std::to_string(t->id) + " '" +
           (t->name ? *t->name : "task-" + std::to_string(t->id)) + "' waits on ";
    out += t->state == task_state::parked && t->wait_what ? t->wait_what : "(not parked)";
  }
  return out;
}

void kernel::teardown() noexcept {
  tearing_down_ = true;
  // First abandon every operation in flight: no backend handler or buffer
  // may outlive the frame it points into.
  drain_io();
  deadlines_.clear();
  ready_.clear();
  idle_.clear();
  held_.clear();
  current_ = nullptr;
  current_task_ptr = nullptr;
  clear_step_flags();
  // Unlink before destroying: the destructors run below may cancel a scope or
  // wake a task, and nothing they reach may lead into a frame already gone.
  // With the tree and the group lists cut, cancel() only records the request.
  std::vector<task_record*> tasks;
  try {
    tasks = live_tasks();
  } catch (...) {
    std::abort();  // out of memory while tearing down: nothing safe is left
  }
  unlink_scope_tree();
  starts_.clear();
  for (task_record* t : tasks) {
    t->scope_prev = t->scope_next = nullptr;
    t->group = nullptr;
    t->group_prev = t->group_next = nullptr;
    t->starting = false;
    t->abort = {};
    forget_handle(*t);
  }
  // Children have larger ids than their parents: destroying from the last
  // unwinds every task before the task whose group is waiting on it.
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) root_of(**it).destroy();
  live_tasks_ = 0;
  destroy_zombies();
  main_ = nullptr;
}

std::vector<task_record*> kernel::live_tasks() const {
  std::vector<task_record*> out;
  out.reserve(live_tasks_);
  // Pre-order walk of the cancel tree without a stack (first_child,
  // next_sibling, parent), gathering each scope's tasks.
  const cancel_node* n = &root_scope_;
  while (n != nullptr) {
    for (task_record* t = n->tasks; t != nullptr; t = t->scope_next) out.push_back(t);
    if (n->first_child != nullptr) {
      n = n->first_child;
      continue;
    }
    while (n != nullptr && n != &root_scope_ && n->next_sibling == nullptr) n = n->parent;
    n = n == nullptr || n == &root_scope_ ? nullptr : n->next_sibling;
  }
  ANYIO_ASSERT(out.size() == live_tasks_);
  std::sort(out.begin(), out.end(),
            [](const task_record* a, const task_record* b) { return a->id < b->id; });
  return out;
}

void kernel::unlink_scope_tree() noexcept {
  // Post-order without a stack: pop a node's first child and descend into it;
  // a node without children is cut loose and we climb back to its parent.
  cancel_node* n = &root_scope_;
  while (n != nullptr) {
    if (cancel_node* c = n->first_child) {
      n->first_child = c->next_sibling;
      n = c;
      continue;
    }
    cancel_node* up = n == &root_scope_ ? nullptr : n->parent;
    n->tasks = nullptr;
    n->prev_sibling = n->next_sibling = nullptr;
    if (n != &root_scope_) {
      n->parent = nullptr;
      n->exited = true;  // a later cancel() of it only records the request
    }
    n = up;
  }
}

void kernel::emit_step(task_record& t, bool contested) {
  // The backend instrument (index 0) already has this step when its
  // decision stood for it: the sim trace's decide line.
  const int first = contested && decisions_record_steps_ ? 1 : 0;
  if (first < instrument_count_) emit_slow(event_kind::step, &t, 0, {}, false, first);
}

void kernel::emit_slow(event_kind kind, task_record* t, std::uint64_t other,
                       std::string_view detail, bool flag, int first) {
  kernel_event e{kind};
  e.step = steps_;
  e.time = backend_.now();
  if (t != nullptr) {
    e.task = t->id;
    e.task_name = name_of(*t);
  }
  e.other = other;
  e.detail = detail;
  e.flag = flag;
  for (int i = first; i < instrument_count_; ++i) instruments_[i]->on_event(e);
}

}  // namespace anyio::detail
