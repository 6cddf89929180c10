// SPDX-License-Identifier: MIT
// The cancellation tree (trio's CancelStatus + CancelScope._close). A scope
// is effectively cancelled if it, or an ancestor reached without crossing a
// shield, has been cancelled; every checkpoint asks that question of the
// task's innermost scope, so each node caches the answer and every change
// (cancel, shield, entry, a task moving in start()) recalculates the subtree
// below it, stopping where nothing changes, and aborts the waits of tasks
// that are newly inside a cancelled scope. On exit a scope absorbs a
// `cancelled` only if the cancellation is its own — it was cancelled and the
// cancellation of its parent is not also visible — so outer scopes still see
// theirs (trio: test_cancel_scope_nesting).
#include "runtime/kernel.hpp"

#include <anyio/errors.hpp>

#include <new>

namespace anyio::detail {

bool kernel::compute_cancelled(const cancel_node& s) noexcept {
  return s.cancel_called || (!s.shield && node_cancelled(s.parent));
}

void kernel::link_task(cancel_node& s, task_record& t) noexcept {
  t.scope_prev = nullptr;
  t.scope_next = s.tasks;
  if (s.tasks != nullptr) s.tasks->scope_prev = &t;
  s.tasks = &t;
}

void kernel::unlink_task(cancel_node& s, task_record& t) noexcept {
  (t.scope_prev ? t.scope_prev->scope_next : s.tasks) = t.scope_next;
  if (t.scope_next != nullptr) t.scope_next->scope_prev = t.scope_prev;
  t.scope_prev = t.scope_next = nullptr;
}

void kernel::link_child(cancel_node& parent, cancel_node& child) noexcept {
  child.parent = &parent;
  child.prev_sibling = nullptr;
  child.next_sibling = parent.first_child;
  if (parent.first_child != nullptr) parent.first_child->prev_sibling = &child;
  parent.first_child = &child;
}

void kernel::unlink_child(cancel_node& parent, cancel_node& child) noexcept {
  ANYIO_ASSERT(child.parent == &parent);
  (child.prev_sibling ? child.prev_sibling->next_sibling : parent.first_child) =
      child.next_sibling;
  if (child.next_sibling != nullptr) child.next_sibling->prev_sibling = child.prev_sibling;
  child.prev_sibling = child.next_sibling = nullptr;
}

void kernel::recalculate(cancel_node& s) noexcept {
  // trio: CancelStatus.recalculate — children change only if this node did.
  const bool cancelled = compute_cancelled(s);
  if (cancelled == s.effectively_cancelled) return;
  s.effectively_cancelled = cancelled;
  if (cancelled)
    for (task_record* t = s.tasks; t != nullptr; t = t->scope_next) attempt_delivery(*t);
  for (cancel_node* c = s.first_child; c != nullptr; c = c->next_sibling) recalculate(*c);
}

void kernel::cancel(cancel_node& s, const char* reason) noexcept {
  if (s.cancel_called) return;
  ANYIO_ASSERT(!s.exited);
  s.cancel_called = true;
  if (!s.entered) return;  // takes effect at the first checkpoint inside
  if (s.heap_index != not_in_heap) deadlines_.remove(&s);
  emit(event_kind::cancel_requested, s.owner, s.id, reason);
  recalculate(s);
}

void scope_construct(cancel_node_storage& storage, std::int64_t when, bool shield) noexcept {
  cancel_node* s = ::new (static_cast<void*>(storage.bytes)) cancel_node{};
  ANYIO_ASSERT(s == &storage.node());
  s->when = when;
  s->shield = shield;
}

bool scope_destroyed(cancel_node& s) noexcept {
  const bool entered = s.entered;
  if (entered && !s.exited) {
    kernel* k = kernel::current();
    // Only a kernel tearing down destroys frames that are still inside a
    // scope, and it has unlinked the scope tree first (unlink_scope_tree).
    ANYIO_ASSERT(k != nullptr && k->tearing_down_);
  }
  s.~cancel_node();
  return entered;
}

bool scope_cancel_called(const cancel_node& s) noexcept { return s.cancel_called; }
bool scope_cancelled_caught(const cancel_node& s) noexcept { return s.cancelled_caught; }
bool scope_shield(const cancel_node& s) noexcept { return s.shield; }

std::int64_t scope_deadline(const cancel_node& s) noexcept {
  // Entered, the deadline is on the kernel's clock (a drifting sim host's
  // differs from the task's: detail::host_clocks).
  if (skewed_clocks != nullptr && s.entered && s.when != never) [[unlikely]]
    return skewed_clocks->to_host(s.when);
  return s.when;
}

void scope_cancel(cancel_node& s, const char* reason) noexcept {
  if (s.entered && !s.exited)
    kernel::current()->cancel(s, reason);
  else
    s.cancel_called = true;  // before entry: takes effect inside; after exit: none (trio)
}

void scope_enter(cancel_node& s, const char* api) {
  kernel& k = kernel::require(api);
  task_record& t = *k.current_;
  if (s.entered)
    throw_usage_error(std::string(api) +
                      (s.exited ? ": this cancel scope was already used; a cancel scope can be "
                                  "entered only once, so create a new one"
                                : ": this cancel scope is already entered (entered twice)"));
  s.entered = true;
  s.owner = &t;
  s.id = k.next_scope_id_++;
  kernel::link_child(*t.scope, s);
  kernel::unlink_task(*t.scope, t);
  kernel::link_task(s, t);
  if (t.scope == t.spawn_scope) t.outermost = &s;
  t.scope = &s;
  k.scope_changed(t);
  // trio: CancelScope.__enter__ checks the deadline. The heap alone is not
  // enough: realio expires deadlines only every poll_interval() steps while
  // tasks stay ready, so a deadline already passed would let the first
  // checkpoints through on realio but not on sim.
  // From here on the deadline is on the kernel's clock (detail::host_clocks).
  if (skewed_clocks != nullptr && s.when != never) [[unlikely]]
    s.when = skewed_clocks->to_kernel(s.when);
  if (!s.cancel_called && s.when != never && s.when <= k.backend_.now()) s.cancel_called = true;
  if (!s.cancel_called && s.when != never) {
    s.type = timer_node::kind::scope;
    s.seq = k.next_timer_seq_++;
    k.deadlines_.push(&s);
  }
  s.effectively_cancelled = kernel::compute_cancelled(s);  // a new leaf: nothing below
}

void scope_exit(cancel_node& s, std::exception_ptr& error) {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(s.entered && !s.exited);
  task_record& t = *s.owner;
  ANYIO_ASSERT(t.scope == &s);  // scopes nest: run() exits them in LIFO order
  ANYIO_ASSERT(s.first_child == nullptr);
  if (error && s.cancel_called && is_cancelled(error)) {
    const bool parent_visible = !s.shield && kernel::node_cancelled(s.parent);
    if (!parent_visible) {
      error = nullptr;
      s.cancelled_caught = true;
    }
  }
  if (s.shield && error) ++k.shielded_failures_;  // a shielded cleanup did not finish
  if (s.heap_index != not_in_heap) k.deadlines_.remove(&s);
  kernel::unlink_task(s, t);
  ANYIO_ASSERT(s.tasks == nullptr);
  kernel::link_task(*s.parent, t);
  kernel::unlink_child(*s.parent, s);
  t.scope = s.parent;
  k.scope_changed(t);
  if (t.outermost == &s) t.outermost = nullptr;
  s.exited = true;
}

void scope_set_deadline(cancel_node& s, std::int64_t when) {
  if (skewed_clocks != nullptr && s.entered && when != never) [[unlikely]]
    when = skewed_clocks->to_kernel(when);
  s.when = when;
  if (!s.entered || s.exited || s.cancel_called) return;
  kernel& k = *kernel::current();
  if (s.heap_index != not_in_heap) k.deadlines_.remove(&s);
  // A deadline moved into the past cancels now, as trio's cancel_called
  // does, rather than whenever the run loop next polls (see scope_enter).
  if (when <= k.backend_.now()) {
    k.cancel(s, "deadline");
    return;
  }
  if (when != never) {
    s.type = timer_node::kind::scope;
    s.seq = k.next_timer_seq_++;
    k.deadlines_.push(&s);
  }
}

void scope_set_shield(cancel_node& s, bool shield) {
  s.shield = shield;
  if (!s.entered || s.exited) return;
  // Dropping a shield may expose an outer cancellation to tasks parked
  // inside; raising one hides it from the whole subtree.
  kernel::current()->recalculate(s);
}

std::int64_t effective_deadline(const task_record& t) noexcept {
  if (effectively_cancelled(t)) return std::numeric_limits<std::int64_t>::min();
  std::int64_t d = never;
  for (const cancel_node* s = t.scope; s != nullptr; s = s->parent) {
    if (s->when < d) d = s->when;
    if (s->shield) break;
  }
  if (skewed_clocks != nullptr && d != never) [[unlikely]]
    return skewed_clocks->to_host(d);
  return d;
}

}  // namespace anyio::detail
