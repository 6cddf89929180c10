// SPDX-License-Identifier: MIT
// Memory object streams (anyio's create_memory_object_stream, trio's memory
// channels): a send and a receive handle over one FIFO of T, bounded (0 =
// rendezvous, N, or anyio::unbounded). Handles can be cloned; a side counts as
// closed only when all its clones are, so receivers see end_of_stream after
// the last sender closes and senders see broken_resource_error after the last
// receiver closes. Every operation is atomic with respect to cancellation: a
// cancelled send delivered nothing, a cancelled receive consumed nothing. The
// typed handles are thin; the queues and errors are in detail/channel_core.hpp.
#pragma once
#include <anyio/detail/channel_core.hpp>
#include <anyio/detail/unbounded.hpp>
#include <anyio/lowlevel.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace anyio {

template <class T> class memory_object_send_stream;
template <class T> class memory_object_receive_stream;

/// What create_memory_object_stream returns: `auto [tx, rx] = ...`.
template <class T> struct memory_object_stream_pair {
  memory_object_send_stream<T> send;
  memory_object_receive_stream<T> receive;
};

/// A new stream of T buffering up to `max_buffer_size` items: 0 (the
/// default) makes every send wait for a receiver; anyio::unbounded never
/// makes a sender wait. Needs no running kernel.
template <class T>
memory_object_stream_pair<T> create_memory_object_stream(std::size_t max_buffer_size = 0);

namespace detail {
/// The part of a handle that does not depend on the direction.
template <class T> class stream_handle_base {
 public:
  stream_handle_base(const stream_handle_base&) = delete;
  stream_handle_base& operator=(const stream_handle_base&) = delete;

  /// Counts shared by every clone of both sides. Works on a closed handle.
  memory_object_stream_statistics statistics() const {
    return require("statistics()").statistics();
  }

 protected:
  stream_handle_base() noexcept = default;
  stream_handle_base(channel_state<T>* s, bool sending) noexcept
      : s_(s), h_{s->open_handle(sending), false} {}
  stream_handle_base(stream_handle_base&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), h_(std::exchange(o.h_, {})) {}
  ~stream_handle_base() { drop(); }

  channel_state<T>& require(const char* api) const {
    if (s_ == nullptr) [[unlikely]]
      channel_core::throw_empty_handle(api);
    return *s_;
  }
  void take(stream_handle_base&& o) noexcept {
    drop();
    s_ = std::exchange(o.s_, nullptr);
    h_ = std::exchange(o.h_, {});
  }
  void drop() noexcept {
    if (s_ != nullptr && --s_->refs == 0) delete s_;
    s_ = nullptr;
  }

  channel_state<T>* s_ = nullptr;
  stream_handle h_{};
};
}  // namespace detail

/// The sending handle of a memory object stream. Move-only; clone() makes
/// another handle on the same stream. Closes itself when destroyed.
template <class T> class memory_object_send_stream : public detail::stream_handle_base<T> {
  using base = detail::stream_handle_base<T>;

 public:
  /// An empty handle (every operation but close() is a usage_error).
  memory_object_send_stream() noexcept = default;
  memory_object_send_stream(memory_object_send_stream&&) noexcept = default;
  memory_object_send_stream& operator=(memory_object_send_stream&& o) noexcept {
    if (this != &o) {
      close();
      base::take(std::move(o));
    }
    return *this;
  }
  ~memory_object_send_stream() { close(); }

  /// Send `value`: hand it to a waiting receiver, or buffer it, or wait
  /// until a receiver takes it (or there is room).
  /// Checkpoint: yes. Cancellation: nothing was sent (the value is dropped).
  /// Throws: cancelled; closed_resource_error if this handle is closed;
  /// broken_resource_error if every receive handle is closed (also while
  /// waiting).
  [[nodiscard]] detail::send_awaiter<T> send(T value) {
    return {&base::require("send()"), &this->h_, std::move(value)};
  }
  /// Send without waiting: true if sent (then `value` was moved from), false
  /// if it would block (then `value` is untouched). Never a checkpoint.
  /// Throws: closed_resource_error, broken_resource_error.
  [[nodiscard]] bool try_send(T&& value) { return offer(std::move(value)); }
  [[nodiscard]] bool try_send(const T& value) { return offer(value); }
  /// anyio's send_nowait: try_send, but throws would_block instead of false.
  void send_nowait(T&& value) {
    if (!offer(std::move(value))) detail::channel_core::throw_would_block(true);
  }
  void send_nowait(const T& value) {
    if (!offer(value)) detail::channel_core::throw_would_block(true);
  }

  /// Another send handle on the same stream; receivers see end of stream
  /// only once every clone is closed. Throws: closed_resource_error.
  memory_object_send_stream clone() const {
    auto& s = base::require("clone()");
    if (this->h_.closed) detail::channel_core::throw_closed(true);
    return memory_object_send_stream(&s);
  }

  /// Close this handle (not a checkpoint; does nothing if already closed).
  /// Tasks blocked in send() on this handle get closed_resource_error; if it
  /// was the last open send handle, blocked receivers get end_of_stream.
  void close() {
    if (this->s_ == nullptr || this->h_.closed) return;
    this->h_.closed = true;
    this->s_->close_send(this->h_.id);
  }
  /// close(), then a checkpoint (trio's aclose). Throws: cancelled.
  [[nodiscard]] detail::checkpoint_awaiter aclose() {
    close();
    return {"anyio::memory_object_send_stream::aclose()"};
  }

 private:
  template <class U>
  friend memory_object_stream_pair<U> create_memory_object_stream(std::size_t);
  explicit memory_object_send_stream(detail::channel_state<T>* s) noexcept : base(s, true) {}
  template <class U> bool offer(U&& value) {
    auto& s = base::require("try_send()");
    s.check_send(this->h_);
    return s.offer(std::forward<U>(value));
  }
};

