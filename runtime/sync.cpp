// SPDX-License-Identifier: MIT
// The non-blocking halves of the primitives in <anyio/sync.hpp>: set,
// release, notify, token accounting and the misuse errors (trio's _sync.py).
// Every hand-off dequeues the waiter and gives it the resource in the same
// step (lock owner, semaphore unit, limiter token), so a waiter is either
// still queued and owed nothing, or runnable and already served.
#include <anyio/errors.hpp>
#include <anyio/sync.hpp>

#include "runtime/task_record.hpp"

#include <algorithm>
#include <string>

namespace anyio::detail {

void lock_state::throw_reacquire() {
  throw_usage_error(
      "anyio::lock: the current task already holds this lock (it is not reentrant); "
      "release it first, or keep the sync_guard from guard() instead of locking twice");
}

void lock_state::release_by(const task_record& t, const char* api) {
  if (owner != t.id) {
    std::string holder = owner == 0 ? std::string("nobody holds it")
                                    : "it is held by task " + std::to_string(owner);
    throw_usage_error(std::string(api) + ": the current task (task " + std::to_string(t.id) +
                      ") does not hold this lock (" + holder +
                      "); only the task that acquired a lock may release it");
  }
  hand_off();
}

void lock_state::hand_off() {
  park_node* next = unpark_one(lot);
  owner = next != nullptr ? next->task->id : 0;
}

void lock_state::release_guarded(void* self, std::uintptr_t owner_id) noexcept {
  auto& s = *static_cast<lock_state*>(self);
  if (s.owner != owner_id) {
    // Legitimate only when a failed run destroys a task parked in
    // condition::wait (which had released the lock); otherwise the lock was
    // released by hand as well as by the guard.
    ANYIO_ASSERT(kernel_tearing_down() && "sync_guard: the lock was already released by hand");
    return;
  }
  s.hand_off();
}

void semaphore_state::release() {
  if (!lot.empty()) {
    ANYIO_ASSERT(value == 0);
    unpark_one(lot);  // the unit goes straight to the first waiter
    return;
  }
  if (max_value && value >= *max_value)
    throw_usage_error("anyio::semaphore::release(): semaphore released too many times (value " +
                      std::to_string(value) + " is already max_value " +
                      std::to_string(*max_value) + ")");
  ++value;
}

void semaphore_state::release_guarded(void* self, std::uintptr_t) noexcept {
  auto& s = *static_cast<semaphore_state*>(self);
  if (s.max_value && s.value >= *s.max_value && s.lot.empty()) {
    ANYIO_ASSERT(kernel_tearing_down() && "sync_guard: the unit was already released by hand");
    return;
  }
  s.release();
}

bool limiter_state::holds(const void* b) const noexcept {
  return std::find(borrowers.begin(), borrowers.end(), b) != borrowers.end();
}

bool limiter_state::try_take(const limiter_node& n) {
  const void* b = n.borrower;
  if (holds(b))
    throw_usage_error(
        "anyio::capacity_limiter: this borrower is already holding one of this "
        "capacity_limiter's tokens; release it first (each borrower holds at most one)");
  if (borrowers.size() < total && lot.empty()) {
    borrowers.push_back(b);
    return true;
  }
  for (park_node* p = lot.front(); p != nullptr; p = p->next)
    if (static_cast<limiter_node*>(p)->borrower == b)
      throw_usage_error(
          "anyio::capacity_limiter: this borrower is already waiting for one of this "
          "capacity_limiter's tokens; each borrower holds at most one");
  return false;
}

void limiter_state::release(const void* b, const char* api) {
  auto it = std::find(borrowers.begin(), borrowers.end(), b);
  if (it == borrowers.end())
    throw_usage_error(std::string(api) +
                      ": this borrower isn't holding any of this capacity_limiter's tokens");
  borrowers.erase(it);
  wake_waiters();
}

void limiter_state::wake_waiters() {
  while (borrowers.size() < total && !lot.empty()) {
    park_node* n = lot.front();
    borrowers.push_back(static_cast<limiter_node*>(n)->borrower);  // may throw: before dequeue
    unpark_one(lot);
  }
}

void limiter_state::release_guarded(void* self, std::uintptr_t borrower) noexcept {
  auto& s = *static_cast<limiter_state*>(self);
  const void* b = reinterpret_cast<const void*>(borrower);
  if (!s.holds(b)) {
    ANYIO_ASSERT(kernel_tearing_down() && "sync_guard: the token was already released by hand");
    return;
  }
  s.borrowers.erase(std::find(s.borrowers.begin(), s.borrowers.end(), b));
  s.wake_waiters();
}

}  // namespace anyio::detail

