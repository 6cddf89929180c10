// SPDX-License-Identifier: MIT
// The production backend: a single-threaded asio::io_context (concurrency
// hint 1) and the steady clock. The kernel asks it to wait only when no task
// is ready; one steady_timer is armed for the nearest deadline and re-armed
// only when that deadline changes. Asio handlers never run user code: they
// complete operations, and the kernel decides what runs next. Asio stays in
// this directory; no public header includes it.
#include "files.hpp"
#include "net_support.hpp"
#include "signals.hpp"
#include "threads.hpp"
#include "process_support.hpp"

#include <anyio/backend.hpp>
#include <anyio/run.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <random>

namespace anyio::realio {

namespace {

class realio_backend final : public backend {
 public:
  // One thread runs the reactor, so its per-descriptor locks are dropped
  // (about 5% of the instructions of a TCP echo round trip); the scheduler
  // keeps its lock, as the resolver's thread posts completions to it.
  realio_backend()
      : ctx_(ASIO_CONCURRENCY_HINT_UNSAFE_IO),
        timer_(ctx_),
        guard_(asio::make_work_guard(ctx_)),
        network_(ctx_),
        threads_(ctx_),
        signals_(ctx_),
        processes_(make_process_service(ctx_)) {}

  std::int64_t now() noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::int64_t wall_clock_ns() noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  bool wait_for_events(std::int64_t deadline) override {
    // The kernel calls with `never` only while an operation is in flight
    // (nothing in flight and no deadline is a deadlock it reports itself).
    if (deadline != never) {
      if (deadline <= now()) {
        ctx_.poll();
        return true;
      }
      arm(deadline);
    }
    // One handler per wait: a poll() after it would cost an extra
    // epoll_wait(0) per wake-up (the reactor runs again when the queue
    // reaches its marker). Handlers already queued run at the next wait
    // without blocking, and poll_events() drains them while tasks are busy.
    ctx_.run_one();
    return true;
  }

  void poll_events() override { ctx_.poll(); }
  std::uint64_t random_below(std::uint64_t bound, std::string_view) override {
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(entropy_);
  }
  std::size_t pick_next(const ready_view&) override { return 0; }
  std::uint32_t poll_interval() const noexcept override { return 64; }
  bool fifo() const noexcept override { return true; }
  std::string name() const override { return "realio"; }
  detail::network* network() noexcept override { return &network_; }
  detail::filesystem* filesystem() noexcept override { return files_.get(); }
  detail::threads* threads() noexcept override { return &threads_; }
  detail::signals* signals() noexcept override { return &signals_; }
  detail::process_service* processes() noexcept override { return processes_.get(); }

 private:
  void arm(std::int64_t deadline) {
    if (deadline == armed_) return;
    armed_ = deadline;
    timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
    timer_.async_wait([this, deadline](const std::error_code& ec) {
      if (!ec && armed_ == deadline) armed_ = never;
    });
  }

  asio::io_context ctx_;
  asio::steady_timer timer_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::int64_t armed_ = never;
  std::mt19937_64 entropy_{std::random_device{}()};
  realio_network network_;
  std::unique_ptr<detail::filesystem> files_ = make_filesystem();
  realio_threads threads_;  // after ctx_: joined before the io_context goes
  realio_signals signals_;
  std::unique_ptr<detail::process_service> processes_;
};

}  // namespace

}  // namespace anyio::realio

namespace anyio::detail {
std::unique_ptr<backend> make_realio_backend() {
  return std::make_unique<anyio::realio::realio_backend>();
}
}  // namespace anyio::detail
