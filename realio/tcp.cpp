// SPDX-License-Identifier: MIT
// realio's stream sockets and listeners, TCP and Unix (mirrors sim/tcp.cpp).
// How an operation runs (trio's guarantees at Asio's cost):
// - receive: one Asio async_receive straight into the caller's buffer
//   (Asio reads speculatively when data is likely, else waits for epoll: the
//   same system calls as raw Asio). Cancelling it withdraws the reactor
//   operation before it read anything; if it had read, the bytes are
//   delivered and the cancellation fires at the next checkpoint. So a
//   cancelled receive consumed nothing.
// - send: a non-blocking send() first (it nearly always takes everything),
//   then a schedule point; only when the socket buffer is full does the task
//   park in an async_send for the rest.
// - accept and connect: Asio's reactive operations with per-operation
//   cancellation: a cancelled accept took no connection; a cancelled connect
//   leaves its socket to the frame, which closes it.
// Closing a stream (or a listener) while another task is parked on it makes
// that task's operation finish with closed_resource. TCP_NODELAY is on, as in
// anyio and trio.
#include "net_support.hpp"

#include <anyio/lowlevel.hpp>

#include <asio/ip/v6_only.hpp>
#include <asio/socket_base.hpp>

#include <cerrno>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

namespace anyio::realio {

namespace {

using unix_proto = asio::local::stream_protocol;
using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

/// Sets a flag for the duration of a call (busy detection).
class busy_flag {
 public:
  explicit busy_flag(bool& flag) noexcept : flag_(flag) { flag_ = true; }
  ~busy_flag() { flag_ = false; }
  busy_flag(const busy_flag&) = delete;
  busy_flag& operator=(const busy_flag&) = delete;

 private:
  bool& flag_;
};

/// Publishes the operation a task is parked on, so close() can mark it.
class op_slot {
 public:
  op_slot(asio_op*& slot, asio_op& op) noexcept : slot_(slot) { slot_ = &op; }
  ~op_slot() { slot_ = nullptr; }
  op_slot(const op_slot&) = delete;
  op_slot& operator=(const op_slot&) = delete;

