// SPDX-License-Identifier: MIT
// The I/O half of the backend seam. A backend carries an operation out
// (realio: an Asio async call; sim: an event in the simulated network) and
// completes it; everything around that is written once, here and in
// runtime/io.cpp: check cancellation, count the operation as in flight in
// the kernel, start it, park with the operation's cancel as the abort
// function, and on wake-up deliver `cancelled` or map the error. So a
// cancelled operation behaves the same on both backends, a deadlock has one
// definition (nothing ready, no deadline, nothing in flight), and a failed
// run's teardown can abandon every operation before it destroys the frames
// that the operations' buffers live in.
//
// Only backends (realio/, sim/) and runtime/ include this header; it has no
// Asio or OS types.
#pragma once
#include <anyio/detail/awaiter.hpp>
#include <anyio/detail/kernel_api.hpp>

#include <cstddef>
#include <string>
#include <string>
#include <string_view>
#include <system_error>

namespace anyio::detail {

/// One operation a backend carries out for a parked task. Derive from it
/// (it usually lives in the awaiting coroutine's frame), implement cancel(),
/// start the operation in run_io's `start`, and call complete() exactly once
/// from wait_for_events/poll_events (never from inside `start`).
class io_operation {
 public:
  io_operation() noexcept = default;
  io_operation(const io_operation&) = delete;
  io_operation& operator=(const io_operation&) = delete;

  /// The backend finished the operation: wakes the parked task. With
  /// std::errc::operation_canceled (or asio's operation_aborted, the same
  /// value) after a cancel request, the task gets `cancelled`. Callable
  /// between task steps (the kernel runs it from wait_for_events).
  void complete(std::error_code error = {}, std::size_t transferred = 0) noexcept;

  std::error_code error() const noexcept { return error_; }
  std::size_t transferred() const noexcept { return transferred_; }
  /// True once the kernel asked to cancel (cancellation or teardown).
  bool cancel_requested() const noexcept { return cancel_requested_; }

  /// The kernel's abort function for the parked task (do not call).
  abort_result operator()() noexcept;

 protected:
  ~io_operation() = default;
  /// Withdraw the operation. Return true if it is withdrawn now and will
  /// never complete (complete() must not be called); false if its completion
  /// will still come — with operation_canceled, or with its result if it had
  /// already finished (then the task gets the result, and the cancellation
  /// at its next checkpoint: nothing is lost).
  virtual bool cancel() noexcept = 0;

 private:
  friend class kernel;
  friend struct io_park_op;
  task_record* task_ = nullptr;
  io_operation* prev_ = nullptr;  // the kernel's list of operations in flight
  io_operation* next_ = nullptr;
  std::error_code error_{};
  std::size_t transferred_ = 0;
  bool in_flight_ = false;
  bool cancel_requested_ = false;
};

/// Start `op` through `start` and park until it completes.
struct io_park_op {
  io_operation& op;
  function_ref<void()> start;
  const char* what;
  const char* api = "anyio I/O operation";
  static constexpr fast_path order = fast_path::cancel_then_yield;
  static bool try_now(task_record&) noexcept { return false; }
  void wait(task_record& t, std::coroutine_handle<> h);
  /// The operation's error code; cancellation was already thrown.
  std::error_code result(task_record&, bool) const noexcept { return op.error(); }
};

/// co_await run_io(op, start, what): checks cancellation, starts the
/// operation, parks until it completes, throws `cancelled` if it was
/// cancelled, and returns its error code (see throw_io_error). `what`
/// names the wait in deadlock reports and must outlive the wait
/// ("receive on tcp 127.0.0.1:5000").
inline blocking_awaiter<io_park_op> run_io(io_operation& op, function_ref<void()> start,
                                           const char* what) {
  return {op, start, what};
}

/// Throw what an I/O error means in anyio's terms: anyio::errc codes as
/// their classes (closed_resource -> closed_resource_error, ...), a reset or
/// broken pipe as broken_resource_error, anything else as std::system_error.
/// `what` names the operation and the address ("connect to 127.0.0.1:80").
[[noreturn]] void throw_io_error(std::error_code error, const std::string& what);

}  // namespace anyio::detail
