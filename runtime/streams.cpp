// SPDX-License-Identifier: MIT
// The backend-neutral streams of include/anyio/streams.hpp: the in-memory
// byte stream pair (trio's memory_stream_pair), the typed-attribute lookup
// error, the receive(max_bytes) convenience, and the wrappers (buffered
// receive, UTF-8 text, stapled). Nothing here does I/O, so every stream in
// this file behaves the same on realio and sim. The in-memory pair is built
// like the memory object streams (runtime/memory_stream.cpp): a parked party
// waits in a parking lot and re-examines the shared state when it runs.
#include <anyio/detail/awaiter.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/parking_lot.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/streams.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace anyio {

// ---------------------------------------------------------------- attributes

void typed_attribute_provider::throw_missing_attribute(std::string_view name) {
  throw typed_attribute_lookup_error("this stream has no typed attribute '" + std::string(name) +
                                     "' (nor does any stream it wraps)");
}

task<std::string> byte_receive_stream::receive(std::size_t max_bytes) {
  std::string out(max_bytes, '\0');
  // do_receive rejects an empty buffer itself, with the stream's own message.
  std::size_t n = co_await do_receive(std::as_writable_bytes(std::span(out)));
  out.resize(n);
  co_return out;
}

// ---------------------------------------------------- in-memory byte streams

namespace {

/// One direction of a memory byte stream pair: the bytes in flight, the two
/// ends' shutdown flags and their (at most one each) parked tasks. A parked
/// task is woken with no hand-off: it re-reads this state when it runs, and
/// the busy flag keeps everyone else out until then.
struct byte_pipe {
  std::vector<std::byte> bytes;
  std::size_t head = 0;  ///< bytes before head were received already
  std::size_t max_buffer = 0;
  bool write_shut = false;  ///< the writer sent EOF or closed: EOF after the bytes
  bool read_closed = false;  ///< the reader closed: writes are broken
  bool reading = false;  ///< a receive is parked (or woken and not yet run)
  bool writing = false;  ///< a send is in progress (it may park several times)
  detail::parking_lot_core reader;
  detail::parking_lot_core writer;

  std::size_t buffered() const noexcept { return bytes.size() - head; }

