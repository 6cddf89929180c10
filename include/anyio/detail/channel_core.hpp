// SPDX-License-Identifier: MIT
// The state behind memory object streams (trio's MemoryChannelState):
// channel_core holds everything that does not depend on T — the two FIFO
// waiter queues, open-handle counts, the buffer bound — and its cold paths
// (close, errors, statistics) are in runtime/memory_stream.cpp;
// channel_state<T> adds only the typed buffer and the moves. A parked party's
// value slot lives in its own awaiter, so handing a value to a parked
// receiver (or taking one from a parked sender) is a direct move plus a
// reschedule: no buffer, no allocation. The hand-off happens when the waiter
// is dequeued, so a waiter still queued has given or taken nothing.
#pragma once
#include <anyio/detail/assert.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/parking_lot.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

/// What memory_object_*_stream::statistics() reports (shared by all clones).
struct memory_object_stream_statistics {
  std::size_t current_buffer_used = 0;  ///< items in the buffer
  std::size_t max_buffer_size = 0;      ///< as created; anyio::unbounded for no limit
  std::size_t open_send_streams = 0;    ///< send handles (clones) not yet closed
  std::size_t open_receive_streams = 0;
  std::size_t tasks_waiting_send = 0;  ///< tasks blocked in send(), over all clones
  std::size_t tasks_waiting_receive = 0;
};

namespace detail {

/// Why a parked stream operation was woken (cancellation comes separately,
/// as the kernel's wake error).
enum class wake_reason : std::uint8_t { none, done, closed, broken, end_of_stream };

struct channel_waiter : park_node {
  std::uint64_t handle = 0;  ///< the clone the task waits on: its close() wakes it
  wake_reason reason = wake_reason::none;
};

template <class T> struct send_waiter : channel_waiter {
  T* value = nullptr;  ///< in the sender's awaiter
};

template <class T> struct receive_waiter : channel_waiter {
  std::optional<T> slot{};
};

/// One handle's (one clone's) identity and closed flag.
struct stream_handle {
  std::uint64_t id = 0;
  bool closed = false;
};

struct channel_core {
  explicit channel_core(std::size_t max) noexcept : max_buffer(max) {}
  channel_core(const channel_core&) = delete;
  channel_core& operator=(const channel_core&) = delete;

  std::size_t max_buffer;
  std::size_t used = 0;  ///< mirrors the typed buffer's size
  std::size_t open_send = 0;
  std::size_t open_receive = 0;
  std::size_t refs = 0;  ///< handles alive, closed or not
  std::uint64_t next_handle = 1;
  parking_lot_core senders;  ///< send_waiter<T>s
  parking_lot_core receivers;  ///< receive_waiter<T>s

  void wake(channel_waiter& w, wake_reason r) {
    w.reason = r;
    reschedule(*w.task);
  }
  void check_send(const stream_handle& h) const {
    if (h.closed) [[unlikely]]
      throw_closed(true);
    if (open_receive == 0) [[unlikely]]
      throw_broken();
  }
  void check_receive(const stream_handle& h) const {
    if (h.closed) [[unlikely]]
      throw_closed(false);
  }
  std::uint64_t open_handle(bool sending) noexcept {
    ++refs;
    ++(sending ? open_send : open_receive);
    return next_handle++;
  }

