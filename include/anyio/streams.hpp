// SPDX-License-Identifier: MIT
// Byte and object streams (anyio.abc's streams, anyio.streams.*): the
// abstract interfaces every socket, TLS stream, pipe and wrapper implements,
// typed attributes that see through wrappers, and the wrappers themselves
// (buffered receive, UTF-8 text, stapled send+receive, an in-memory byte
// stream pair for tests). Streams are used through the public non-virtual
// calls; implementations override the protected do_* functions (so a
// derived class never hides the convenience overloads).
//
// Guarantees every implementation keeps (trio's): a cancelled receive
// consumed nothing; after a cancelled send the stream stays usable but how
// much was sent is unknown (a TLS stream is broken instead); two tasks
// receiving (or sending) on one stream at once is busy_resource_error; use
// after close() is closed_resource_error; the peer's orderly shutdown is
// end_of_stream; a reset by the peer is broken_resource_error.
#pragma once
#include <anyio/errors.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>

#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace anyio {

// ---------------------------------------------------------------- attributes

/// A typed attribute key (anyio's typed_attribute()): compared by address,
/// so each key is one inline constexpr object.
template <class T> struct typed_attribute {
  std::string_view name;
};

/// extra(attr) on a stream that does not have `attr` (anyio's
/// TypedAttributeLookupError). what() names the attribute.
class typed_attribute_lookup_error : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

/// Anything with typed attributes. Wrappers answer their own attributes and
/// forward the rest to what they wrap, so extra() sees through TLS and
/// buffering down to the socket.
class typed_attribute_provider {
 public:
  /// The attribute's value. Throws typed_attribute_lookup_error if absent.
  template <class T> T extra(const typed_attribute<T>& attr) const {
    std::any v = find_attribute(&attr);
    if (!v.has_value()) [[unlikely]]
      throw_missing_attribute(attr.name);
    return std::any_cast<T>(std::move(v));
  }
  /// The attribute's value, or `fallback` if this stream does not have it.
  template <class T> T extra(const typed_attribute<T>& attr, T fallback) const {
    std::any v = find_attribute(&attr);
    return v.has_value() ? std::any_cast<T>(std::move(v)) : std::move(fallback);
  }
  /// The untyped lookup behind extra(): what a wrapper calls on the object
  /// it wraps to forward a key it does not know.
  std::any lookup_attribute(const void* key) const { return find_attribute(key); }

 protected:
  ~typed_attribute_provider() = default;
  /// The value for `key` (the address of a typed_attribute<T>, holding a T),
  /// or an empty any. Wrappers return the wrapped stream's answer for keys
  /// they do not know.
  virtual std::any find_attribute(const void* key) const { (void)key; return {}; }
  [[noreturn]] static void throw_missing_attribute(std::string_view name);
};

/// Helper for find_attribute overrides: `if (key == &attr) return value;`.
template <class T> bool is_attribute(const void* key, const typed_attribute<T>& attr) noexcept {
  return key == static_cast<const void*>(&attr);
}

// ------------------------------------------------------------- byte streams

/// Receives bytes (anyio.abc.ByteReceiveStream).
class byte_receive_stream : public virtual typed_attribute_provider {
 public:
  virtual ~byte_receive_stream() = default;

  /// Receive at least one byte into `buffer` (zero-copy); returns how many.
  /// Checkpoint: yes. Cancellation: nothing was consumed.
  /// Throws: end_of_stream (peer closed its sending side), closed_resource_error,
  /// broken_resource_error, busy_resource_error, cancelled.
  task<std::size_t> receive(std::span<std::byte> buffer) { return do_receive(buffer); }
  task<std::size_t> receive(std::span<char> buffer) {
    return do_receive(std::as_writable_bytes(buffer));
  }
  /// Receive up to `max_bytes` (at least one) as a byte string.
  task<std::string> receive(std::size_t max_bytes = 65536);
  /// Close the stream; further use is closed_resource_error. Checkpoint: yes.
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<std::size_t> do_receive(std::span<std::byte> buffer) = 0;
  virtual task<> do_aclose() = 0;
};

/// Sends bytes (anyio.abc.ByteSendStream).
class byte_send_stream : public virtual typed_attribute_provider {
 public:
  virtual ~byte_send_stream() = default;

  /// Send all of `data`. Checkpoint: yes. Cancellation: the stream stays
  /// usable, but how much of `data` was sent is unknown.
  /// Throws: closed_resource_error, broken_resource_error, busy_resource_error,
  /// cancelled.
  task<> send(std::span<const std::byte> data) { return do_send(data); }
  task<> send(std::string_view data) { return do_send(std::as_bytes(std::span(data))); }
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<> do_send(std::span<const std::byte> data) = 0;
  virtual task<> do_aclose() = 0;
};

/// Both directions, plus a half-close (anyio.abc.ByteStream).
class byte_stream : public byte_receive_stream, public byte_send_stream {
 public:
  using byte_receive_stream::receive;
  using byte_send_stream::send;
  /// Close both directions.
  task<> aclose() { return do_aclose(); }
  /// Shut the sending side: the peer's receive sees end_of_stream once it
  /// has read everything before. Receiving still works. Checkpoint: yes.
  task<> send_eof() { return do_send_eof(); }

 protected:
  virtual task<> do_send_eof() = 0;
  task<> do_aclose() override = 0;
};

// ------------------------------------------------------------ object streams

template <class T> class object_receive_stream : public virtual typed_attribute_provider {
 public:
  virtual ~object_receive_stream() = default;
  /// The next object. Throws end_of_stream when there are no more.
  task<T> receive() { return do_receive(); }
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<T> do_receive() = 0;
  virtual task<> do_aclose() = 0;
};

