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
    detail::blocking_awaiter<receive_op> op{{this, buffer}};
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
  struct release {
    byte_pipe& p;
    ~release() { p.writing = false; }
  } guard{out_};
  // Each round is a checkpoint; a send cancelled while parked keeps what it
  // delivered (the amount sent is unknown to the caller, as on a socket).
  for (;;) {
    detail::blocking_awaiter<send_op> op{{this, &data}};
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
