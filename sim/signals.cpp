// SPDX-License-Identifier: MIT
// sim's signals (mirrors realio/signals.cpp). No OS handler is touched: a
// signal exists only when sim::send_signal (or, later, the fault plan) sends
// one. It arrives at the current virtual time as a scheduled event, after
// the sending task's step, and goes to every open receiver watching it, in
// the order they were opened; a signal already pending at a receiver is not
// queued twice (POSIX coalesces them too).
#include "signals.hpp"

#include <anyio/errors.hpp>

#include <algorithm>
#include <deque>

namespace anyio::sim::detail {

class sim_watch final : public anyio::detail::signal_watch {
 public:
  sim_watch(sim_signals& owner, std::vector<int> numbers)
      : owner_(owner), numbers_(std::move(numbers)) {
    owner_.order_.push_back(this);
  }
  ~sim_watch() override {
    auto& order = owner_.order_;
    order.erase(std::find(order.begin(), order.end(), this));
    if (waiter_ != nullptr) {
      // A task is still receiving: its receive ends as closed, at a
      // scheduling point (never inside the closing task's step).
      anyio::detail::signal_op* op = waiter_;
      owner_.events_.schedule_event(owner_.events_.event_now(), [op] {
        op->complete(make_error_code(errc::closed_resource));
      });
    }
  }

  bool watches(int n) const { return std::find(numbers_.begin(), numbers_.end(), n) != numbers_.end(); }

  void deliver(int n) {
    if (waiter_ != nullptr) {
      anyio::detail::signal_op* op = std::exchange(waiter_, nullptr);
      op->signal = n;
      op->complete();
    } else if (std::find(pending_.begin(), pending_.end(), n) == pending_.end()) {
      pending_.push_back(n);
    }
  }

  std::optional<int> try_receive() override {
    if (pending_.empty()) return std::nullopt;
    const int n = pending_.front();
    pending_.pop_front();
    return n;
  }
  void start_receive(anyio::detail::signal_op& op) override { waiter_ = &op; }
  bool cancel_receive(anyio::detail::signal_op&) noexcept override {
    waiter_ = nullptr;
    return true;
  }

 private:
  sim_signals& owner_;
  std::vector<int> numbers_;
  std::deque<int> pending_;
  anyio::detail::signal_op* waiter_ = nullptr;
};

std::unique_ptr<anyio::detail::signal_watch> sim_signals::watch(const std::vector<int>& numbers) {
  return std::make_unique<sim_watch>(*this, numbers);
}

bool sim_signals::send(int number) {
  events_.schedule_event(events_.event_now(), [this, number] {
    events_.trace_event("signal", number);
    // A receiver may close while another one receives: deliver to a copy.
    const std::vector<sim_watch*> now = order_;
    for (sim_watch* w : now)
      if (std::find(order_.begin(), order_.end(), w) != order_.end() && w->watches(number))
        w->deliver(number);
  });
  return true;
}

}  // namespace anyio::sim::detail