  // runtime/memory_stream.cpp
  void close_send(std::uint64_t handle);
  void close_receive(std::uint64_t handle);
  memory_object_stream_statistics statistics() const noexcept;
  [[noreturn]] static void throw_reason(wake_reason r, bool sending);
  [[noreturn]] static void throw_closed(bool sending);
  [[noreturn]] static void throw_broken();
  [[noreturn]] static void throw_end_of_stream();
  [[noreturn]] static void throw_would_block(bool sending);
  [[noreturn]] static void throw_empty_handle(const char* api);
};

template <class T> struct channel_state final : channel_core {
  explicit channel_state(std::size_t max) : channel_core(max) {}
  std::deque<T> buffer;

  /// Give `v` to the first parked receiver, or buffer it if there is room.
  /// Moves from `v` only on success.
  template <class U> bool offer(U&& v) {
    if (!receivers.empty()) {
      ANYIO_ASSERT(used == 0);
      auto& r = static_cast<receive_waiter<T>&>(static_cast<channel_waiter&>(*receivers.head));
      r.slot.emplace(std::forward<U>(v));  // if this throws, the receiver is still queued
      receivers.remove(r);
      wake(r, wake_reason::done);
      return true;
    }
    if (used < max_buffer) {
      buffer.push_back(std::forward<U>(v));
      ++used;
      return true;
    }
    return false;
  }

  /// Take the next value: from the buffer (refilled from the first parked
  /// sender, trio's receive_nowait) or straight from a parked sender.
  bool take(std::optional<T>& out) {
    if (used == 0) {
      if (senders.empty()) return false;
      auto& w = static_cast<send_waiter<T>&>(static_cast<channel_waiter&>(*senders.head));
      out.emplace(std::move(*w.value));
      senders.remove(w);
      wake(w, wake_reason::done);
      return true;
    }
    out.emplace(std::move(buffer.front()));
    buffer.pop_front();
    --used;
    if (!senders.empty()) {
      auto& w = static_cast<send_waiter<T>&>(static_cast<channel_waiter&>(*senders.head));
      buffer.push_back(std::move(*w.value));  // if this throws, the sender is still queued
      ++used;
      senders.remove(w);
      wake(w, wake_reason::done);
    }
    return true;
  }
};

template <class T> struct send_awaiter {
  channel_state<T>* s;
  const stream_handle* h;
  T value;
  send_waiter<T> node{};
  bool fast = false;

  bool await_ready() {
    node.task = &current_task_record("anyio::memory_object_send_stream::send()");
    raise_if_cancelled(*node.task);  // trio: checkpoint_if_cancelled first
    s->check_send(*h);
    fast = s->offer(std::move(value));
    return false;
  }
  void await_suspend(std::coroutine_handle<> caller) {
    if (fast) {
      yield_now(*node.task, caller);  // trio: cancel_shielded_checkpoint after success
    } else {
      node.value = &value;
      node.handle = h->id;
      s->senders.push_back(node);
      park(*node.task, caller, node, "anyio::memory_object_send_stream::send");
    }
  }
  void await_resume() {
    if (fast) return;
    rethrow_wake_error(*node.task);
    if (node.reason != wake_reason::done) [[unlikely]]
      channel_core::throw_reason(node.reason, true);
  }
};

/// receive() (AsOptional = false) and next() (true: end of stream is nullopt).
template <class T, bool AsOptional> struct receive_awaiter {
  channel_state<T>* s;
  const stream_handle* h;
  receive_waiter<T> node{};
  bool fast = false;

  bool await_ready() {
    node.task = &current_task_record("anyio::memory_object_receive_stream::receive()");
    raise_if_cancelled(*node.task);
    s->check_receive(*h);
    fast = s->take(node.slot);
    if (!fast && s->open_send == 0) {
      if constexpr (!AsOptional) channel_core::throw_end_of_stream();
      fast = true;  // next(): a schedule point, then nullopt
    }
    return false;
  }
  void await_suspend(std::coroutine_handle<> caller) {
    if (fast) {
      yield_now(*node.task, caller);
    } else {
      node.handle = h->id;
      s->receivers.push_back(node);
      park(*node.task, caller, node, "anyio::memory_object_receive_stream::receive");
    }
  }
  auto await_resume() -> std::conditional_t<AsOptional, std::optional<T>, T> {
    if (!fast) {
      rethrow_wake_error(*node.task);
      if (node.reason != wake_reason::done) [[unlikely]] {
        if constexpr (AsOptional)
          if (node.reason == wake_reason::end_of_stream) return std::nullopt;
        channel_core::throw_reason(node.reason, false);
      }
    }
    if constexpr (AsOptional)
      return std::move(node.slot);
    else
      return std::move(*node.slot);
  }
};

}  // namespace detail
}  // namespace anyio
