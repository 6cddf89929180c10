// SPDX-License-Identifier: MIT
// realio's signals (mirrors sim/signals.cpp): one asio::signal_set per open
// receiver. Asio resets a signal to SIG_DFL when its last set lets go of it;
// anyio promises the previous handler back, so the first watch of a signal
// saves the process's action and the last one restores it (counted
// process-wide: Asio's own registrations are process-wide too).
#include "signals.hpp"

#include <anyio/errors.hpp>

#include <asio/signal_set.hpp>

#include <csignal>
#include <map>
#include <mutex>

namespace anyio::realio {

namespace {

struct saved_action {
  int watchers = 0;
  struct sigaction action {};
};

std::mutex saved_mutex;
std::map<int, saved_action> saved;

class realio_watch final : public detail::signal_watch {
 public:
  realio_watch(asio::io_context& ctx, const std::vector<int>& numbers)
      : set_(ctx), numbers_(numbers) {
    std::lock_guard<std::mutex> hold(saved_mutex);
    for (int n : numbers_) {
      saved_action& s = saved[n];
      if (s.watchers++ == 0) ::sigaction(n, nullptr, &s.action);
      std::error_code ec;
      set_.add(n, ec);
      if (ec) {
        release(n);
        throw std::system_error(os_error(ec), "anyio::open_signal_receiver(): watch signal " +
                                                  std::to_string(n));
      }
      added_.push_back(n);
    }
  }

  ~realio_watch() override {
    std::error_code ec;
    set_.clear(ec);  // Asio puts SIG_DFL back; then the saved action
    std::lock_guard<std::mutex> hold(saved_mutex);
    for (int n : added_) release(n);
    if (pending_ != nullptr) pending_->closed = true;
  }

  std::optional<int> try_receive() override { return std::nullopt; }

  void start_receive(detail::signal_op& op) override {
    auto state = std::make_shared<receive_state>();
    state->op = &op;
    pending_ = state.get();
    set_.async_wait([this, state](const std::error_code& ec, int number) {
      if (state->closed) {  // the watch is gone: its receive ends as closed
        state->op->complete(make_error_code(errc::closed_resource));
        return;
      }
      pending_ = nullptr;
      state->op->signal = number;
      state->op->complete(os_error(ec));
    });
  }

  bool cancel_receive(detail::signal_op&) noexcept override {
    std::error_code ec;
    set_.cancel(ec);  // the handler then runs with operation_aborted
    return false;
  }

 private:
  struct receive_state {
    detail::signal_op* op = nullptr;
    bool closed = false;
  };
  static void release(int n) {
    saved_action& s = saved[n];
    if (--s.watchers == 0) {
      ::sigaction(n, &s.action, nullptr);
      saved.erase(n);
    }
  }

  asio::signal_set set_;
  std::vector<int> numbers_;
  std::vector<int> added_;
  receive_state* pending_ = nullptr;
};

}  // namespace

std::unique_ptr<detail::signal_watch> realio_signals::watch(const std::vector<int>& numbers) {
  return std::make_unique<realio_watch>(ctx_, numbers);
}

}  // namespace anyio::realio
