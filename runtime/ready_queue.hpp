// SPDX-License-Identifier: MIT
// The kernel's run queue: a growable ring of task pointers. FIFO on realio
// (push_back / take(0)); on sim the strategy picks any index and take(i)
// moves the front element into the hole, which is O(1) and, like everything
// here, a pure function of the previous operations — so the queue order, and
// with it every recorded decision, is reproducible. The queue also remembers
// the slot of the task that just yielded (push_yielded) until the next take:
// that is the scheduler's exact "previous task is still runnable", which
// decides what counts as a preemption. Each slot also keeps the address of
// the frame the task resumes in, so prefetch() can start loading both the
// record and that frame without first loading the record: on sim a random
// pick among 100,000 parked frames otherwise misses the cache on each.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/detail/assert.hpp>
#include <anyio/detail/kernel_types.hpp>

#include "runtime/task_record.hpp"

#include <cstddef>
#include <vector>

namespace anyio::detail {

class ready_queue final : public ready_view {
 public:
  ready_queue() : buf_(64) {}

  std::size_t size() const noexcept override { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint64_t task_id(std::size_t i) const noexcept override { return at(i)->id; }
  void prefetch(std::size_t i) const noexcept override {
    if (i >= size_) return;
    const slot& s = buf_[(head_ + i) & (buf_.size() - 1)];
    __builtin_prefetch(s.task);
    __builtin_prefetch(reinterpret_cast<const char*>(s.task) + 64);
    __builtin_prefetch(s.frame);
    __builtin_prefetch(static_cast<const char*>(s.frame) + 64);
  }
  std::string_view task_name(std::size_t i) const noexcept override { return given_name(*at(i)); }
  std::size_t copy_ids(std::uint64_t* out, std::size_t max) const noexcept override {
    const std::size_t n = size_ < max ? size_ : max;
    for (std::size_t i = 0; i < n; ++i) out[i] = at(i)->id;
    return n;
  }
  std::size_t previous_index() const noexcept override {
    return yielded_ == none ? size_ : (yielded_ - head_) & (buf_.size() - 1);
  }
  task_record* at(std::size_t i) const noexcept {
    return buf_[(head_ + i) & (buf_.size() - 1)].task;
  }

  void push_back(task_record* t) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = {t, t->resume.address()};
    ++size_;
  }

  /// push_back for the running task at a schedule point: it stays runnable.
  void push_yielded(task_record* t) {
    push_back(t);
    yielded_ = (head_ + size_ - 1) & (buf_.size() - 1);
  }

  /// Remove and return the i-th task; the front task fills its slot.
  task_record* take(std::size_t i) noexcept {
    ANYIO_ASSERT(i < size_);
    const std::size_t mask = buf_.size() - 1;
    task_record* t = buf_[(head_ + i) & mask].task;
    buf_[(head_ + i) & mask] = buf_[head_];
    head_ = (head_ + 1) & mask;
    --size_;
    yielded_ = none;  // the task taken runs next: it is the new previous task
    return t;
  }

  /// take(0) without the move into the hole (the FIFO pick: realio).
  task_record* take_front() noexcept {
    ANYIO_ASSERT(size_ != 0);
    task_record* t = buf_[head_].task;
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
    yielded_ = none;
    return t;
  }

  void clear() noexcept {
    head_ = size_ = 0;
    yielded_ = none;
  }

 private:
  void grow() {
    if (yielded_ != none) yielded_ = previous_index();
    std::vector<slot> next(buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) next[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_.swap(next);
    head_ = 0;
  }
  static constexpr std::size_t none = ~std::size_t{0};
  struct slot {
    task_record* task;
    void* frame;  // task->resume.address(), for prefetch()
  };
  std::vector<slot> buf_;  // size is a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t yielded_ = none;  // slot of the task that yielded since the last take
};

}  // namespace anyio::detail
