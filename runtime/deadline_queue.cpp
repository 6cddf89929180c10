// SPDX-License-Identifier: MIT
// Binary heap operations for deadline_queue; see deadline_queue.hpp.
#include "runtime/deadline_queue.hpp"

namespace anyio::detail {

void deadline_queue::push(timer_node* n) {
  ANYIO_ASSERT(n->heap_index == not_in_heap);
  heap_.push_back(n);
  place(heap_.size() - 1, n);
  sift_up(heap_.size() - 1);
}

void deadline_queue::remove(timer_node* n) noexcept {
  ANYIO_ASSERT(n->heap_index < heap_.size());
  ANYIO_ASSERT(heap_[n->heap_index] == n);
  std::size_t i = n->heap_index;
  timer_node* last = heap_.back();
  heap_.pop_back();
  n->heap_index = not_in_heap;
  if (last == n) return;
  place(i, last);
  sift_up(i);
  sift_down(last->heap_index);
}

timer_node* deadline_queue::pop() noexcept {
  timer_node* n = heap_.front();
  remove(n);
  return n;
}

void deadline_queue::clear() noexcept {
  for (timer_node* n : heap_) n->heap_index = not_in_heap;
  heap_.clear();
}

void deadline_queue::sift_up(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!less(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void deadline_queue::sift_down(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && less(heap_[child + 1], heap_[child])) ++child;
    if (!less(heap_[child], n)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

}  // namespace anyio::detail
