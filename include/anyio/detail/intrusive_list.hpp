// SPDX-License-Identifier: MIT
// The one intrusive doubly linked list: the links are two pointer members of
// the element itself (named by the template arguments), so linking and
// unlinking never allocate and an element can unlink itself in O(1) from the
// list it is on. The list keeps a head, a tail and a size (push_back,
// pop_front and remove all O(1)): parking lots and channel waiter queues.
// The kernel's own lists (a scope's tasks, a group's children, a scope's
// child scopes) are not on it: their heads sit in cancel_node and
// task_group_state (runtime/kernel_structs.hpp), whose room in every
// cancel_scope and task_group is reserved in detail/kernel_types.hpp, and a
// 24-byte list would grow every scope and group; a head-only variant of the
// same link code, tried there, cost 3 instructions more per spawn+join on
// realio and 7 on sim (callgrind, w1), so they stay hand-linked
// (runtime/cancel_scope.cpp, runtime/task_group.cpp).
#pragma once
#include <anyio/detail/assert.hpp>

#include <cstddef>

namespace anyio::detail {

template <class T, T* T::*Prev, T* T::*Next> class intrusive_list {
 public:
  intrusive_list() noexcept = default;
  intrusive_list(const intrusive_list&) = delete;
  intrusive_list& operator=(const intrusive_list&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  T* front() const noexcept { return head_; }
  T* back() const noexcept { return tail_; }
  /// The element after `n` on its list, or nullptr (for iterating while
  /// unlinking: read it before removing `n`).
  static T* next(const T& n) noexcept { return n.*Next; }

  ANYIO_HOT void push_back(T& n) noexcept {
    n.*Prev = tail_;
    n.*Next = nullptr;
    (tail_ != nullptr ? tail_->*Next : head_) = &n;
    tail_ = &n;
    ++size_;
  }

  void push_front(T& n) noexcept {
    n.*Prev = nullptr;
    n.*Next = head_;
    (head_ != nullptr ? head_->*Prev : tail_) = &n;
    head_ = &n;
    ++size_;
  }

  /// Unlink `n`, which must be on this list; its links are cleared.
  ANYIO_HOT void remove(T& n) noexcept {
    ANYIO_ASSERT(size_ > 0);
    ANYIO_ASSERT(n.*Prev != nullptr ? n.*Prev->*Next == &n : head_ == &n);
    (n.*Prev != nullptr ? n.*Prev->*Next : head_) = n.*Next;
    (n.*Next != nullptr ? n.*Next->*Prev : tail_) = n.*Prev;
    n.*Prev = n.*Next = nullptr;
    --size_;
  }

  /// Unlink and return the first element, or nullptr if the list is empty.
  T* pop_front() noexcept {
    T* n = head_;
    if (n != nullptr) remove(*n);
    return n;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace anyio::detail
