// SPDX-License-Identifier: MIT
// Signals (anyio.open_signal_receiver): receive the process's signals as a
// stream of signal numbers inside the run, instead of in a handler.
//
//   auto signals = anyio::open_signal_receiver({SIGTERM, SIGHUP});
//   while (auto s = co_await signals.next()) {
//     if (*s == SIGHUP) reload(); else break;
//   }
//
// While a receiver is open its signals no longer take their default action
// (SIGTERM does not end the process); closing it (close() or the destructor)
// puts back the handlers that were there before. On realio signals come from
// the OS (asio::signal_set); on sim they are sent by the test or the program
// with sim::send_signal and arrive at a scheduling point, so a run stays a
// function of its seed. As with POSIX, a signal that arrives again before it
// was received is received once.
#pragma once
#include <anyio/task.hpp>

#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

namespace anyio {

namespace detail {
class signal_watch;
}

/// The signals of one open_signal_receiver call. Move-only; use it inside
/// the run that opened it.
class signal_receiver {
 public:
  signal_receiver(signal_receiver&&) noexcept;
  signal_receiver& operator=(signal_receiver&&) noexcept;
  ~signal_receiver();

  /// The next signal's number, waiting for one to arrive.
  /// Checkpoint: yes. Cancellation: receives nothing.
  /// Throws: cancelled; closed_resource_error after close().
  task<int> receive();
  /// receive(), or nullopt once the receiver is closed:
  /// `while (auto s = co_await rx.next())`.
  task<std::optional<int>> next();
  /// Stop receiving and restore the previous handlers; idempotent.
  void close() noexcept;
  bool closed() const noexcept { return watch_ == nullptr; }
  /// The signals this receiver watches, in the order given.
  const std::vector<int>& signals() const noexcept { return numbers_; }

 private:
  friend signal_receiver open_signal_receiver(std::vector<int>);
  signal_receiver(std::unique_ptr<detail::signal_watch> watch, std::vector<int> numbers) noexcept;
  std::unique_ptr<detail::signal_watch> watch_;
  std::vector<int> numbers_;
};

/// Receive `signals` (e.g. {SIGTERM, SIGHUP}) until the receiver closes.
/// Throws: usage_error outside anyio::run(), for an empty list, or for a
/// signal that cannot be caught (SIGKILL, SIGSTOP) or does not exist.
signal_receiver open_signal_receiver(std::vector<int> signals);
inline signal_receiver open_signal_receiver(std::initializer_list<int> signals) {
  return open_signal_receiver(std::vector<int>(signals));
}

namespace sim {
/// On sim: send `signal` to the run, as if from outside the process. It is
/// delivered at the next scheduling point (a trace event) to every open
/// receiver that watches it; with none, it is dropped. Throws: usage_error on
/// another backend (send a real signal with raise() or kill() there) or
/// outside a run.
void send_signal(int signal);
/// True inside a run on the sim backend (for programs that send themselves
/// signals: sim::send_signal there, raise() on realio).
bool running() noexcept;
}  // namespace sim

}  // namespace anyio
