// SPDX-License-Identifier: MIT
// open_signal_receiver over the backend's signals (detail/signals.hpp),
// once for both backends: argument checks, the receive as an I/O operation
// (a run waiting only for a signal is not a deadlock on realio; on sim it is
// one, unless a send is scheduled), and sim::send_signal's entry point.
#include "runtime/kernel.hpp"

#include <anyio/detail/signals.hpp>
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/signals.hpp>

#include <csignal>
#include <cstring>
#include <string>

namespace anyio::detail {

signals& current_signals(const char* api) {
  kernel& k = kernel::require(api);
  signals* s = k.backend_.signals();
  if (s == nullptr)
    throw_usage_error(std::string(api) + ": the " + k.backend_.name() +
                      " backend has no signals");
  return *s;
}

}  // namespace anyio::detail

namespace anyio {

namespace {
void check_signal(int number, const char* api) {
  if (number <= 0 || number >= NSIG)
    detail::throw_usage_error(std::string(api) + ": " + std::to_string(number) +
                              " is not a signal number");
  if (number == SIGKILL || number == SIGSTOP)
    detail::throw_usage_error(std::string(api) + ": signal " + std::to_string(number) + " (" +
                              ::strsignal(number) + ") cannot be caught");
}
}  // namespace

signal_receiver::signal_receiver(std::unique_ptr<detail::signal_watch> watch,
                                 std::vector<int> numbers) noexcept
    : watch_(std::move(watch)), numbers_(std::move(numbers)) {}
signal_receiver::signal_receiver(signal_receiver&&) noexcept = default;
signal_receiver& signal_receiver::operator=(signal_receiver&& o) noexcept {
  if (this != &o) {
    close();
    watch_ = std::move(o.watch_);
    numbers_ = std::move(o.numbers_);
  }
  return *this;
}
signal_receiver::~signal_receiver() { close(); }

void signal_receiver::close() noexcept { watch_.reset(); }

task<int> signal_receiver::receive() {
  static constexpr const char* api = "anyio::signal_receiver::receive()";
  co_await checkpoint_if_cancelled();
  if (watch_ == nullptr) throw closed_resource_error(std::string(api) + ": the receiver is closed");
  if (std::optional<int> ready = watch_->try_receive()) {
    co_await cancel_shielded_checkpoint();
    co_return *ready;
  }
  detail::signal_op op(*watch_);
  auto start = [&] { op.watch.start_receive(op); };
  const std::error_code ec = co_await detail::run_io(op, start, "anyio::signal_receiver::receive");
  if (ec) detail::throw_io_error(ec, api);
  co_return op.signal;
}

task<std::optional<int>> signal_receiver::next() {
  if (watch_ == nullptr) {
    co_await checkpoint();
    co_return std::nullopt;
  }
  co_return co_await receive();
}

signal_receiver open_signal_receiver(std::vector<int> numbers) {
  static constexpr const char* api = "anyio::open_signal_receiver()";
  if (numbers.empty()) detail::throw_usage_error(std::string(api) + ": no signals given");
  for (int n : numbers) check_signal(n, api);
  auto watch = detail::current_signals(api).watch(numbers);
  return signal_receiver(std::move(watch), std::move(numbers));
}

namespace sim {

void send_signal(int number) {
  static constexpr const char* api = "anyio::sim::send_signal()";
  check_signal(number, api);
  if (!detail::current_signals(api).send(number))
    detail::throw_usage_error(std::string(api) + ": only on the sim backend; on " +
                              detail::kernel::require(api).backend_.name() +
                              " send a real signal with raise() or kill()");
}

bool running() noexcept {
  const detail::kernel* k = detail::kernel::current();
  if (k == nullptr) return false;
  try {
    return k->backend_.name().rfind("sim", 0) == 0;
  } catch (...) {
    return false;
  }
}

}  // namespace sim

}  // namespace anyio
