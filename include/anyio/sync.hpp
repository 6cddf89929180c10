// SPDX-License-Identifier: MIT
// Synchronisation primitives (anyio/trio): event, lock, semaphore, condition,
// capacity_limiter, and the parking_lot they are built on. All are strictly
// FIFO and built only on the kernel's one blocking primitive, so they behave
// the same on both backends. A cancelled waiter leaves the queue having taken
// nothing; what a waiter is given (a lock, a token) is handed over when it is
// dequeued, so a cancellation that arrives after the hand-off cannot lose it.
// Blocking calls return awaiters (no allocation); the cold paths live in
// runtime/sync.cpp.
#pragma once
#include <anyio/detail/awaiter.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/parking_lot.hpp>
#include <anyio/detail/unbounded.hpp>
#include <anyio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace anyio {

class sync_guard;

namespace detail {

using release_fn = void (*)(void* object, std::uintptr_t token) noexcept;
sync_guard make_guard(release_fn fn, void* object, std::uintptr_t token) noexcept;

struct event_state {
  parking_lot_core lot;
  bool flag = false;
};

/// event::wait(): trio makes waiting on a set event a full checkpoint.
struct event_wait_op {
  event_state& s;
  const char* api = "anyio::event::wait()";
  park_node node{};
  static constexpr fast_path order = fast_path::yield_then_cancel;
  bool try_now(task_record&) const noexcept { return s.flag; }
  void wait(task_record& t, std::coroutine_handle<> h) {
    park_in(s.lot, node, t, h, "anyio::event::wait");
  }
};
using event_wait_awaiter = blocking_awaiter<event_wait_op>;

/// Every acquire (trio's Lock.acquire): a cancel point first, then either
/// the fast path plus a schedule point, or a FIFO wait. With Guard, the
/// result is a sync_guard holding what was acquired.
template <class State, bool Guard> struct acquire_op {
  State& s;
  const char* api;
  park_node node{};
  static constexpr fast_path order = fast_path::cancel_then_yield;
  bool try_now(task_record& t) { return s.try_take(t); }
  void wait(task_record& t, std::coroutine_handle<> h) {
    park_in(s.lot, node, t, h, s.wait_what());
  }
  auto result(task_record& t, bool) noexcept {
    if constexpr (Guard) return make_guard(&State::release_guarded, &s, task_id(t));
  }
};
template <class State> using acquire_awaiter = blocking_awaiter<acquire_op<State, false>>;
template <class State> using guard_awaiter = blocking_awaiter<acquire_op<State, true>>;

struct lock_state {
  parking_lot_core lot;
  std::uint64_t owner = 0;  ///< the owning task's id; 0 = unlocked

  /// Take the lock now if that is fair (nobody is queued).
  bool try_take(const task_record& t) {
    if (owner == task_id(t)) throw_reacquire();
    if (owner != 0 || !lot.empty()) return false;
    owner = task_id(t);
    return true;
  }
  static const char* wait_what() noexcept { return "anyio::lock::acquire"; }
  [[noreturn]] static void throw_reacquire();
  /// Release by task `t`; usage_error (naming `api`) if `t` is not the owner.
  void release_by(const task_record& t, const char* api);
  /// Give the lock to the first waiter, or leave it unlocked.
  void hand_off();
  static void release_guarded(void* self, std::uintptr_t owner) noexcept;
};

/// A re-acquire that cannot be withdrawn: condition::wait uses it after a
/// cancellation, as trio re-acquires inside a shielded scope. Taking a free
/// lock here does not suspend at all.
struct lock_reacquire_op {
  lock_state& s;
  const char* api = "anyio::condition::wait()";
  park_node node{};
  static constexpr auto cannot_abort = []() noexcept { return abort_result::failed; };
  static constexpr fast_path order = fast_path::no_checkpoint;
  bool try_now(task_record& t) { return s.try_take(t); }
  void wait(task_record& t, std::coroutine_handle<> h) {
    node.task = &t;
    s.lot.push_back(node);
    park(t, h, cannot_abort, "anyio::condition::wait (re-acquiring the lock)", false);
  }
};
using lock_reacquire_awaiter = blocking_awaiter<lock_reacquire_op>;

struct semaphore_state {
  parking_lot_core lot;
  std::size_t value = 0;
  std::optional<std::size_t> max_value{};

  bool try_take(const task_record&) noexcept {
    if (value == 0) return false;
    ANYIO_ASSERT(lot.empty());
    --value;
    return true;
  }
  static const char* wait_what() noexcept { return "anyio::semaphore::acquire"; }
  void release();
  static void release_guarded(void* self, std::uintptr_t) noexcept;
};

struct limiter_node : park_node {
  const void* borrower = nullptr;
};

struct limiter_state {
  parking_lot_core lot;
  std::size_t total = 1;
  std::vector<const void*> borrowers{};  ///< in order of acquisition