  /// Copy what fits of `data` in; returns how much. Wakes the reader.
  std::size_t put(std::span<const std::byte> data) {
    std::size_t n = std::min(data.size(), max_buffer - buffered());
    if (n == 0) return 0;
    if (head == bytes.size()) {
      bytes.clear();
      head = 0;
    }
    bytes.insert(bytes.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    detail::unpark_one(reader);
    return n;
  }

  /// Copy up to out.size() buffered bytes out; returns how many. Wakes the writer.
  std::size_t take(std::span<std::byte> out) {
    std::size_t n = std::min(out.size(), buffered());
    ANYIO_ASSERT(n > 0);
    std::memcpy(out.data(), bytes.data() + head, n);
    head += n;
    if (head == bytes.size()) {
      bytes.clear();
      head = 0;
    } else if (head >= 4096 && head * 2 >= bytes.size()) {
      // Keep the vector from growing without bound under a steady trickle.
      bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
    detail::unpark_one(writer);
    return n;
  }

  void wake_all() {
    detail::unpark_one(reader);
    detail::unpark_one(writer);
  }
};

struct byte_pair_core {
  byte_pipe pipes[2];
};

class memory_byte_stream final : public byte_stream {
 public:
  memory_byte_stream(std::shared_ptr<byte_pair_core> core, int side)
      : core_(std::move(core)), out_(core_->pipes[side]), in_(core_->pipes[1 - side]) {}
  memory_byte_stream(const memory_byte_stream&) = delete;
  memory_byte_stream& operator=(const memory_byte_stream&) = delete;
  ~memory_byte_stream() override { close(); }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override;
  task<> do_send(std::span<const std::byte> data) override;
  task<> do_send_eof() override;
  task<> do_aclose() override;

 private:
  /// receive(): cancel point; the buffered bytes (or EOF) plus a schedule
  /// point, or a wait until something arrives.
  struct receive_op {
    memory_byte_stream* self;
    std::span<std::byte> out;
    const char* api = "anyio::memory byte stream receive()";
    detail::park_node node{};
    static constexpr detail::fast_path order = detail::fast_path::cancel_then_yield;

    bool try_now(detail::task_record&) {
      self->check_open("receive");
      if (self->in_.reading) [[unlikely]]
        throw busy_resource_error(
            "memory byte stream: another task is already receiving on this stream");
      received = self->try_receive(out, eof);
      return received != 0 || eof;
    }
    void wait(detail::task_record& t, std::coroutine_handle<> h) {
      self->in_.reading = true;
      detail::park_in(self->in_.reader, node, t, h, "anyio::memory byte stream receive");
    }
    void withdraw() noexcept { self->in_.reading = false; }
    /// The bytes; 0 only after a wake that left nothing to do (the caller
    /// then waits again).
    std::size_t result(detail::task_record&, bool waited) {
      if (waited) {
        self->check_open("receive");
        received = self->try_receive(out, eof);
      }
      if (eof)
        throw end_of_stream("memory byte stream: the peer closed its sending side");
      return received;
    }
    std::size_t received = 0;
    bool eof = false;
  };

  /// One round of send(): cancel point, then copy what fits; done (plus a
  /// schedule point) if everything fit, else wait for the reader to drain.
  struct send_op {
    memory_byte_stream* self;
    std::span<const std::byte>* rest;
    const char* api = "anyio::memory byte stream send()";
    detail::park_node node{};
    static constexpr detail::fast_path order = detail::fast_path::cancel_then_yield;

    bool try_now(detail::task_record&) {
      self->check_send();
      std::size_t n = self->out_.put(*rest);
      *rest = rest->subspan(n);
      return rest->empty();
    }
    void wait(detail::task_record& t, std::coroutine_handle<> h) {
      detail::park_in(self->out_.writer, node, t, h, "anyio::memory byte stream send");
    }
  };

  /// The bytes (returns how many), or 0: nothing yet, or the end of the
  /// stream (then `eof` is set; the error is thrown after the schedule point).
  std::size_t try_receive(std::span<std::byte> out, bool& eof) {
    if (in_.buffered() != 0) return in_.take(out);
    eof = in_.write_shut;
    return 0;
  }
  void check_open(const char* what) const {
    if (closed_) [[unlikely]]
      throw closed_resource_error(std::string("memory byte stream ") + what +
                                  "(): this stream is closed");
  }
  void check_send() const {
    check_open("send");
    if (eof_sent_) [[unlikely]]
      throw closed_resource_error("memory byte stream send(): send_eof() was called already");
    if (out_.read_closed) [[unlikely]]
      throw broken_resource_error("memory byte stream send(): the peer closed the stream");
  }
  /// Shut both directions (idempotent): the peer reads what is buffered,
  /// then EOF; its sends are broken; our own parked tasks are woken to find
  /// this stream closed.
  void close() noexcept {
    if (closed_) return;
    closed_ = true;
    out_.write_shut = true;
    in_.read_closed = true;
    in_.bytes.clear();
    in_.head = 0;
    out_.wake_all();
    in_.wake_all();
  }

  std::shared_ptr<byte_pair_core> core_;
  byte_pipe& out_;
  byte_pipe& in_;
  bool closed_ = false;
  bool eof_sent_ = false;
};

task<std::size_t> memory_byte_stream::do_receive(std::span<std::byte> buffer) {
  if (buffer.empty()) [[unlikely]]
    detail::throw_usage_error(
        "memory byte stream receive(): the buffer is empty; give it room for at least one byte");
  for (;;) {
    detail::blocking_awaiter<receive_op> op{this, buffer};
    std::size_t n = co_await op;
    if (n != 0) co_return n;
  }
}

task<> memory_byte_stream::do_send(std::span<const std::byte> data) {
  check_send();
  if (out_.writing) [[unlikely]]
    throw busy_resource_error(
        "memory byte stream: another task is already sending on this stream");
  out_.writing = true;
  // The frame may outlive this stream when a failed run tears down: the
  // guard keeps the pipe it resets alive.
  struct release {
    std::shared_ptr<byte_pair_core> keep;
    byte_pipe& p;
    ~release() { p.writing = false; }
  } guard{core_, out_};
  // Each round is a checkpoint; a send cancelled while parked keeps what it
  // delivered (the amount sent is unknown to the caller, as on a socket).
  for (;;) {
    detail::blocking_awaiter<send_op> op{this, &data};
    co_await op;
    if (data.empty()) co_return;
  }
}

task<> memory_byte_stream::do_send_eof() {
  check_open("send_eof");
  if (!eof_sent_) {
    eof_sent_ = true;
    out_.write_shut = true;
    out_.wake_all();
  }
  co_await anyio::checkpoint();
}

task<> memory_byte_stream::do_aclose() {
  close();
  co_await anyio::checkpoint();
}

}  // namespace

memory_byte_stream_pair create_memory_byte_stream_pair(std::size_t max_buffer) {
  if (max_buffer == 0)
    detail::throw_usage_error(
        "anyio::create_memory_byte_stream_pair(): max_buffer is 0, so nothing could ever be "
        "sent; give it at least 1");
  auto core = std::make_shared<byte_pair_core>();
  core->pipes[0].max_buffer = max_buffer;
  core->pipes[1].max_buffer = max_buffer;
  return {std::make_unique<memory_byte_stream>(core, 0),
          std::make_unique<memory_byte_stream>(core, 1)};
}

}  // namespace anyio

// ------------------------------------------------------------------ wrappers

namespace anyio {

namespace {

constexpr std::size_t fill_size = 65536;

template <class T> void require_stream(const std::unique_ptr<T>& p, const char* api) {
  if (p == nullptr) [[unlikely]]
    detail::throw_usage_error(std::string(api) + ": the stream to wrap is null");
}

/// How far a byte string is UTF-8: the length of its longest prefix of
/// whole valid code points, and whether what follows is invalid (rather
/// than the start of a sequence that more bytes may complete).
struct utf8_scan {
  std::size_t valid = 0;
  bool invalid = false;
};

utf8_scan scan_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The second byte's range excludes overlong forms, UTF-16 surrogates
    // (ED A0..BF) and code points above U+10FFFF (RFC 3629 §4).
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return {i, true};
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k == s.size()) return {i, false};
      const auto d = static_cast<unsigned char>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return {i, true};
    }
    i += len;
  }
  return {i, false};
}