template <class T> class object_send_stream : public virtual typed_attribute_provider {
 public:
  virtual ~object_send_stream() = default;
  task<> send(T item) { return do_send(std::move(item)); }
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<> do_send(T item) = 0;
  virtual task<> do_aclose() = 0;
};

template <class T>
class object_stream : public object_receive_stream<T>, public object_send_stream<T> {
 public:
  task<> aclose() { return do_aclose(); }
  task<> send_eof() { return do_send_eof(); }

 protected:
  virtual task<> do_send_eof() = 0;
  task<> do_aclose() override = 0;
};

// ------------------------------------------------------------------ listener

/// Accepts connections (anyio.abc.Listener).
template <class Stream> class listener : public virtual typed_attribute_provider {
 public:
  using stream_type = Stream;
  using handler_type = std::function<task<>(std::unique_ptr<Stream>)>;
  virtual ~listener() = default;

  /// The next connection. Checkpoint: yes. Cancellation: no connection is
  /// lost (it stays queued for the next accept).
  task<std::unique_ptr<Stream>> accept() { return do_accept(); }
  task<> aclose() { return do_aclose(); }
  /// Accept forever, running handler(stream) for each connection as a task in
  /// `group` (a new group when null). Ends only by cancellation or an error.
  task<> serve(handler_type handler, task_group* group = nullptr);

 protected:
  virtual task<std::unique_ptr<Stream>> do_accept() = 0;
  virtual task<> do_aclose() = 0;
};

// ------------------------------------------------------------------ wrappers

/// Thrown by receive_exactly when the stream ends first.
class incomplete_read : public anyio_error {
 public:
  explicit incomplete_read(const std::string& what = {})
      : anyio_error(errc::incomplete_read, what) {}
};

/// Thrown by receive_until when max_bytes arrive without the delimiter.
class delimiter_not_found : public anyio_error {
 public:
  explicit delimiter_not_found(const std::string& what = {})
      : anyio_error(errc::delimiter_not_found, what) {}
};

/// Buffers what it receives so that callers can ask for exact sizes or
/// delimited records (anyio.streams.buffered.BufferedByteReceiveStream).
class buffered_byte_receive_stream final : public byte_receive_stream {
 public:
  explicit buffered_byte_receive_stream(std::unique_ptr<byte_receive_stream> inner);
  /// Exactly `n` bytes. Throws incomplete_read if the stream ends first.
  /// Cancellation: what arrived stays buffered for the next call.
  task<std::string> receive_exactly(std::size_t n);
  /// Bytes up to (not including) `delimiter`, which is consumed. Throws
  /// delimiter_not_found if `max_bytes` arrive without it, incomplete_read
  /// if the stream ends first.
  task<std::string> receive_until(std::string_view delimiter, std::size_t max_bytes);
  /// What is buffered and not yet returned.
  std::string_view buffer() const noexcept {
    return {buffer_.data() + start_, buffer_.size() - start_};
  }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> out) override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  task<> fill();
  std::unique_ptr<byte_receive_stream> inner_;
  std::string buffer_;
  std::size_t start_ = 0;
  bool receiving_ = false;  // a receive call is in progress (busy_resource_error)
};

/// UTF-8 text over a byte stream (anyio.streams.text.TextStream): a
/// multi-byte sequence split across receives is held back until complete;
/// invalid UTF-8 is a std::system_error naming the byte offset.
class text_stream final : public virtual typed_attribute_provider {
 public:
  explicit text_stream(std::unique_ptr<byte_stream> inner);
  /// The next piece of text (whole code points only). Throws end_of_stream.
  task<std::string> receive();
  task<> send(std::string_view text);
  task<> send_eof();
  task<> aclose();

 protected:
  std::any find_attribute(const void* key) const override;

 private:
  std::unique_ptr<byte_stream> inner_;
  std::string pending_;  // received, not yet returned: an incomplete or invalid sequence
  std::uint64_t offset_ = 0;  // bytes returned so far, for error messages
};

/// A send stream and a receive stream as one byte_stream
/// (anyio.streams.stapled.StapledByteStream).
class stapled_byte_stream final : public byte_stream {
 public:
  stapled_byte_stream(std::unique_ptr<byte_send_stream> send,
                      std::unique_ptr<byte_receive_stream> receive);

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override;
  task<> do_send(std::span<const std::byte> data) override;
  task<> do_send_eof() override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  std::unique_ptr<byte_send_stream> send_;
  std::unique_ptr<byte_receive_stream> receive_;
};

/// Two connected in-memory byte streams (trio's memory_stream_pair): what one
/// sends the other receives, in pieces of any size; for testing protocols and
/// TLS without sockets. Works on both backends (no I/O). `max_buffer` bounds
/// the bytes in flight each way: send waits while the peer's buffer is full.
struct memory_byte_stream_pair {
  std::unique_ptr<byte_stream> first;
  std::unique_ptr<byte_stream> second;
};
memory_byte_stream_pair create_memory_byte_stream_pair(std::size_t max_buffer = 65536);

template <class Stream>
task<> listener<Stream>::serve(handler_type handler, task_group* group) {
  if (group == nullptr) {
    co_await with_task_group([&](task_group& tg) -> task<> { co_await serve(handler, &tg); });
    co_return;
  }
  for (;;) {
    std::unique_ptr<Stream> stream = co_await accept();
    group->start_soon(handler, std::move(stream));
  }
}

}  // namespace anyio