  bool holds(const void* b) const noexcept;
  /// Take a token for `node.borrower` now if one is free and nobody is queued.
  bool try_take(const limiter_node& node);
  static const char* wait_what() noexcept { return "anyio::capacity_limiter::acquire"; }
  void release(const void* borrower, const char* api);
  /// Hand free tokens to waiters, in order (trio's _wake_waiters).
  void wake_waiters();
  static void release_guarded(void* self, std::uintptr_t borrower) noexcept;
};

/// capacity_limiter::acquire*(), as acquire_op, for a borrower.
template <bool Guard> struct limiter_acquire_op {
  limiter_state& s;
  const char* api;
  const void* borrower = nullptr;  ///< null: the acquiring task borrows as itself
  limiter_node node{};
  static constexpr fast_path order = fast_path::cancel_then_yield;
  bool try_now(task_record& t) {
    node.borrower = borrower != nullptr ? borrower : &t;
    return s.try_take(node);
  }
  void wait(task_record& t, std::coroutine_handle<> h) {
    park_in(s.lot, node, t, h, limiter_state::wait_what());
  }
  auto result(task_record&, bool) noexcept;  // below sync_guard
};
using limiter_acquire_awaiter = blocking_awaiter<limiter_acquire_op<false>>;
using limiter_guard_awaiter = blocking_awaiter<limiter_acquire_op<true>>;

}  // namespace detail

/// What guard() returns: holds a lock, a semaphore unit or a capacity_limiter
/// token and gives it back when destroyed (or at unlock()). It may be kept
/// across co_await; move-only. Use it in the task that acquired.
class [[nodiscard]] sync_guard {
 public:
  sync_guard() noexcept = default;
  sync_guard(sync_guard&& o) noexcept
      : release_(std::exchange(o.release_, nullptr)), object_(o.object_), token_(o.token_) {}
  sync_guard& operator=(sync_guard&& o) noexcept {
    if (this != &o) {
      unlock();
      release_ = std::exchange(o.release_, nullptr);
      object_ = o.object_;
      token_ = o.token_;
    }
    return *this;
  }
  sync_guard(const sync_guard&) = delete;
  sync_guard& operator=(const sync_guard&) = delete;
  ~sync_guard() { unlock(); }

  /// Give back what the guard holds now; does nothing the second time.
  void unlock() noexcept {
    if (auto fn = std::exchange(release_, nullptr)) fn(object_, token_);
  }
  /// True until unlock() (or a move away).
  bool owns() const noexcept { return release_ != nullptr; }
  explicit operator bool() const noexcept { return owns(); }

 private:
  friend sync_guard detail::make_guard(detail::release_fn, void*, std::uintptr_t) noexcept;
  detail::release_fn release_ = nullptr;
  void* object_ = nullptr;
  std::uintptr_t token_ = 0;
};

struct event_statistics {
  std::size_t tasks_waiting = 0;
  bool is_set = false;
};

/// A one-shot flag tasks can wait for (anyio.Event). There is no clear():
/// once set it stays set; create a new event for the next occurrence.
class event {
 public:
  event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Set the flag and wake every waiter (in the order they started waiting).
  /// Setting a set event does nothing. Not a checkpoint.
  void set();
  bool is_set() const noexcept { return s_.flag; }
  /// Wait until the flag is set.
  /// Checkpoint: yes (also when already set). Throws: cancelled.
  [[nodiscard]] detail::event_wait_awaiter wait() noexcept { return {s_}; }
  event_statistics statistics() const noexcept { return {s_.lot.size(), s_.flag}; }

 private:
  detail::event_state s_;
};

struct lock_statistics {
  bool locked = false;
  std::uint64_t owner = 0;  ///< the owner's current_task().id; 0 if unlocked
  std::size_t tasks_waiting = 0;
};

