// SPDX-License-Identifier: MIT
// Task groups and start() (trio's Nursery). The body runs in the group's
// cancel scope; children are spawned under it. A non-cancellation failure of
// the body or a child cancels the scope; `cancelled` from a child is not a
// failure (the scope it came from is still cancelled, so the group's exit
// re-raises it for that scope to absorb, as trio's nursery does by passing
// the children's Cancelled on). The parent waits unabortably for the last
// child. A start() child runs under the caller's innermost scope until it
// calls started(), then moves under the group's scope — unless the caller's
// scope is cancelled by then, in which case it stays and start() is cancelled.
#include "runtime/kernel.hpp"

#include <anyio/errors.hpp>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace anyio::detail {

namespace {

constexpr auto never_abort = []() noexcept { return abort_result::failed; };

void check_open(const task_group_state& g, const char* api) {
  if (g.closed)
    throw_usage_error(std::string(api) +
                      ": this task group has exited; no new tasks can be started in it");
  if (!g.entered)
    throw_usage_error(std::string(api) +
                      ": this task group is not running; start tasks from inside "
                      "with_task_group(...) or task_group::run(...)");
}

void link_child_task(task_group_state& g, task_record& child) {
  child.group = &g;
  child.group_prev = nullptr;
  child.group_next = g.children;
  if (g.children != nullptr) g.children->group_prev = &child;
  g.children = &child;
  ++g.child_count;
}

void unlink_child_task(task_group_state& g, task_record& child) {
  (child.group_prev ? child.group_prev->group_next : g.children) = child.group_next;
  if (child.group_next != nullptr) child.group_next->group_prev = child.group_prev;
  child.group_prev = child.group_next = nullptr;
  ANYIO_ASSERT(g.child_count > 0);
  --g.child_count;
}

void record_failure(kernel& k, task_group_state& g, std::exception_ptr error, task_record& t,
                    const char* reason) {
  if (is_cancelled(error)) {
    g.saw_cancelled = true;
    return;
  }
  g.failures.push_back({std::move(error), k.name_of(t)});
  k.cancel(*g.scope, reason);
}

// Move a task (and the scopes it entered) under a new parent scope.
void reparent(kernel& k, task_record& child, cancel_node& to) {
  cancel_node& from = *child.spawn_scope;
  if (child.outermost != nullptr) {
    kernel::unlink_child(from, *child.outermost);
    kernel::link_child(to, *child.outermost);
  } else {
    ANYIO_ASSERT(child.scope == &from);
    kernel::unlink_task(from, child);
    kernel::link_task(to, child);
    child.scope = &to;
    k.scope_changed(child);
  }
  child.spawn_scope = &to;
  if (child.outermost != nullptr)
    k.recalculate(*child.outermost);
  else if (kernel::node_cancelled(&to))
    k.attempt_delivery(child);
}

}  // namespace

void group_enter(task_group_state& g, cancel_node& scope, const char* api) {
  kernel& k = kernel::require(api);
  if (g.entered)
    throw_usage_error(std::string(api) +
                      ": this task group was already entered; a task group runs one body, "
                      "so create a new one");
  scope_enter(scope, api);
  g.entered = true;
  g.parent = k.current_;
  g.scope = &scope;
}

void group_spawn(task_group_state& g, cancel_node& scope, task_record& child,
                 std::coroutine_handle<> root, std::string name, start_state_base* start) {
  kernel& k = kernel::require("task_group::start_soon()");
  check_open(g, "task_group::start_soon()");
  ANYIO_ASSERT(start == nullptr);
  k.spawn(child, root, std::move(name), &scope, k.current_->id);
  link_child_task(g, child);
}

void group_body_done(task_group_state& g, cancel_node& scope, std::exception_ptr error) {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(g.scope == &scope);
  g.body_done = true;
  if (error) record_failure(k, g, std::move(error), *g.parent, "task group: body raised");
}

void group_wait(task_group_state& g, task_record& t, std::coroutine_handle<> h) {
  if (g.child_count == 0) {
    g.closed = true;  // body done, no children: closed to new arrivals (trio)
    yield_now(t, h);  // a schedule point, but not a cancel point (trio)
    return;
  }
  g.parent_waiting = true;
  park(t, h, never_abort, "task_group: waiting for children", false);
}

void group_finish(task_group_state& g, cancel_node& scope) {
  ANYIO_ASSERT(g.child_count == 0);
  g.parent_waiting = false;
  std::exception_ptr out;
  if (!g.failures.empty()) {
    std::vector<exception_group::member> members;
    members.reserve(g.failures.size());
    for (auto& f : g.failures) members.push_back({std::move(f.error), std::move(f.task)});
    g.failures.clear();
    out = std::make_exception_ptr(exception_group(std::move(members)));
  } else if (g.saw_cancelled) {
    out = cancelled_exception();
  }
  g.closed = true;
  scope_exit(scope, out);
  if (out) std::rethrow_exception(out);
}

