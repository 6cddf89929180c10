// SPDX-License-Identifier: MIT
// The one shape of every blocking call (trio's "checkpoint_if_cancelled; try
// the operation; cancel_shielded_checkpoint or wait_task_rescheduled"):
// check cancellation, try the operation at once (the fast path, followed by
// a schedule point), otherwise park with an abort function, and on wake-up
// rethrow the wake error or return the operation's result. Event waits,
// lock/semaphore/limiter acquires, the condition's re-acquire, parking lots,
// memory stream send/receive, sleep, sleep_forever and
// lowlevel::wait_task_rescheduled are each one `Op`
// plugged into blocking_awaiter; I/O operations are meant to be the next.
// Only the Op's own steps differ, so the order of kernel calls — which on
// sim fixes the schedule — is written once, here.
#pragma once
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>
#include <anyio/detail/parking_lot.hpp>

#include <coroutine>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace anyio::detail {

/// Where the fast path puts its checkpoint.
enum class fast_path : std::uint8_t {
  cancel_then_yield,  ///< cancel point, operation, schedule point (acquire, send, receive)
  yield_then_cancel,  ///< operation, schedule point, cancel point (event wait, sleep(0))
  no_checkpoint,      ///< operation only, no suspension (an uncancellable re-acquire)
};

/// An awaiter made of an Op, an aggregate that supplies:
///   static constexpr fast_path order;
///   const char* api;  (names the public call in misuse errors; a member)
///   bool try_now(task_record&);                     the fast path; false = wait
///   void wait(task_record&, std::coroutine_handle<>); enqueue, then park()
/// and optionally
///   void withdraw() noexcept;                       after a wait, before the wake error
///   R result(task_record&, bool waited);            what co_await returns (else void)
/// Create it as `blocking_awaiter<Op>{op members...}`.
template <class Op> struct blocking_awaiter : Op {
  task_record* t = nullptr;
  bool fast = false;

  // A constructor rather than aggregate initialization: g++ 12 builds an
  // aggregate that holds a member with a non-trivial constructor and
  // destructor (a park_node) by first zero-filling the whole object, and for
  // an awaiter this size the fill is a `rep stosq`, with a start-up cost of
  // tens of cycles per co_await that callgrind counts as a few instructions.
  // It was most of w2's wall-time gap to its floor (bench/README.md).
  // Initializing the Op in a mem-initializer avoids it; the channel ops have
  // constructors of their own; tests/codegen/ checks the machine code.
  template <class... A>
    requires(!std::is_same_v<std::remove_cvref_t<A>, blocking_awaiter> && ...)
  blocking_awaiter(A&&... a) noexcept(noexcept(Op{std::forward<A>(a)...}))
      : Op{std::forward<A>(a)...} {}

  ANYIO_HOT bool await_ready() {
    t = &current_task_record(this->api);
    if constexpr (Op::order == fast_path::cancel_then_yield) raise_if_cancelled(*t);
    fast = Op::try_now(*t);
    if constexpr (Op::order == fast_path::no_checkpoint)
      return fast;
    else
      return false;
  }
  ANYIO_HOT bool await_suspend(std::coroutine_handle<> h) {
    if (fast) {
      if constexpr (Op::order == fast_path::cancel_then_yield)
        return schedule_point_after_op(*t, h);  // after the op: may be skipped on realio
      yield_now(*t, h);
      return true;
    }
    Op::wait(*t, h);
    return true;
  }
  ANYIO_HOT decltype(auto) await_resume() {
    if (fast) {
      if constexpr (Op::order == fast_path::yield_then_cancel) raise_if_cancelled(*t);
    } else {
      if constexpr (requires(Op& op) { op.withdraw(); }) Op::withdraw();
      rethrow_wake_error(*t);  // task_record is opaque here: the kernel looks
    }
    if constexpr (requires(Op& op, task_record& r) { op.result(r, true); })
      return Op::result(*t, !fast);
  }
};

/// The common wait(): queue `n` at the back of `lot` and park with `n` as the
/// abort function (leaving the queue undoes the wait).
inline void park_in(parking_lot_core& lot, park_node& n, task_record& t, std::coroutine_handle<> h,
                    const char* what) {
  n.task = &t;
  lot.push_back(n);
  park(t, h, n, what);
}

/// Park in a lot until unparked (lowlevel::parking_lot::park, condition::wait).
struct lot_park_op {
  parking_lot_core& lot;
  const char* what;
  const char* api = "anyio::lowlevel::parking_lot::park()";
  park_node node{};
  static constexpr fast_path order = fast_path::yield_then_cancel;  // never fast
  static bool try_now(task_record&) noexcept { return false; }
  void wait(task_record& t, std::coroutine_handle<> h) { park_in(lot, node, t, h, what); }
};
using lot_park_awaiter = blocking_awaiter<lot_park_op>;

/// Park with the caller's abort function (lowlevel::wait_task_rescheduled):
/// no fast path; park() itself delivers a pending cancellation.
struct user_park_op {
  function_ref<abort_result()> abort;
  const char* what;
  const char* api = "anyio::lowlevel::wait_task_rescheduled()";
  static constexpr fast_path order = fast_path::yield_then_cancel;  // never fast
  static bool try_now(task_record&) noexcept { return false; }
  void wait(task_record& t, std::coroutine_handle<> h) { park(t, h, abort, what); }
};
using user_park_awaiter = blocking_awaiter<user_park_op>;

}  // namespace anyio::detail
