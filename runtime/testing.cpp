// SPDX-License-Identifier: MIT
// wait_all_tasks_blocked (trio.testing): the waiter parks in the kernel's
// idle queue; the run loop, finding no task ready, waits for events at most
// `cushion` and, if still nothing is ready, wakes the first idle waiter.
// Also sequencer (trio.testing.Sequencer): one event per position.
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/testing.hpp>

#include <string>

#include "runtime/kernel.hpp"

namespace anyio::detail {

abort_result idle_node::operator()() noexcept {
  if (queued) kernel::current()->remove_idle(*this);
  return abort_result::succeeded;
}

void kernel::add_idle(idle_node& n) {
  auto pos = std::upper_bound(idle_.begin(), idle_.end(), &n, [](idle_node* a, idle_node* b) {
    return a->cushion != b->cushion ? a->cushion < b->cushion : a->seq < b->seq;
  });
  idle_.insert(pos, &n);
  n.queued = true;
}

void kernel::remove_idle(idle_node& n) noexcept {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (*it == &n) {
      idle_.erase(it);
      break;
    }
  }
  n.queued = false;
}

void kernel::wake_first_idle() {
  ANYIO_ASSERT(!idle_.empty());
  idle_node* n = idle_.front();
  idle_.erase(idle_.begin());
  n->queued = false;
  reschedule(*n->task);
}

}  // namespace anyio::detail

namespace anyio::testing {

namespace {
struct idle_awaiter {
  std::int64_t cushion;
  detail::idle_node node{};
  bool await_ready() {
    node.task = &detail::current_task_record("anyio::testing::wait_all_tasks_blocked()");
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) {
    auto& k = *detail::kernel::current();
    node.cushion = cushion;
    node.seq = k.next_timer_seq_++;
    k.add_idle(node);
    detail::park(*node.task, h, node, "wait_all_tasks_blocked");
  }
  void await_resume() { detail::rethrow_wake_error(*node.task); }
};
}  // namespace

task<> wait_all_tasks_blocked(clock::duration cushion) {
  co_await idle_awaiter{cushion.count() < 0 ? 0 : cushion.count()};
}

}  // namespace anyio::testing

namespace anyio::testing {

anyio::event& sequencer::point(std::size_t position) { return points_[position]; }

void sequencer::turn::end() noexcept {
  if (sequencer* s = std::exchange(seq_, nullptr)) s->point(position_ + 1).set();
}

task<sequencer::turn> sequencer::operator()(std::size_t position) {
  if (claimed_.count(position) != 0)
    detail::throw_usage_error("anyio::testing::sequencer: position " + std::to_string(position) +
                              " was already used; each position can be waited for once");
  if (broken_)
    detail::throw_usage_error(
        "anyio::testing::sequencer: the sequence is broken (a task was cancelled while "
        "waiting for its turn)");
  claimed_.insert(position);
  if (position == 0) {
    co_await anyio::checkpoint();
    co_return turn(this, position);
  }
  std::exception_ptr error;
  try {
    co_await point(position).wait();
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    // trio: a cancelled waiter breaks the sequence and releases everyone.
    broken_ = true;
    for (auto& entry : points_) entry.second.set();
    std::rethrow_exception(error);
  }
  if (broken_)
    detail::throw_usage_error(
        "anyio::testing::sequencer: the sequence is broken (a task was cancelled while "
        "waiting for its turn)");
  co_return turn(this, position);
}

}  // namespace anyio::testing