namespace anyio {

void event::set() {
  if (s_.flag) return;
  s_.flag = true;
  detail::unpark(s_.lot, s_.lot.size());
}

bool lock::try_acquire() {
  auto& t = detail::current_task_record("anyio::lock::try_acquire()");
  return s_.try_take(t);
}

void lock::release() {
  s_.release_by(detail::current_task_record("anyio::lock::release()"),
                "anyio::lock::release()");
}

semaphore::semaphore(std::size_t initial_value, std::optional<std::size_t> max_value) {
  if (max_value && *max_value < initial_value)
    detail::throw_usage_error("anyio::semaphore: max_value (" + std::to_string(*max_value) +
                              ") must be >= initial_value (" + std::to_string(initial_value) +
                              ")");
  s_.value = initial_value;
  s_.max_value = max_value;
}

bool semaphore::try_acquire() noexcept {
  if (s_.value == 0) return false;
  ANYIO_ASSERT(s_.lot.empty());
  --s_.value;
  return true;
}

void condition::require_owner(const char* api) const {
  auto& t = detail::current_task_record(api);
  if (lock_->s_.owner != t.id)
    detail::throw_usage_error(std::string(api) +
                              ": the current task must hold the condition's lock; acquire it "
                              "first (co_await cond.acquire() or auto held = co_await "
                              "cond.guard())");
}

task<> condition::wait() {
  require_owner("anyio::condition::wait()");
  lock_->release();
  std::exception_ptr error;
  try {
    co_await detail::lot_park_awaiter{lot_, "anyio::condition::wait"};
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    // trio: re-acquire shielded, so the caller holds the lock whatever happened.
    co_await detail::lock_reacquire_awaiter{lock_->s_};
    std::rethrow_exception(error);
  }
  ANYIO_ASSERT(lock_->s_.owner == detail::current_task_record("anyio::condition::wait()").id);
}

void condition::notify(std::size_t n) {
  require_owner("anyio::condition::notify()");
  detail::repark(lot_, lock_->s_.lot, n);
}

void condition::notify_all() {
  require_owner("anyio::condition::notify_all()");
  detail::repark(lot_, lock_->s_.lot, lot_.size());
}

capacity_limiter::capacity_limiter(std::size_t total_tokens) { set_total_tokens(total_tokens); }

void capacity_limiter::set_total_tokens(std::size_t n) {
  if (n == 0)
    detail::throw_usage_error(
        "anyio::capacity_limiter: total_tokens must be >= 1 (or anyio::unbounded)");
  s_.total = n;
  s_.wake_waiters();
}

bool capacity_limiter::try_acquire() {
  auto& t = detail::current_task_record("anyio::capacity_limiter::try_acquire()");
  return try_acquire_on_behalf_of(&t);
}

bool capacity_limiter::try_acquire_on_behalf_of(const void* borrower) {
  detail::limiter_node node;
  node.borrower = borrower;
  return s_.try_take(node);
}

void capacity_limiter::release() {
  auto& t = detail::current_task_record("anyio::capacity_limiter::release()");
  s_.release(&t, "anyio::capacity_limiter::release()");
}

void capacity_limiter::release_on_behalf_of(const void* borrower) {
  s_.release(borrower, "anyio::capacity_limiter::release_on_behalf_of()");
}

namespace lowlevel {
std::size_t parking_lot::repark(parking_lot& to, std::size_t count) {
  if (&to == this) detail::throw_usage_error("anyio::lowlevel::parking_lot::repark(): to itself");
  return detail::repark(lot_, to.lot_, count);
}
}  // namespace lowlevel

}  // namespace anyio