 private:
  asio_op*& slot_;
};

/// Sends what the kernel takes at once; parks in async_send for the rest.
/// The fast path is trio's: cancel point, the send, a schedule point.
template <class Socket> struct send_step {
  Socket& socket;
  const std::byte* data;
  std::size_t size;
  std::size_t& sent;
  std::error_code& error;
  asio_op& op;
  const char* what;
  const char* api = "anyio::byte_send_stream::send()";
  static constexpr detail::fast_path order = detail::fast_path::cancel_then_yield;

  bool try_now(detail::task_record&) noexcept {
    while (sent < size) {
      const ssize_t n =
          ::send(socket.native_handle(), data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return false;
      } else if (errno != EINTR) {
        error = std::error_code(errno, std::system_category());
        return true;
      }
    }
    return true;
  }
  void wait(detail::task_record& t, std::coroutine_handle<> h) {
    auto start = [this] {
      socket.async_send(asio::const_buffer(data + sent, size - sent), op_handler{&op});
    };
    detail::io_park_op{op, start, what}.wait(t, h);
  }
  void result(detail::task_record&, bool waited) noexcept {
    if (!waited) return;
    error = op.error();
    sent += op.transferred();
  }
};

template <class Protocol> constexpr bool is_tcp = std::is_same_v<Protocol, asio::ip::tcp>;

template <class Protocol> std::string describe(const typename Protocol::endpoint& e) {
  if constexpr (is_tcp<Protocol>)
    return "tcp " + to_socket_address(e).to_string();
  else
    return "unix " + (e.path().empty() ? std::string("(unnamed)") : e.path());
}

template <class Protocol> class stream_impl final : public socket_stream {
 public:
  using socket_type = typename Protocol::socket;
  using endpoint_type = typename Protocol::endpoint;

  stream_impl(socket_type socket, const endpoint_type& remote)
      : socket_(std::move(socket)), remote_(remote) {}

  ~stream_impl() override { orphan_ops(); }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override {
    check_usable(receiving_, "receive");
    if (buffer.empty())
      throw std::invalid_argument("anyio::byte_receive_stream::receive(): empty buffer");
    busy_flag busy(receiving_);
    const char* what = receive_what();
    if (eof_) {
      // No more can come after the peer's FIN, and Asio would not look again
      // (it waits for an edge that never comes): answer from memory.
      co_await checkpoint();
      throw end_of_stream(what);
    }
    asio_op op;
    op.signal = &receive_signal_;
    op_slot parked(receive_op_, op);
    auto start = [&] {
      socket_.async_receive(asio::mutable_buffer(buffer.data(), buffer.size()), op_handler{&op});
    };
    const std::error_code ec = co_await detail::run_io(op, start, what);
    if (ec) {
      if (ec == asio::error::eof) {
        eof_ = true;
        throw end_of_stream(what);
      }
      detail::throw_io_error(ec, what);
    }
    co_return op.transferred();
  }

  task<> do_send(std::span<const std::byte> data) override {
    check_usable(sending_, "send");
    busy_flag busy(sending_);
    asio_op op;
    op.signal = &send_signal_;
    op_slot parked(send_op_, op);
    const char* what = send_what();
    std::size_t sent = 0;
    std::error_code error;
    do {
      co_await detail::blocking_awaiter<send_step<socket_type>>{
          socket_, data.data(), data.size(), sent, error, op, what};
      if (error) detail::throw_io_error(error, what);
    } while (sent < data.size());
  }

  task<> do_send_eof() override {
    check_usable(sending_, "send_eof");
    std::error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
    // ENOTCONN: the peer already reset the connection.
    if (ec && ec != asio::error::not_connected) detail::throw_io_error(os_error(ec), send_what());
    co_await checkpoint();
  }

  task<> do_aclose() override {
    close_now();
    co_await checkpoint();
  }

  std::any find_attribute(const void* key) const override {
    namespace sa = socket_attribute;
    if (is_attribute(key, sa::raw_socket)) return closed_ ? -1 : socket_.native_handle();
    if constexpr (is_tcp<Protocol>) {
      if (is_attribute(key, sa::family)) return to_socket_address(remote_).family;
      if (is_attribute(key, sa::remote_address)) return to_socket_address(remote_);
      if (is_attribute(key, sa::remote_port)) return remote_.port();
      if (is_attribute(key, sa::local_address) || is_attribute(key, sa::local_port)) {
        std::error_code ec;
        const auto local = socket_.local_endpoint(ec);
        if (ec) return {};
        if (is_attribute(key, sa::local_port)) return local.port();
        return to_socket_address(local);
      }
    } else {
      if (is_attribute(key, sa::family)) return address_family::unix_domain;
      if (is_attribute(key, sa::remote_address)) return to_socket_address(remote_);
      if (is_attribute(key, sa::local_address)) {
        std::error_code ec;
        const auto local = socket_.local_endpoint(ec);
        if (ec) return {};
        return to_socket_address(local);
      }
    }
    return {};
  }

 private:
  void check_usable(bool busy, const char* verb) const {
    if (closed_)
      throw closed_resource_error(std::string("anyio: ") + verb + " on a closed stream");
    if (busy)
      throw busy_resource_error(std::string("anyio: another task is already doing ") + verb +
                                " on this stream");
  }

  const char* receive_what() {
    if (receive_what_.empty()) receive_what_ = "receive from " + describe<Protocol>(remote_);
    return receive_what_.c_str();
  }
  const char* send_what() {
    if (send_what_.empty()) send_what_ = "send to " + describe<Protocol>(remote_);
    return send_what_.c_str();
  }

  void orphan_ops() noexcept {
    if (receive_op_ != nullptr) receive_op_->orphan();
    if (send_op_ != nullptr) send_op_->orphan();
  }

  void close_now() noexcept {
    if (closed_) return;
    closed_ = true;
    orphan_ops();  // their waits end with closed_resource
    std::error_code ignored;
    socket_.close(ignored);
  }

  mutable socket_type socket_;  // native_handle() is not const
  endpoint_type remote_;
  asio::cancellation_signal receive_signal_;
  asio::cancellation_signal send_signal_;
  asio_op* receive_op_ = nullptr;
  asio_op* send_op_ = nullptr;
  std::string receive_what_;
  std::string send_what_;
  bool receiving_ = false;
  bool sending_ = false;
  bool closed_ = false;
  bool eof_ = false;  // the peer's FIN was read
};

template <class Protocol> class listener_impl final : public socket_listener {
 public:
  using acceptor_type = typename Protocol::acceptor;

  listener_impl(acceptor_type acceptor, std::string what)
      : acceptor_(std::move(acceptor)), what_(std::move(what)) {}
  ~listener_impl() override { close_now(); }

 protected:
  task<std::unique_ptr<socket_stream>> do_accept() override {
    if (closed_) throw closed_resource_error("anyio: accept on a closed listener");
    own_signal_op op;
    typename Protocol::socket peer(acceptor_.get_executor());
    typename Protocol::endpoint peer_endpoint;
    parked_.push_back(&op);
    struct unpark {
      std::vector<asio_op*>& list;
      asio_op* op;
      ~unpark() { std::erase(list, op); }
    } unpark_on_exit{parked_, &op};
    auto start = [&] { acceptor_.async_accept(peer, peer_endpoint, op_handler{&op}); };
    const std::error_code ec = co_await detail::run_io(op, start, what_.c_str());
    if (ec) detail::throw_io_error(ec, what_);
    if constexpr (is_tcp<Protocol>) {
      std::error_code ignored;
      peer.set_option(asio::ip::tcp::no_delay(true), ignored);
      co_return make_tcp_stream(std::move(peer), peer_endpoint);
    } else {
      co_return make_unix_stream(std::move(peer), peer_endpoint.path());
    }
  }

  task<> do_aclose() override {
    close_now();
    co_await checkpoint();
  }

  std::any find_attribute(const void* key) const override {
    namespace sa = socket_attribute;
    if (is_attribute(key, sa::raw_socket)) return closed_ ? -1 : acceptor_.native_handle();
    std::error_code ec;
    const auto local = acceptor_.local_endpoint(ec);
    if (ec) return {};
    if constexpr (is_tcp<Protocol>) {
      if (is_attribute(key, sa::family)) return to_socket_address(local).family;
      if (is_attribute(key, sa::local_address)) return to_socket_address(local);
      if (is_attribute(key, sa::local_port)) return local.port();
    } else {
      if (is_attribute(key, sa::family)) return address_family::unix_domain;
      if (is_attribute(key, sa::local_address)) return to_socket_address(local);
    }
    return {};
  }

 private:
  void close_now() noexcept {
    if (closed_) return;
    closed_ = true;
    for (asio_op* op : parked_) op->orphan();
    std::error_code ignored;
    acceptor_.close(ignored);
  }

  mutable acceptor_type acceptor_;  // native_handle() is not const
  std::string what_;
  std::vector<asio_op*> parked_;  // accepts in progress (several tasks may accept)
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<socket_stream> make_tcp_stream(asio::ip::tcp::socket socket,
                                               const asio::ip::tcp::endpoint& remote) {
  return std::make_unique<stream_impl<asio::ip::tcp>>(std::move(socket), remote);
}

std::unique_ptr<socket_stream> make_unix_stream(unix_proto::socket socket,
                                                std::string remote_path) {
  return std::make_unique<stream_impl<unix_proto>>(std::move(socket),
                                                   unix_proto::endpoint(remote_path));
}

task<std::unique_ptr<socket_stream>> realio_network::connect(socket_address remote,
                                                             std::optional<socket_address> local) {
  if (remote.family == address_family::unix_domain) return connect_unix(std::move(remote));
  return connect_tcp(std::move(remote), std::move(local));
}

task<std::unique_ptr<socket_stream>> realio_network::connect_tcp(
    socket_address remote, std::optional<socket_address> local) {
  const std::string what = "connect to " + remote.to_string();
  const auto endpoint = to_endpoint<asio::ip::tcp::endpoint>(remote, what);
  asio::ip::tcp::socket socket(ctx_);
  std::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) throw_system(ec, what);
  if (local) {
    const std::string bind_what = what + " from " + local->to_string();
    socket.bind(to_endpoint<asio::ip::tcp::endpoint>(*local, bind_what), ec);
    if (ec) throw_system(ec, bind_what);
  }
  // Cancelled or failed: `socket` goes with this frame, so nothing is left.
  own_signal_op op;
  auto start = [&] { socket.async_connect(endpoint, op_handler{&op}); };
  ec = co_await detail::run_io(op, start, what.c_str());
  if (ec) throw_system(ec, what);
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return make_tcp_stream(std::move(socket), endpoint);
}

task<std::unique_ptr<socket_stream>> realio_network::connect_unix(socket_address remote) {
  const std::string what = "connect to unix:" + remote.host;
  if (remote.host.size() >= sizeof(sockaddr_un{}.sun_path))
    throw_system(std::make_error_code(std::errc::filename_too_long), what);
  const unix_proto::endpoint endpoint(remote.host);
  unix_proto::socket socket(ctx_);
  std::error_code ec;
  socket.open(unix_proto(), ec);
  if (ec) throw_system(ec, what);
  own_signal_op op;
  auto start = [&] { socket.async_connect(endpoint, op_handler{&op}); };
  ec = co_await detail::run_io(op, start, what.c_str());
  if (ec) throw_system(ec, what);
  co_return make_unix_stream(std::move(socket), remote.host);
}

std::unique_ptr<socket_listener> realio_network::listen(socket_address local, int backlog,
                                                        bool reuse_port,
                                                        std::optional<unsigned> unix_mode) {
  if (local.family == address_family::unix_domain) return listen_unix(local, backlog, unix_mode);
  return listen_tcp(local, backlog, reuse_port);
}

std::unique_ptr<socket_listener> realio_network::listen_tcp(const socket_address& local,
                                                            int backlog, bool reuse_port) {
  const std::string what = "listen on " + local.to_string();
  const auto endpoint = to_endpoint<asio::ip::tcp::endpoint>(local, what);
  asio::ip::tcp::acceptor acceptor(ctx_);
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) throw_system(ec, what);
  // The IPv6 wildcard must not take the IPv4 port too: create_tcp_listener
  // binds both families' wildcards on one port.
  if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (reuse_port) {
    acceptor.set_option(reuse_port_option(true), ec);
    if (ec) throw_system(ec, what + " (SO_REUSEPORT)");
  }
  acceptor.bind(endpoint, ec);
  if (ec) throw_system(ec, what);
  acceptor.listen(backlog, ec);
  if (ec) throw_system(ec, what);
  const auto bound = acceptor.local_endpoint(ec);
  std::string accept_what = "accept on tcp " + to_socket_address(ec ? endpoint : bound).to_string();
  return std::make_unique<listener_impl<asio::ip::tcp>>(std::move(acceptor),
                                                        std::move(accept_what));
}

std::unique_ptr<socket_listener> realio_network::listen_unix(const socket_address& local,
                                                             int backlog,
                                                             std::optional<unsigned> mode) {
  const std::string& path = local.host;
  const std::string what = "listen on unix:" + path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw_system(std::make_error_code(path.empty() ? std::errc::invalid_argument
                                                   : std::errc::filename_too_long),
                 what);
  const unix_proto::endpoint endpoint(path);
  unix_proto::acceptor acceptor(ctx_);
  std::error_code ec;
  acceptor.open(unix_proto(), ec);
  if (ec) throw_system(ec, what);
  acceptor.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    // A socket file left by a listener that is gone is reused (as anyio
    // does); one that a listener still answers on, or any other file, is not.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
      throw_system(ec, what + ": the path exists and is not a socket");
    unix_proto::socket probe(ctx_);
    std::error_code probe_ec;
    probe.open(unix_proto(), probe_ec);
    if (!probe_ec) probe.non_blocking(true, probe_ec);
    if (!probe_ec) probe.connect(endpoint, probe_ec);
    if (probe_ec != asio::error::connection_refused)
      throw_system(ec, what + ": the path is in use by a listening socket");
    ::unlink(path.c_str());
    ec.clear();
    acceptor.bind(endpoint, ec);
  }
  if (ec) throw_system(ec, what);
  if (mode && ::chmod(path.c_str(), static_cast<mode_t>(*mode)) != 0)
    throw_system(std::error_code(errno, std::system_category()), what + " (chmod)");
  acceptor.listen(backlog, ec);
  if (ec) throw_system(ec, what);
  return std::make_unique<listener_impl<unix_proto>>(std::move(acceptor), "accept on unix:" + path);
}

}  // namespace anyio::realio