/// A non-reentrant mutual-exclusion lock owned by a task (anyio.Lock).
/// Strictly FIFO: a release hands the lock to the first waiter directly.
class lock {
 public:
  lock() noexcept = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  /// Acquire, waiting in line if held.
  /// Checkpoint: yes. Cancellation: leaves the queue without the lock.
  /// Throws: cancelled; usage_error if this task already holds the lock.
  [[nodiscard]] detail::acquire_awaiter<detail::lock_state> acquire() noexcept {
    return {s_, "anyio::lock::acquire()"};
  }
  /// Like acquire(), returning a sync_guard that releases at scope exit:
  /// `auto held = co_await mutex.guard();`
  [[nodiscard]] detail::guard_awaiter<detail::lock_state> guard() noexcept {
    return {s_, "anyio::lock::guard()"};
  }
  /// Acquire if free and nobody waits; never blocks, never a checkpoint.
  /// Throws: usage_error if this task already holds the lock.
  [[nodiscard]] bool try_acquire();
  /// Release, handing the lock to the first waiter.
  /// Throws: usage_error if the current task does not hold the lock.
  void release();
  bool locked() const noexcept { return s_.owner != 0; }
  lock_statistics statistics() const noexcept {
    return {s_.owner != 0, s_.owner, s_.lot.size()};
  }

 private:
  friend class condition;
  detail::lock_state s_;
};

struct semaphore_statistics {
  std::size_t value = 0;
  std::optional<std::size_t> max_value{};
  std::size_t tasks_waiting = 0;
};

/// A counter tasks decrement by acquire() and increment by release()
/// (anyio.Semaphore); acquire waits while it is zero. With a max_value,
/// releasing beyond it is an error. FIFO: a release with waiters hands the
/// unit straight to the first of them.
class semaphore {
 public:
  /// Throws: usage_error if max_value < initial_value.
  explicit semaphore(std::size_t initial_value,
                     std::optional<std::size_t> max_value = std::nullopt);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Decrement, waiting in line while the value is zero.
  /// Checkpoint: yes. Cancellation: leaves the queue, value untouched.
  /// Throws: cancelled.
  [[nodiscard]] detail::acquire_awaiter<detail::semaphore_state> acquire() noexcept {
    return {s_, "anyio::semaphore::acquire()"};
  }
  /// Like acquire(), returning a sync_guard that releases at scope exit.
  [[nodiscard]] detail::guard_awaiter<detail::semaphore_state> guard() noexcept {
    return {s_, "anyio::semaphore::guard()"};
  }
  /// Decrement if positive; never blocks, never a checkpoint.
  [[nodiscard]] bool try_acquire() noexcept;
  /// Increment, or wake the first waiter. Not a checkpoint.
  /// Throws: usage_error if the value would exceed max_value.
  void release() { s_.release(); }
  std::size_t value() const noexcept { return s_.value; }
  std::optional<std::size_t> max_value() const noexcept { return s_.max_value; }
  semaphore_statistics statistics() const noexcept {
    return {s_.value, s_.max_value, s_.lot.size()};
  }

 private:
  detail::semaphore_state s_;
};

struct condition_statistics {
  std::size_t tasks_waiting = 0;
  lock_statistics lock{};  ///< the underlying lock's statistics()
};

/// A condition variable (anyio.Condition) over a lock: wait() releases the
/// lock, sleeps until notified, and re-acquires it before returning. A
/// notified waiter moves to the lock's queue (trio's repark), so it gets the
/// lock in FIFO order and never misses its turn.
class condition {
 public:
  /// A condition with its own lock.
  condition() noexcept : lock_(&own_) {}
  /// A condition over an existing lock (which must outlive it).
  explicit condition(anyio::lock& l) noexcept : lock_(&l) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  /// The lock's acquire(). Checkpoint: yes. Throws: cancelled, usage_error.
  [[nodiscard]] detail::acquire_awaiter<detail::lock_state> acquire() noexcept {
    return lock_->acquire();
  }
  [[nodiscard]] detail::guard_awaiter<detail::lock_state> guard() noexcept {
    return lock_->guard();
  }
  [[nodiscard]] bool try_acquire() { return lock_->try_acquire(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }

  /// Release the lock, wait for notify(), re-acquire the lock, return.
  /// Checkpoint: yes. Cancellation: the lock is re-acquired (uncancellably)
  /// before `cancelled` propagates, so the caller always holds it after.
  /// Throws: cancelled; usage_error if the current task does not hold the lock.
  task<> wait();
  /// Wake up to `n` waiters (they then queue for the lock). Not a checkpoint.
  /// Throws: usage_error if the current task does not hold the lock.
  void notify(std::size_t n = 1);
  void notify_all();
  condition_statistics statistics() const noexcept {
    return {lot_.size(), lock_->statistics()};
  }

 private:
  void require_owner(const char* api) const;
  anyio::lock own_;
  anyio::lock* lock_;
  detail::parking_lot_core lot_;
};

struct capacity_limiter_statistics {
  std::size_t borrowed_tokens = 0;
  std::size_t total_tokens = 0;
  std::vector<const void*> borrowers{};  ///< who holds tokens, in order of acquisition
  std::size_t tasks_waiting = 0;
};

/// A sack of tokens limiting how many tasks do something at once
/// (anyio.CapacityLimiter). Each borrower — by default the acquiring task,
/// or any object's address with the *_on_behalf_of forms — holds at most one
/// token. total_tokens can change at run time; raising it wakes waiters,
/// lowering it lets current borrowers finish. Strictly FIFO.
class capacity_limiter {
 public:
  /// `total_tokens` >= 1, or anyio::unbounded. Throws: usage_error if 0.
  explicit capacity_limiter(std::size_t total_tokens);
  capacity_limiter(const capacity_limiter&) = delete;
  capacity_limiter& operator=(const capacity_limiter&) = delete;

