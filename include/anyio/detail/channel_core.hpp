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
#include <anyio/detail/awaiter.hpp>
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

// The waiters' constructors are user-provided and leave what wait() sets
// (handle, value) alone, as park_node's does: see park_node on `rep stosq`.
struct channel_waiter : park_node {
  std::uint64_t handle;  ///< the clone the task waits on: its close() wakes it (set by wait())
  wake_reason reason = wake_reason::none;
  channel_waiter() noexcept {}
};

template <class T> struct send_waiter : channel_waiter {
  T* value;  ///< in the sender's awaiter (set by wait())
  send_waiter() noexcept {}
};

template <class T> struct receive_waiter : channel_waiter {
  std::optional<T> slot;
  receive_waiter() noexcept {}
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
  template <class U> ANYIO_HOT bool offer(U&& v) {
    if (!receivers.empty()) {
      ANYIO_ASSERT(used == 0);
      auto& r = static_cast<receive_waiter<T>&>(static_cast<channel_waiter&>(*receivers.front()));
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
  ANYIO_HOT bool take(std::optional<T>& out) {
    if (used == 0) {
      if (senders.empty()) return false;
      auto& w = static_cast<send_waiter<T>&>(static_cast<channel_waiter&>(*senders.front()));
      out.emplace(std::move(*w.value));
      senders.remove(w);
      wake(w, wake_reason::done);
      return true;
    }
    out.emplace(std::move(buffer.front()));
    buffer.pop_front();
    --used;
    if (!senders.empty()) {
      auto& w = static_cast<send_waiter<T>&>(static_cast<channel_waiter&>(*senders.front()));
      buffer.push_back(std::move(*w.value));  // if this throws, the sender is still queued
      ++used;
      senders.remove(w);
      wake(w, wake_reason::done);
    }
    return true;
  }
};

/// send(): a cancel point, then a hand-off or buffering plus a schedule
/// point, or a wait in `senders` until a receiver takes the value.
template <class T> struct send_op {
  // A constructor, not aggregate initialization: see blocking_awaiter.
  send_op(channel_state<T>* state, const stream_handle* handle, T&& v) noexcept(
      std::is_nothrow_move_constructible_v<T>)
      : s(state), h(handle), value(std::move(v)) {}

  channel_state<T>* s;
  const stream_handle* h;
  T value;
  const char* api = "anyio::memory_object_send_stream::send()";
  send_waiter<T> node{};
  static constexpr fast_path order = fast_path::cancel_then_yield;

  ANYIO_HOT bool try_now(task_record&) {
    s->check_send(*h);
    return s->offer(std::move(value));
  }
  void wait(task_record& t, std::coroutine_handle<> caller) {
    node.value = &value;
    node.handle = h->id;
    park_in(s->senders, node, t, caller, "anyio::memory_object_send_stream::send");
  }
  void result(task_record&, bool waited) const {
    if (waited && node.reason != wake_reason::done) [[unlikely]]
      channel_core::throw_reason(node.reason, true);
  }
};
template <class T> using send_awaiter = blocking_awaiter<send_op<T>>;

/// receive() (AsOptional = false) and next() (true: end of stream is nullopt).
template <class T, bool AsOptional> struct receive_op {
  receive_op(channel_state<T>* state, const stream_handle* handle) noexcept
      : s(state), h(handle) {}

  channel_state<T>* s;
  const stream_handle* h;
  const char* api = "anyio::memory_object_receive_stream::receive()";
  receive_waiter<T> node{};
  static constexpr fast_path order = fast_path::cancel_then_yield;

  ANYIO_HOT bool try_now(task_record&) {
    s->check_receive(*h);
    if (s->take(node.slot)) return true;
    if (s->open_send != 0) return false;
    if constexpr (!AsOptional) channel_core::throw_end_of_stream();
    return true;  // next(): a schedule point, then nullopt
  }
  void wait(task_record& t, std::coroutine_handle<> caller) {
    node.handle = h->id;
    park_in(s->receivers, node, t, caller, "anyio::memory_object_receive_stream::receive");
  }
  auto result(task_record&, bool waited) -> std::conditional_t<AsOptional, std::optional<T>, T> {
    if (waited && node.reason != wake_reason::done) [[unlikely]] {
      if constexpr (AsOptional)
        if (node.reason == wake_reason::end_of_stream) return std::nullopt;
      channel_core::throw_reason(node.reason, false);
    }
    if constexpr (AsOptional)
      return std::move(node.slot);
    else
      return std::move(*node.slot);
  }
};
template <class T, bool AsOptional>
using receive_awaiter = blocking_awaiter<receive_op<T, AsOptional>>;

}  // namespace detail
}  // namespace anyio
