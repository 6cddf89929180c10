// SPDX-License-Identifier: MIT
// The cold paths of memory object streams (trio's MemorySendChannel.close and
// MemoryReceiveChannel.close): closing a handle wakes the tasks blocked on
// that handle with closed_resource_error; closing the last handle of a side
// wakes the other side (end_of_stream for receivers, broken_resource_error
// for senders). Also the errors and statistics. The hot paths — hand-off,
// buffering, parking — are inline in include/anyio/detail/channel_core.hpp.
#include <anyio/detail/channel_core.hpp>
#include <anyio/errors.hpp>

#include <string>

namespace anyio::detail {

namespace {

/// Wake every waiter of `lot` (only those of `handle`, unless it is 0).
void wake_waiters(channel_core& c, parking_lot_core& lot, std::uint64_t handle, wake_reason r) {
  const bool teardown = kernel_tearing_down();
  park_node* n = lot.front();
  while (n != nullptr) {
    park_node* next = n->next;
    auto& w = static_cast<channel_waiter&>(*n);
    if (handle == 0 || w.handle == handle) {
      lot.remove(w);
      // A failed run destroying its frames: the waiter's task is about to go too.
      if (!teardown) c.wake(w, r);
    }
    n = next;
  }
}

}  // namespace

void channel_core::close_send(std::uint64_t handle) {
  ANYIO_ASSERT(open_send > 0);
  wake_waiters(*this, senders, handle, wake_reason::closed);
  if (--open_send == 0) {
    ANYIO_ASSERT(senders.empty());  // each closed handle woke its own senders
    ANYIO_ASSERT(receivers.empty() || used == 0);
    wake_waiters(*this, receivers, 0, wake_reason::end_of_stream);
  }
}

void channel_core::close_receive(std::uint64_t handle) {
  ANYIO_ASSERT(open_receive > 0);
  wake_waiters(*this, receivers, handle, wake_reason::closed);
  if (--open_receive == 0) {
    ANYIO_ASSERT(receivers.empty());
    wake_waiters(*this, senders, 0, wake_reason::broken);
  }
}

memory_object_stream_statistics channel_core::statistics() const noexcept {
  return {used, max_buffer, open_send, open_receive, senders.size(), receivers.size()};
}

void channel_core::throw_reason(wake_reason r, bool sending) {
  switch (r) {
    case wake_reason::closed:
      throw_closed(sending);
    case wake_reason::broken:
      throw_broken();
    case wake_reason::end_of_stream:
      throw_end_of_stream();
    case wake_reason::none:
    case wake_reason::done:
      break;
  }
  ANYIO_ASSERT(false && "a stream waiter was woken without a reason");
  std::terminate();
}

void channel_core::throw_closed(bool sending) {
  throw closed_resource_error(sending ? "this memory_object_send_stream is closed"
                                      : "this memory_object_receive_stream is closed");
}

void channel_core::throw_broken() {
  throw broken_resource_error(
      "memory object stream: every receive stream is closed, nobody can receive this value");
}

void channel_core::throw_end_of_stream() {
  throw end_of_stream("memory object stream: every send stream is closed and the buffer is empty");
}

void channel_core::throw_would_block(bool sending) {
  throw would_block(sending ? "memory_object_send_stream::send_nowait(): the buffer is full and "
                              "no receiver is waiting"
                            : "memory_object_receive_stream::receive_nowait(): nothing to "
                              "receive yet");
}

void channel_core::throw_empty_handle(const char* api) {
  throw_usage_error(std::string("memory object stream ") + api +
                    ": this handle is empty (default-constructed or moved-from); get handles "
                    "from anyio::create_memory_object_stream<T>(n) or clone()");
}

}  // namespace anyio::detail
