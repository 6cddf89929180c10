// SPDX-License-Identifier: MIT
// The waking half of the parking lot (trio's ParkingLot.unpark / repark).
// Waking is dequeue-then-reschedule in one step, so a woken task is never
// both runnable and abortable: whatever the waker handed over (a lock, a
// token, a value) is the task's the moment it leaves the queue. The queue
// itself is intrusive and inline, in include/anyio/detail/parking_lot.hpp.
#include <anyio/detail/parking_lot.hpp>

#include "runtime/kernel.hpp"

namespace anyio::detail {

park_node* unpark_one(parking_lot_core& lot) {
  park_node* n = lot.pop_front();
  // While a failed run destroys its frames, a woken task would never run:
  // the hand-off is still recorded, but nothing is rescheduled.
  if (n != nullptr && !kernel_tearing_down()) reschedule(*n->task);
  return n;
}

std::size_t unpark(parking_lot_core& lot, std::size_t count) {
  std::size_t woken = 0;
  while (woken < count && unpark_one(lot) != nullptr) ++woken;
  return woken;
}

std::size_t repark(parking_lot_core& from, parking_lot_core& to, std::size_t count) noexcept {
  ANYIO_ASSERT(&from != &to);
  std::size_t moved = 0;
  while (moved < count) {
    park_node* n = from.pop_front();
    if (n == nullptr) break;
    to.push_back(*n);
    ++moved;
  }
  return moved;
}

bool kernel_tearing_down() noexcept {
  kernel* k = kernel::current();
  return k == nullptr || k->tearing_down_;
}

}  // namespace anyio::detail