  /// Borrow a token for the current task, waiting in line if none is free.
  /// Checkpoint: yes. Cancellation: leaves the queue without a token.
  /// Throws: cancelled; usage_error if the task already holds a token.
  [[nodiscard]] detail::limiter_acquire_awaiter acquire() noexcept {
    return {s_, "anyio::capacity_limiter::acquire()"};
  }
  /// acquire() for `borrower` (any address identifying who holds the token).
  [[nodiscard]] detail::limiter_acquire_awaiter acquire_on_behalf_of(
      const void* borrower) noexcept {
    return {s_, "anyio::capacity_limiter::acquire_on_behalf_of()", borrower};
  }
  /// Like acquire(), returning a sync_guard that gives the token back.
  [[nodiscard]] detail::limiter_guard_awaiter guard() noexcept {
    return {s_, "anyio::capacity_limiter::guard()"};
  }
  /// Borrow without waiting; never a checkpoint. Throws usage_error as acquire().
  [[nodiscard]] bool try_acquire();
  [[nodiscard]] bool try_acquire_on_behalf_of(const void* borrower);
  /// Give the current task's token back. Throws: usage_error if it holds none.
  void release();
  void release_on_behalf_of(const void* borrower);

  std::size_t total_tokens() const noexcept { return s_.total; }
  /// Change the number of tokens; waiters get the new ones at once.
  /// Throws: usage_error if `n` is 0.
  void set_total_tokens(std::size_t n);
  std::size_t borrowed_tokens() const noexcept { return s_.borrowers.size(); }
  /// total - borrowed, or 0 while more are borrowed than a lowered total.
  std::size_t available_tokens() const noexcept {
    return s_.total > s_.borrowers.size() ? s_.total - s_.borrowers.size() : 0;
  }
  capacity_limiter_statistics statistics() const {
    return {s_.borrowers.size(), s_.total, s_.borrowers, s_.lot.size()};
  }

 private:
  detail::limiter_state s_;
};

namespace lowlevel {

struct parking_lot_statistics {
  std::size_t tasks_waiting = 0;
};

/// A fair wait queue (trio.lowlevel.ParkingLot): the building block of the
/// primitives above, for writing new ones. park() waits until unpark();
/// repark() moves waiters to another lot without waking them.
class parking_lot {
 public:
  parking_lot() noexcept = default;
  parking_lot(const parking_lot&) = delete;
  parking_lot& operator=(const parking_lot&) = delete;

  /// Wait until unparked. Checkpoint: yes. Cancellation: leaves the queue.
  /// Throws: cancelled.
  [[nodiscard]] detail::lot_park_awaiter park() noexcept { return {lot_, "parking_lot.park"}; }
  /// Wake up to `count` tasks, first parked first; returns how many.
  std::size_t unpark(std::size_t count = 1) { return detail::unpark(lot_, count); }
  std::size_t unpark_all() { return detail::unpark(lot_, lot_.size()); }
  /// Move up to `count` waiters, in order, to the back of `to`.
  std::size_t repark(parking_lot& to, std::size_t count = 1);
  std::size_t repark_all(parking_lot& to) { return repark(to, lot_.size()); }
  std::size_t size() const noexcept { return lot_.size(); }
  bool empty() const noexcept { return lot_.empty(); }
  parking_lot_statistics statistics() const noexcept { return {lot_.size()}; }

 private:
  detail::parking_lot_core lot_;
};

}  // namespace lowlevel

namespace detail {
inline sync_guard make_guard(release_fn fn, void* object, std::uintptr_t token) noexcept {
  sync_guard g;
  g.release_ = fn;
  g.object_ = object;
  g.token_ = token;
  return g;
}
template <bool Guard> auto limiter_acquire_op<Guard>::result(task_record&, bool) noexcept {
  if constexpr (Guard)
    return make_guard(&limiter_state::release_guarded, &s,
                      reinterpret_cast<std::uintptr_t>(node.borrower));
}
}  // namespace detail

}  // namespace anyio
