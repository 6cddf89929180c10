// SPDX-License-Identifier: MIT
// The FIFO wait queue that every primitive and memory stream is built on
// (trio's ParkingLot), laid out here because the public primitives embed it.
// A park_node lives in a parked task's awaiter, so parking never allocates;
// the node is also the wait's abort function, and it knows which lot holds it,
// so it can unlink itself even after repark() moved it to another lot. The
// rescheduling operations live in runtime/parking_lot.cpp; the awaiter that
// parks in a lot is detail/awaiter.hpp's lot_park_awaiter.
#pragma once
#include <anyio/detail/assert.hpp>
#include <anyio/detail/intrusive_list.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <cstddef>

namespace anyio::detail {

struct parking_lot_core;

/// One parked task's place in a lot.
struct park_node {
  // prev/next are written by parking_lot_core::push_back and task by park_in
  // before anything reads them; `lot` alone says whether the node is queued.
  park_node* prev;
  park_node* next;
  parking_lot_core* lot = nullptr;  ///< the lot holding this node; null when not queued
  task_record* task;

  // User-provided, so that an awaiter holding a node is not zero-filled as a
  // whole: g++ turns a zero fill of an awaiter this size into `rep stosq`,
  // whose start-up cost (tens of cycles, invisible to callgrind's counts)
  // was most of w2's gap to its floor in wall time (bench/README.md).
  park_node() noexcept {}
  park_node(const park_node&) = delete;
  park_node& operator=(const park_node&) = delete;
  /// Only a torn-down run destroys a parked task's frame; leave the queue then.
  inline ~park_node();
  /// The wait's abort function: withdraw from the queue. The hand-off (lock
  /// ownership, a value) happens when the waker dequeues the node, so a node
  /// still queued has received nothing and the abort always succeeds.
  inline abort_result operator()() noexcept;
};

/// A FIFO of park_nodes: the intrusive list, plus each node's `lot` pointer.
struct parking_lot_core {
  intrusive_list<park_node, &park_node::prev, &park_node::next> queue;

  parking_lot_core() noexcept = default;
  parking_lot_core(const parking_lot_core&) = delete;
  parking_lot_core& operator=(const parking_lot_core&) = delete;
  /// Detaches any node left over (a torn-down run destroys frames in any order).
  ~parking_lot_core() {
    while (!queue.empty()) remove(*queue.front());
  }

  bool empty() const noexcept { return queue.empty(); }
  std::size_t size() const noexcept { return queue.size(); }
  park_node* front() const noexcept { return queue.front(); }

  ANYIO_HOT void push_back(park_node& n) noexcept {
    ANYIO_ASSERT(n.lot == nullptr);
    n.lot = this;
    queue.push_back(n);
  }

  ANYIO_HOT void remove(park_node& n) noexcept {
    ANYIO_ASSERT(n.lot == this);
    queue.remove(n);
    n.lot = nullptr;
  }

  /// Dequeue the first node without waking it, or nullptr.
  park_node* pop_front() noexcept {
    park_node* n = queue.front();
    if (n != nullptr) remove(*n);
    return n;
  }
};

inline park_node::~park_node() {
  if (lot != nullptr) lot->remove(*this);
}

inline abort_result park_node::operator()() noexcept {
  if (lot != nullptr) lot->remove(*this);
  return abort_result::succeeded;
}

// runtime/parking_lot.cpp

/// Dequeue the first node and make its task runnable; returns the node (it
/// stays valid until that task runs again), or nullptr if the lot is empty.
park_node* unpark_one(parking_lot_core& lot);
/// Wake up to `count` tasks in FIFO order; returns how many were woken.
std::size_t unpark(parking_lot_core& lot, std::size_t count);
/// Move up to `count` parked tasks, in order, to the back of `to`.
std::size_t repark(parking_lot_core& from, parking_lot_core& to, std::size_t count) noexcept;

}  // namespace anyio::detail
