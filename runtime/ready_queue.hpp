// SPDX-License-Identifier: MIT
// The kernel's run queue: a growable ring of task pointers. FIFO on realio
// (push_back / take(0)); on sim the strategy picks any index and take(i)
// moves the front element into the hole, which is O(1) and, like everything
// here, a pure function of the previous operations — so the queue order, and
// with it every recorded decision, is reproducible.
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
  std::string_view task_name(std::size_t i) const noexcept override { return at(i)->name; }
  std::size_t copy_ids(std::uint64_t* out, std::size_t max) const noexcept override {
    const std::size_t n = size_ < max ? size_ : max;
    for (std::size_t i = 0; i < n; ++i) out[i] = at(i)->id;
    return n;
  }
  task_record* at(std::size_t i) const noexcept { return buf_[(head_ + i) & (buf_.size() - 1)]; }

  void push_back(task_record* t) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = t;
    ++size_;
  }

  /// Remove and return the i-th task; the front task fills its slot.
  task_record* take(std::size_t i) noexcept {
    ANYIO_ASSERT(i < size_);
    const std::size_t mask = buf_.size() - 1;
    task_record* t = buf_[(head_ + i) & mask];
    buf_[(head_ + i) & mask] = buf_[head_];
    head_ = (head_ + 1) & mask;
    --size_;
    return t;
  }

  void clear() noexcept { head_ = size_ = 0; }

 private:
  void grow() {
    std::vector<task_record*> next(buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) next[i] = at(i);
    buf_.swap(next);
    head_ = 0;
  }
  std::vector<task_record*> buf_;  // size is a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace anyio::detail
