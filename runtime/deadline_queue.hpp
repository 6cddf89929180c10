// SPDX-License-Identifier: MIT
// The kernel's deadline heap: cancel-scope deadlines and sleep timers in one
// binary min-heap ordered by (when, seq), so ties break by registration
// order and expiry is deterministic. Intrusive: each node stores its heap
// index, making removal (a scope exits, a sleep is cancelled) O(log n)
// without lazy tombstones that could outlive the frame holding the node.
#pragma once
#include <anyio/detail/assert.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <vector>

namespace anyio::detail {

class deadline_queue {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  timer_node* top() const noexcept { return heap_.front(); }

  void push(timer_node* n);
  void remove(timer_node* n) noexcept;
  timer_node* pop() noexcept;
  void clear() noexcept;

 private:
  static bool less(const timer_node* a, const timer_node* b) noexcept {
    return a->when != b->when ? a->when < b->when : a->seq < b->seq;
  }
  void place(std::size_t i, timer_node* n) noexcept {
    heap_[i] = n;
    n->heap_index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  std::vector<timer_node*> heap_;
};

}  // namespace anyio::detail
