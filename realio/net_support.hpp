// SPDX-License-Identifier: MIT
// What realio's socket files (network.cpp, tcp.cpp, udp.cpp, resolve.cpp)
// share: the network object the backend hands out, the Asio operation that a
// parked task waits on, and address conversions. An operation lives in the
// awaiting coroutine's frame; Asio builds its own bookkeeping for it in a
// buffer inside that operation (no allocation per operation), and cancels it
// per operation through a cancellation slot, so a cancelled receive or accept
// is withdrawn from the reactor before it touched any data. Private to
// realio/: Asio never reaches include/.
#pragma once
#include <anyio/detail/network.hpp>
#include <anyio/errors.hpp>
#include <anyio/net.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <system_error>

namespace anyio::realio {

/// Asio's OS errors carry Asio's own "asio.system" category, which does not
/// compare equal to std::errc values; the rest of anyio (throw_io_error,
/// callers testing e.code() == std::errc::...) expects the standard one.
inline std::error_code os_error(const std::error_code& ec) noexcept {
  if (ec && ec.category() == asio::error::get_system_category())
    return {ec.value(), std::system_category()};
  return ec;
}

/// std::system_error for `ec` (normalised), naming `what`.
[[noreturn]] inline void throw_system(const std::error_code& ec, const std::string& what) {
  throw std::system_error(os_error(ec), what);
}

/// One socket operation a task is parked on. `signal` is where cancel()
/// emits: the socket's per-direction signal (receive, send: one at a time
/// per stream, so the slot's memory is reused), or the operation's own.
class asio_op : public detail::io_operation {
 public:
  asio_op() noexcept = default;
  ~asio_op() = default;

  asio::cancellation_signal* signal = nullptr;
  /// Set by the owning socket's close(): an operation_aborted completion
  /// then means closed_resource, not a cancellation.
  bool closed = false;

  /// The handler calls this (from the backend's run_one/poll).
  void finish(const std::error_code& ec, std::size_t n) noexcept {
    if (closed && ec == asio::error::operation_aborted && !cancel_requested())
      complete(make_error_code(errc::closed_resource), n);
    else
      complete(os_error(ec), n);
  }

  /// The owning socket is closing or going away: its signal is no longer
  /// there to emit, and the abort that follows is a close.
  void orphan() noexcept {
    closed = true;
    signal = nullptr;
  }

  // Asio's reactor operation for this wait is built here.
  static constexpr std::size_t storage_size = 320;
  alignas(std::max_align_t) unsigned char storage[storage_size];
  bool storage_used = false;

 protected:
  bool cancel() noexcept override {
    // The reactor withdraws the wait if it has not run; the handler then
    // runs with operation_aborted. If it already ran, its result comes.
    if (signal != nullptr) signal->emit(asio::cancellation_type::all);
    return false;
  }
};

/// The allocator Asio uses for an operation's bookkeeping: the buffer in the
/// asio_op (the frame outlives the operation: the task waits for it), or the
/// heap if that is taken or too small.
template <class T> struct op_allocator {
  using value_type = T;
  asio_op* op;
  explicit op_allocator(asio_op* o) noexcept : op(o) {}
  template <class U> op_allocator(const op_allocator<U>& other) noexcept : op(other.op) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (!op->storage_used && bytes <= asio_op::storage_size &&
        alignof(T) <= alignof(std::max_align_t)) {
      op->storage_used = true;
      return reinterpret_cast<T*>(op->storage);
    }
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (static_cast<void*>(p) == static_cast<void*>(op->storage)) {
      op->storage_used = false;
      return;
    }
    ::operator delete(p);
  }
  template <class U>
  friend bool operator==(const op_allocator& a, const op_allocator<U>& b) noexcept {
    return a.op == b.op;
  }
};

/// Completion handler for an asio_op: small (one pointer), with the op's
/// allocator and cancellation slot.
struct op_handler {
  asio_op* op;
  using allocator_type = op_allocator<void>;
  allocator_type get_allocator() const noexcept { return allocator_type(op); }
  using cancellation_slot_type = asio::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept {
    return op->signal != nullptr ? op->signal->slot() : asio::cancellation_slot();
  }
  void operator()(const std::error_code& ec, std::size_t n) const noexcept { op->finish(ec, n); }
  void operator()(const std::error_code& ec) const noexcept { op->finish(ec, 0); }
};

/// An operation with a signal of its own (accept, connect, wait_fd: several
/// may run at once on one object, so they cannot share one).
class own_signal_op : public asio_op {
 public:
  own_signal_op() noexcept { signal = &own; }
  asio::cancellation_signal own;
};

// ------------------------------------------------------------- addresses

template <class Endpoint> socket_address to_socket_address(const Endpoint& e) {
  const asio::ip::address a = e.address();
  return {a.is_v4() ? address_family::ipv4 : address_family::ipv6, a.to_string(), e.port()};
}
socket_address to_socket_address(const asio::local::stream_protocol::endpoint& e);

/// The IP address in `a`; std::system_error naming `what` and the address if
/// it is not one.
asio::ip::address parse_ip(const socket_address& a, const std::string& what);

template <class Endpoint> Endpoint to_endpoint(const socket_address& a, const std::string& what) {
  return Endpoint(parse_ip(a, what), a.port);
}

/// The stream returned by connect and accept (tcp.cpp).
std::unique_ptr<socket_stream> make_tcp_stream(asio::ip::tcp::socket socket,
                                               const asio::ip::tcp::endpoint& remote);
std::unique_ptr<socket_stream> make_unix_stream(asio::local::stream_protocol::socket socket,
                                                std::string remote_path);

// ---------------------------------------------------------------- network

class realio_network final : public detail::network {
 public:
  explicit realio_network(asio::io_context& ctx) noexcept : ctx_(ctx) {}

  task<std::vector<addrinfo_entry>> resolve(std::string host, std::uint16_t port,
                                            addrinfo_hints hints) override;
  task<std::pair<std::string, std::string>> name_info(socket_address address,
                                                      bool numeric) override;
  task<std::unique_ptr<socket_stream>> connect(socket_address remote,
                                               std::optional<socket_address> local) override;
  std::unique_ptr<socket_listener> listen(socket_address local, int backlog, bool reuse_port,
                                          std::optional<unsigned> unix_mode) override;
  std::unique_ptr<udp_socket> open_udp(socket_address local, bool reuse_port) override;
  std::unique_ptr<connected_udp_socket> open_connected_udp(std::optional<socket_address> local,
                                                           socket_address remote,
                                                           bool reuse_port) override;
  task<> wait_fd(int fd, bool writable) override;

  asio::io_context& context() noexcept { return ctx_; }

 private:
  task<std::unique_ptr<socket_stream>> connect_tcp(socket_address remote,
                                                   std::optional<socket_address> local);
  task<std::unique_ptr<socket_stream>> connect_unix(socket_address remote);
  std::unique_ptr<socket_listener> listen_tcp(const socket_address& local, int backlog,
                                              bool reuse_port);
  std::unique_ptr<socket_listener> listen_unix(const socket_address& local, int backlog,
                                               std::optional<unsigned> mode);

  asio::io_context& ctx_;
};

}  // namespace anyio::realio
