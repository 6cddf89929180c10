// SPDX-License-Identifier: MIT
// The kernel side of the I/O seam (detail/io.hpp): operations in flight are
// counted and listed here, so the run loop can tell a deadlock from a wait
// for the outside world and a failed run can abandon them all before its
// frames go; completion wakes the parked task between steps; an error code
// becomes anyio's exception in one place.
#include "runtime/kernel.hpp"

#include <anyio/detail/network.hpp>
#include <anyio/errors.hpp>

#include <cerrno>

namespace anyio::detail {

void kernel::io_begin(io_operation& op) noexcept {
  ANYIO_ASSERT(!op.in_flight_);
  op.in_flight_ = true;
  op.prev_ = nullptr;
  op.next_ = io_head_;
  if (io_head_ != nullptr) io_head_->prev_ = &op;
  io_head_ = &op;
  ++io_count_;
  may_skip_ = false;            // an operation in flight: the loop must poll
  skip_schedule_point = false;  // from this point of the step on, too
}

void kernel::io_end(io_operation& op) noexcept {
  ANYIO_ASSERT(op.in_flight_);
  op.in_flight_ = false;
  (op.prev_ ? op.prev_->next_ : io_head_) = op.next_;
  if (op.next_ != nullptr) op.next_->prev_ = op.prev_;
  op.prev_ = op.next_ = nullptr;
  --io_count_;
  may_skip_ = cheap_yields_ && io_count_ == 0;
}

void kernel::drain_io() noexcept {
  // Ask each operation to withdraw; those that cannot complete later (with
  // operation_canceled), and the backend is run until they all have.
  for (io_operation* op = io_head_; op != nullptr;) {
    io_operation* next = op->next_;
    op->cancel_requested_ = true;
    if (op->cancel()) io_end(*op);
    op = next;
  }
  while (io_count_ != 0) {
    bool progressed = false;
    try {
      progressed = backend_.wait_for_events(never);
    } catch (...) {
    }
    // A backend that can no longer complete them would leave handlers
    // pointing into frames about to be destroyed: stop here, loudly.
    ANYIO_ASSERT(progressed && "backend cannot drain its I/O operations");
    if (!progressed) std::abort();
  }
}

void io_operation::complete(std::error_code error, std::size_t transferred) noexcept {
  kernel& k = *kernel::current();
  ANYIO_ASSERT(in_flight_ && "io_operation::complete() called twice or without run_io");
  error_ = error;
  transferred_ = transferred;
  k.io_end(*this);
  if (k.tearing_down_) return;  // draining: the task will be destroyed, not woken
  if (cancel_requested_ && error == std::errc::operation_canceled) {
    k.emit(event_kind::cancel_delivered, task_);
    reschedule(*task_, k.cancelled_);
  } else {
    reschedule(*task_);
  }
}

abort_result io_operation::operator()() noexcept {
  cancel_requested_ = true;
  if (!cancel()) return abort_result::failed;  // complete() will wake the task
  kernel::current()->io_end(*this);
  return abort_result::succeeded;
}

void io_park_op::wait(task_record& t, std::coroutine_handle<> h) {
  kernel& k = *kernel::current();
  op.task_ = &t;
  op.error_ = {};
  op.transferred_ = 0;
  op.cancel_requested_ = false;
  k.io_begin(op);
  try {
    start();
  } catch (...) {
    k.io_end(op);
    throw;
  }
  ANYIO_ASSERT(op.in_flight_ && "a backend completed an operation inside start()");
  park(t, h, op, what);
}

[[noreturn]] void throw_io_error(std::error_code error, const std::string& what) {
  if (error.category() == error_category()) {
    switch (static_cast<errc>(error.value())) {
      case errc::closed_resource: throw closed_resource_error(what);
      case errc::broken_resource: throw broken_resource_error(what);
      case errc::busy_resource: throw busy_resource_error(what);
      case errc::end_of_stream: throw end_of_stream(what);
      case errc::would_block: throw would_block(what);
      case errc::connection_failed: throw connection_failed(what);
      default: break;
    }
  } else if (error.category() == std::system_category() ||
             error.category() == std::generic_category()) {
    switch (error.value()) {
      case ECONNRESET:
      case EPIPE:
      case ECONNABORTED:
        throw broken_resource_error(what + ": " + error.message());
      default: break;
    }
  }
  throw std::system_error(error, what);
}

network& current_network(const char* api) {
  kernel& k = kernel::require(api);
  detail::network* n = k.backend_.network();
  if (n == nullptr)
    throw_usage_error(std::string(api) + ": the " + k.backend_.name() +
                      " backend has no network");
  return *n;
}

}  // namespace anyio::detail
