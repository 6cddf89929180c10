// SPDX-License-Identifier: MIT
// The signal half of the backend seam (open_signal_receiver). A backend
// watches a set of signals for one receiver (realio: asio::signal_set, the
// previous handlers put back when the watch ends; sim: signals sent by
// sim::send_signal, delivered at a scheduling point) and completes a
// receive with the next signal's number. runtime/signals.cpp builds the
// public receiver on it. Only backends and runtime/ include this header.
#pragma once
#include <anyio/detail/io.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace anyio::detail {

class signal_watch;

/// A receive a task is parked on; completes with the signal in `signal`.
class signal_op final : public io_operation {
 public:
  explicit signal_op(signal_watch& w) noexcept : watch(w) {}
  signal_watch& watch;
  int signal = 0;

 private:
  bool cancel() noexcept override;
};

/// One open receiver's watch. Destroying it stops watching (and on realio
/// restores the handlers that were there before).
class signal_watch {
 public:
  virtual ~signal_watch() = default;
  /// A signal that already arrived, if any (never blocks).
  virtual std::optional<int> try_receive() = 0;
  /// Complete `op` with the next signal to arrive (never inside this call).
  virtual void start_receive(signal_op& op) = 0;
  /// As io_operation::cancel.
  virtual bool cancel_receive(signal_op& op) noexcept = 0;
};

inline bool signal_op::cancel() noexcept { return watch.cancel_receive(*this); }

class signals {
 public:
  virtual ~signals() = default;
  /// Watch `numbers` (valid, catchable signals; checked by the caller).
  virtual std::unique_ptr<signal_watch> watch(const std::vector<int>& numbers) = 0;
  /// sim::send_signal: deliver `number` to the run at a scheduling point.
  /// Returns false if the backend cannot (realio: send it with kill()).
  virtual bool send(int number) = 0;
};

/// The running backend's signals. Throws usage_error outside anyio::run().
signals& current_signals(const char* api);

}  // namespace anyio::detail