void group_construct(task_group_state_storage& storage) noexcept {
  ::new (static_cast<void*>(storage.bytes)) task_group_state{};
}

void group_destroyed(task_group_state& g) noexcept {
  if (g.entered && !g.closed) {
    kernel* k = kernel::current();
    // Only a failed run's teardown destroys a group its body is still in.
    ANYIO_ASSERT(k != nullptr && k->tearing_down_);
  }
  g.~task_group_state();
}

void start_state_construct(start_state_storage& storage) noexcept {
  ::new (static_cast<void*>(storage.bytes)) start_state_base{};
}

void start_state_destroy(start_state_base& s) noexcept {
  // The caller waits unabortably until the kernel lets go of the state, so
  // only a failed run's teardown (or a crashed host's zombies) may end it
  // sooner, and they have cleared kernel::starts_ by then.
  const kernel* k = kernel::current();
  ANYIO_ASSERT(k == nullptr || k->tearing_down_ ||
               std::find(k->starts_.begin(), k->starts_.end(), &s) == k->starts_.end());
  s.~start_state_base();
}

start_state_base& kernel::take_start(task_record& t) noexcept {
  // Few starts are pending at once, and each is looked up once: a scan of a
  // short vector costs less than a pointer in every task (bench/ w4).
  ANYIO_ASSERT(t.starting);
  t.starting = false;
  for (std::size_t i = 0; i < starts_.size(); ++i) {
    if (starts_[i]->child == &t) {
      start_state_base& s = *starts_[i];
      starts_[i] = starts_.back();
      starts_.pop_back();
      return s;
    }
  }
  ANYIO_ASSERT(false && "a starting task without its start state");
  std::abort();
}

void kernel::child_exited(task_record& t) {
  task_group_state& g = *t.group;
  unlink_child_task(g, t);
  if (t.starting) {
    start_state_base& s = take_start(t);
    s.finished = true;
    if (t.error) {
      s.error = t.error;
    } else if (s.started) {
      // started() came after the caller was cancelled (task_started): the
      // caller's start() is cancelled however the child ended (trio).
      s.error = cancelled_;
    } else {
      try {
        throw_usage_error(
            "task_group::start(): the task returned without calling task_status::started()");
      } catch (...) {
        s.error = std::current_exception();
      }
    }
    reschedule(*s.waiter);
  } else if (t.error) {
    record_failure(*this, g, t.error, t, "task group: child raised");
  }
  if (g.child_count == 0 && g.body_done) g.closed = true;
  if (g.child_count == 0 && g.parent_waiting) {
    g.parent_waiting = false;
    reschedule(*g.parent);
  }
}

void start_begin(start_state_base& s, task_group_state& g, cancel_node& scope,
                 task_record& child, std::coroutine_handle<> root, std::string name) {
  kernel& k = kernel::require("task_group::start()");
  check_open(g, "task_group::start()");
  task_record& caller = *k.current_;
  s.waiter = &caller;
  s.child = &child;
  s.group = &g;
  s.group_scope = &scope;
  // Until started(), the child is cancelled with the caller, not the group.
  k.spawn(child, root, std::move(name), caller.scope, caller.id);
  link_child_task(g, child);
  child.starting = true;
  k.starts_.push_back(&s);
}

void start_wait(start_state_base& s, task_record& t, std::coroutine_handle<> h) {
  ANYIO_ASSERT(!s.started && !s.finished);
  park(t, h, never_abort, "task_group::start: waiting for task_status::started()",
       false);
}

void start_done(start_state_base& s) {
  if (s.error) std::rethrow_exception(s.error);
}

void task_started(start_state_base& s) {
  kernel& k = kernel::require("task_status::started()");
  task_record& child = *s.child;
  ANYIO_ASSERT(child.starting);
  ANYIO_ASSERT(!s.started);
  s.started = true;
  // trio (TaskStatus.started): if the caller's scope is already cancelled,
  // quietly keep the task with the caller. It is cancelled at its next
  // checkpoint, and start() raises `cancelled` once it exits, for the
  // caller's scope to absorb; moving it into the group would leave it
  // running after its caller gave up (anyio 4 cancels it too).
  if (kernel::node_cancelled(child.spawn_scope)) return;
  reparent(k, child, *s.group_scope);
  ANYIO_ASSERT(&k.take_start(child) == &s);
  reschedule(*s.waiter);
}

}  // namespace anyio::detail