/// The receiving handle of a memory object stream. Move-only; clone() makes
/// another handle, and each value goes to exactly one receiver.
template <class T> class memory_object_receive_stream : public detail::stream_handle_base<T> {
  using base = detail::stream_handle_base<T>;

 public:
  memory_object_receive_stream() noexcept = default;
  memory_object_receive_stream(memory_object_receive_stream&&) noexcept = default;
  memory_object_receive_stream& operator=(memory_object_receive_stream&& o) noexcept {
    if (this != &o) {
      close();
      base::take(std::move(o));
    }
    return *this;
  }
  ~memory_object_receive_stream() { close(); }

  /// Receive the next value, waiting if there is none; receivers are served
  /// in the order they started waiting.
  /// Checkpoint: yes. Cancellation: nothing was consumed.
  /// Throws: cancelled; end_of_stream once every send handle is closed and
  /// the buffer is empty; closed_resource_error if this handle is closed.
  [[nodiscard]] detail::receive_awaiter<T, false> receive() {
    return {&base::require("receive()"), &this->h_};
  }
  /// Like receive(), but end of stream yields an empty optional:
  /// `while (auto v = co_await rx.next()) use(*v);`
  [[nodiscard]] detail::receive_awaiter<T, true> next() {
    return {&base::require("next()"), &this->h_};
  }
  /// Receive without waiting: empty if nothing is ready. Never a checkpoint.
  /// Throws: end_of_stream, closed_resource_error.
  [[nodiscard]] std::optional<T> try_receive() {
    auto& s = base::require("try_receive()");
    s.check_receive(this->h_);
    std::optional<T> out;
    if (!s.take(out) && s.open_send == 0) detail::channel_core::throw_end_of_stream();
    return out;
  }
  /// anyio's receive_nowait: try_receive, but throws would_block if empty.
  T receive_nowait() {
    std::optional<T> v = try_receive();
    if (!v) detail::channel_core::throw_would_block(false);
    return std::move(*v);
  }

  /// Another receive handle on the same stream. Throws: closed_resource_error.
  memory_object_receive_stream clone() const {
    auto& s = base::require("clone()");
    if (this->h_.closed) detail::channel_core::throw_closed(false);
    return memory_object_receive_stream(&s);
  }

  /// Close this handle (not a checkpoint; does nothing if already closed).
  /// Tasks blocked in receive() on this handle get closed_resource_error; if
  /// it was the last open receive handle, blocked senders get
  /// broken_resource_error and buffered values are dropped.
  void close() {
    if (this->s_ == nullptr || this->h_.closed) return;
    this->h_.closed = true;
    this->s_->close_receive(this->h_.id);
  }
  /// close(), then a checkpoint. Throws: cancelled.
  [[nodiscard]] detail::checkpoint_awaiter aclose() {
    close();
    return {"anyio::memory_object_receive_stream::aclose()"};
  }

 private:
  template <class U>
  friend memory_object_stream_pair<U> create_memory_object_stream(std::size_t);
  explicit memory_object_receive_stream(detail::channel_state<T>* s) noexcept : base(s, false) {}
};

template <class T>
memory_object_stream_pair<T> create_memory_object_stream(std::size_t max_buffer_size) {
  auto* s = new detail::channel_state<T>(max_buffer_size);
  return {memory_object_send_stream<T>(s), memory_object_receive_stream<T>(s)};
}

/// A send stream and a receive stream used as one object (anyio's
/// StapledObjectStream): send() goes to one, receive() comes from the other.
template <class T, class SendStream = memory_object_send_stream<T>,
          class ReceiveStream = memory_object_receive_stream<T>>
class stapled_object_stream {
 public:
  stapled_object_stream(SendStream send, ReceiveStream receive) noexcept
      : send_(std::move(send)), receive_(std::move(receive)) {}

  /// As SendStream::send. Checkpoint: yes.
  [[nodiscard]] auto send(T value) { return send_.send(std::move(value)); }
  /// As ReceiveStream::receive. Checkpoint: yes.
  [[nodiscard]] auto receive() { return receive_.receive(); }
  [[nodiscard]] auto next() { return receive_.next(); }
  [[nodiscard]] bool try_send(T&& value) { return send_.try_send(std::move(value)); }
  [[nodiscard]] bool try_send(const T& value) { return send_.try_send(value); }
  [[nodiscard]] std::optional<T> try_receive() { return receive_.try_receive(); }
  /// Close the sending half only (the peer sees end of stream).
  void send_eof() { send_.close(); }
  /// Close both halves. Not a checkpoint.
  void close() {
    send_.close();
    receive_.close();
  }
  /// close(), then a checkpoint. Throws: cancelled.
  [[nodiscard]] detail::checkpoint_awaiter aclose() {
    close();
    return {"anyio::stapled_object_stream::aclose()"};
  }
  SendStream& send_stream() noexcept { return send_; }
  ReceiveStream& receive_stream() noexcept { return receive_; }

 private:
  SendStream send_;
  ReceiveStream receive_;
};

}  // namespace anyio