[[noreturn]] void throw_bad_utf8(const char* api, std::uint64_t offset, const char* problem) {
  throw std::system_error(std::make_error_code(std::errc::illegal_byte_sequence),
                          std::string(api) + ": " + problem + " at byte offset " +
                              std::to_string(offset));
}

}  // namespace

// buffered_byte_receive_stream: every call is a checkpoint. When the buffer
// already answers, that is a cancel point before and a schedule point after
// (NET.md's fast path); otherwise the wrapped stream's receives are the
// checkpoints. A cancelled receive of the wrapped stream consumed nothing,
// so cancellation never loses buffered bytes.

buffered_byte_receive_stream::buffered_byte_receive_stream(
    std::unique_ptr<byte_receive_stream> inner)
    : inner_(std::move(inner)) {
  require_stream(inner_, "anyio::buffered_byte_receive_stream");
}

task<> buffered_byte_receive_stream::fill() {
  // Into a string of its own, not the buffer's tail: an aclose() while this
  // waits may clear the buffer.
  std::string chunk = co_await inner_->receive(fill_size);
  if (start_ != 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_ += chunk;
}

namespace {

/// Marks a buffered stream's receive in progress for the call's duration.
class receive_guard {
 public:
  receive_guard(bool& flag, const char* api) : flag_(flag) {
    if (flag_) [[unlikely]]
      throw busy_resource_error(std::string(api) +
                                ": another task is already receiving on this stream");
    flag_ = true;
  }
  receive_guard(const receive_guard&) = delete;
  receive_guard& operator=(const receive_guard&) = delete;
  // A failed run may destroy the frame after the stream: leave it alone then.
  ~receive_guard() {
    if (!detail::kernel_tearing_down()) flag_ = false;
  }

 private:
  bool& flag_;
};

}  // namespace

task<std::size_t> buffered_byte_receive_stream::do_receive(std::span<std::byte> out) {
  if (out.empty()) [[unlikely]]
    detail::throw_usage_error(
        "buffered_byte_receive_stream::receive(): the buffer is empty; give it room for at "
        "least one byte");
  receive_guard busy(receiving_, "buffered_byte_receive_stream::receive()");
  if (start_ == buffer_.size()) co_return co_await inner_->receive(out);
  co_await checkpoint_if_cancelled();
  const std::size_t n = std::min(out.size(), buffer_.size() - start_);
  std::memcpy(out.data(), buffer_.data() + start_, n);
  start_ += n;
  co_await cancel_shielded_checkpoint();
  co_return n;
}

task<> buffered_byte_receive_stream::do_aclose() {
  // Buffered bytes would otherwise still be returned after the close.
  buffer_.clear();
  start_ = 0;
  co_await inner_->aclose();
}

task<std::string> buffered_byte_receive_stream::receive_exactly(std::size_t n) {
  receive_guard busy(receiving_, "buffered_byte_receive_stream::receive_exactly()");
  co_await checkpoint_if_cancelled();
  bool waited = false;
  while (buffer_.size() - start_ < n) {
    try {
      co_await fill();
    } catch (const end_of_stream&) {
      throw incomplete_read("buffered_byte_receive_stream::receive_exactly(" +
                            std::to_string(n) + "): the stream ended after " +
                            std::to_string(buffer_.size() - start_) + " bytes");
    }
    waited = true;
  }
  std::string out = buffer_.substr(start_, n);
  start_ += n;
  if (!waited) co_await cancel_shielded_checkpoint();
  co_return out;
}

task<std::string> buffered_byte_receive_stream::receive_until(std::string_view delimiter,
                                                              std::size_t max_bytes) {
  if (delimiter.empty()) [[unlikely]]
    detail::throw_usage_error("buffered_byte_receive_stream::receive_until(): the delimiter is "
                              "empty");
  receive_guard busy(receiving_, "buffered_byte_receive_stream::receive_until()");
  co_await checkpoint_if_cancelled();
  bool waited = false;
  std::size_t from = 0;  // where the delimiter may start, relative to start_
  for (;;) {
    std::string_view have = buffer();
    // The record (before the delimiter) may be at most max_bytes long.
    std::size_t index = have.find(delimiter, from);
    if (index != std::string_view::npos && index <= max_bytes) {
      std::string out(have.substr(0, index));
      start_ += index + delimiter.size();
      if (!waited) co_await cancel_shielded_checkpoint();
      co_return out;
    }
    if (index != std::string_view::npos || have.size() >= max_bytes + delimiter.size())
      throw delimiter_not_found("buffered_byte_receive_stream::receive_until(): no delimiter in "
                                "the first " + std::to_string(max_bytes) + " bytes");
    // A delimiter split across receives starts in the last size-1 bytes.
    from = have.size() >= delimiter.size() ? have.size() - delimiter.size() + 1 : 0;
    try {
      co_await fill();
    } catch (const end_of_stream&) {
      throw incomplete_read("buffered_byte_receive_stream::receive_until(): the stream ended "
                            "after " + std::to_string(buffer_.size() - start_) +
                            " bytes without the delimiter");
    }
    waited = true;
  }
}

std::any buffered_byte_receive_stream::find_attribute(const void* key) const {
  return inner_->lookup_attribute(key);
}

// text_stream

text_stream::text_stream(std::unique_ptr<byte_stream> inner) : inner_(std::move(inner)) {
  require_stream(inner_, "anyio::text_stream");
}

task<std::string> text_stream::receive() {
  for (;;) {
    // An invalid sequence found last time, behind text that was returned.
    if (!pending_.empty()) {
      utf8_scan held = scan_utf8(pending_);
      if (held.invalid && held.valid == 0)
        throw_bad_utf8("anyio::text_stream::receive()", offset_, "invalid UTF-8");
    }
    try {
      pending_ += co_await inner_->receive(fill_size);
    } catch (const end_of_stream&) {
      if (pending_.empty()) throw;
      pending_.clear();  // reported once; the next receive is end_of_stream
      throw_bad_utf8("anyio::text_stream::receive()", offset_,
                     "the stream ended inside a multi-byte UTF-8 sequence");
    }
    utf8_scan got = scan_utf8(pending_);
    if (got.valid != 0) {
      std::string out = pending_.substr(0, got.valid);
      pending_.erase(0, got.valid);
      offset_ += got.valid;
      co_return out;
    }
    if (got.invalid) throw_bad_utf8("anyio::text_stream::receive()", offset_, "invalid UTF-8");
    // Only the start of a multi-byte sequence so far: wait for the rest.
  }
}

task<> text_stream::send(std::string_view text) {
  utf8_scan scan = scan_utf8(text);
  if (scan.valid != text.size()) [[unlikely]]
    throw_bad_utf8("anyio::text_stream::send()", scan.valid,
                   scan.invalid ? "invalid UTF-8 in the text"
                                : "the text ends inside a multi-byte UTF-8 sequence");
  co_await inner_->send(text);
}

task<> text_stream::send_eof() { co_await inner_->send_eof(); }

task<> text_stream::aclose() {
  pending_.clear();
  co_await inner_->aclose();
}

std::any text_stream::find_attribute(const void* key) const {
  return inner_->lookup_attribute(key);
}

// stapled_byte_stream

stapled_byte_stream::stapled_byte_stream(std::unique_ptr<byte_send_stream> send,
                                         std::unique_ptr<byte_receive_stream> receive)
    : send_(std::move(send)), receive_(std::move(receive)) {
  require_stream(send_, "anyio::stapled_byte_stream (send stream)");
  require_stream(receive_, "anyio::stapled_byte_stream (receive stream)");
}

task<std::size_t> stapled_byte_stream::do_receive(std::span<std::byte> buffer) {
  co_return co_await receive_->receive(buffer);
}

task<> stapled_byte_stream::do_send(std::span<const std::byte> data) {
  co_await send_->send(data);
}

task<> stapled_byte_stream::do_send_eof() {
  // anyio: a send stream that can half-close does; any other is closed.
  if (auto* both = dynamic_cast<byte_stream*>(send_.get()))
    co_await both->send_eof();
  else
    co_await send_->aclose();
}

task<> stapled_byte_stream::do_aclose() {
  // Close the receive side even if closing the send side failed (or was
  // cancelled), then report the first failure.
  std::exception_ptr first;
  try {
    co_await send_->aclose();
  } catch (...) {
    first = std::current_exception();
  }
  co_await receive_->aclose();
  if (first) std::rethrow_exception(first);
}

std::any stapled_byte_stream::find_attribute(const void* key) const {
  // As anyio: the receive stream's attributes win over the send stream's.
  std::any v = receive_->lookup_attribute(key);
  if (v.has_value()) return v;
  return send_->lookup_attribute(key);
}

}  // namespace anyio
