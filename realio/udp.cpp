// SPDX-License-Identifier: MIT
// realio's UDP sockets, unconnected and connected (mirrors sim/udp.cpp).
// Receiving is one Asio async_receive(_from) with per-operation
// cancellation, so a cancelled receive took no datagram; sending tries a
// non-blocking sendto() first and parks only if the socket buffer is full.
// A datagram larger than the protocol allows is the kernel's EMSGSIZE, as a
// std::system_error naming the destination.
#include "net_support.hpp"

#include <anyio/lowlevel.hpp>

#include <asio/socket_base.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace anyio::realio {

namespace {

using udp = asio::ip::udp;
using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The largest UDP payload over IPv6 jumbograms aside; IPv4 allows 65507.
constexpr std::size_t max_datagram = 65536;

/// A non-blocking send of one datagram (to `to`, or to the connected peer if
/// null); parks until writable when the buffer is full.
struct datagram_step {
  udp::socket& socket;
  std::string_view data;
  const udp::endpoint* to;
  std::error_code& error;
  bool& done;
  asio_op& op;
  const char* what;
  const char* api = "anyio::udp_socket::send_to()";
  static constexpr detail::fast_path order = detail::fast_path::cancel_then_yield;

  bool try_now(detail::task_record&) noexcept {
    for (;;) {
      const ssize_t n =
          to != nullptr
              ? ::sendto(socket.native_handle(), data.data(), data.size(),
                         MSG_DONTWAIT | MSG_NOSIGNAL, to->data(),
                         static_cast<socklen_t>(to->size()))
              : ::send(socket.native_handle(), data.data(), data.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        done = true;
        return true;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      if (errno != EINTR) {
        error = std::error_code(errno, std::system_category());
        return true;
      }
    }
  }
  void wait(detail::task_record& t, std::coroutine_handle<> h) {
    auto start = [this] { socket.async_wait(udp::socket::wait_write, op_handler{&op}); };
    detail::io_park_op{op, start, what}.wait(t, h);
  }
  void result(detail::task_record&, bool waited) noexcept {
    if (waited) error = op.error();
  }
};

/// What both kinds of UDP socket share: the socket, closing, attributes.
class udp_base {
 public:
  explicit udp_base(udp::socket socket) : socket_(std::move(socket)) {}
  ~udp_base() { close_now(); }
  udp_base(const udp_base&) = delete;
  udp_base& operator=(const udp_base&) = delete;

 protected:
  void check_usable(bool busy, const char* verb) const {
    if (closed_)
      throw closed_resource_error(std::string("anyio: ") + verb + " on a closed UDP socket");
    if (busy)
      throw busy_resource_error(std::string("anyio: another task is already doing ") + verb +
                                " on this UDP socket");
  }

  void close_now() noexcept {
    if (closed_) return;
    closed_ = true;
    if (receive_op_ != nullptr) receive_op_->orphan();
    if (send_op_ != nullptr) send_op_->orphan();
    std::error_code ignored;
    socket_.close(ignored);
  }

  /// Receive one datagram into `buffer`; returns its size.
  task<std::size_t> receive_into(std::string& buffer, udp::endpoint* sender) {
    check_usable(receive_op_ != nullptr, "receive");
    asio_op op;
    op.signal = &receive_signal_;
    receive_op_ = &op;
    struct clear_on_exit {
      asio_op*& slot;
      ~clear_on_exit() { slot = nullptr; }
    } clear{receive_op_};
    if (receive_what_.empty()) receive_what_ = "receive on " + describe_local();
    buffer.resize(max_datagram);
    auto start = [&] {
      if (sender != nullptr)
        socket_.async_receive_from(asio::buffer(buffer.data(), buffer.size()), *sender,
                                   op_handler{&op});
      else
        socket_.async_receive(asio::buffer(buffer.data(), buffer.size()), op_handler{&op});
    };
    const std::error_code ec = co_await detail::run_io(op, start, receive_what_.c_str());
    if (ec) detail::throw_io_error(ec, receive_what_);
    co_return op.transferred();
  }

  task<> send_one(std::string_view data, const udp::endpoint* to, const std::string& what) {
    check_usable(send_op_ != nullptr, "send");
    asio_op op;
    op.signal = &send_signal_;
    send_op_ = &op;
    struct clear_on_exit {
      asio_op*& slot;
      ~clear_on_exit() { slot = nullptr; }
    } clear{send_op_};
    std::error_code error;
    bool done = false;
    while (!done) {
      co_await detail::blocking_awaiter<datagram_step>{
          socket_, data, to, error, done, op, what.c_str()};
      if (error) throw std::system_error(error, what);
    }
  }

  std::string describe_local() const {
    std::error_code ec;
    const auto local = socket_.local_endpoint(ec);
    return "udp " + (ec ? std::string("(unbound)") : to_socket_address(local).to_string());
  }

  std::any common_attribute(const void* key) const {
    namespace sa = socket_attribute;
    if (is_attribute(key, sa::raw_socket)) return closed_ ? -1 : socket_.native_handle();
    std::error_code ec;
    const auto local = socket_.local_endpoint(ec);
    if (ec) return {};
    if (is_attribute(key, sa::family)) return to_socket_address(local).family;
    if (is_attribute(key, sa::local_address)) return to_socket_address(local);
    if (is_attribute(key, sa::local_port)) return local.port();
    return {};
  }

  mutable udp::socket socket_;  // native_handle() is not const
  asio::cancellation_signal receive_signal_;
  asio::cancellation_signal send_signal_;
  asio_op* receive_op_ = nullptr;
  asio_op* send_op_ = nullptr;
  std::string receive_what_;
  bool closed_ = false;
};

class udp_socket_impl final : public udp_socket, private udp_base {
 public:
  using udp_base::udp_base;

 protected:
  task<datagram> do_receive() override {
    datagram d;
    udp::endpoint sender;
    const std::size_t n = co_await receive_into(d.data, &sender);
    d.data.resize(n);
    d.sender = to_socket_address(sender);
    co_return d;
  }
  task<> do_send_to(std::string_view data, const socket_address& to) override {
    const std::string what = "send to " + to.to_string();
    const auto endpoint = to_endpoint<udp::endpoint>(to, what);
    co_await send_one(data, &endpoint, what);
  }
  task<> do_aclose() override {
    close_now();
    co_await checkpoint();
  }
  std::any find_attribute(const void* key) const override { return common_attribute(key); }
};

class connected_udp_impl final : public connected_udp_socket, private udp_base {
 public:
  connected_udp_impl(udp::socket socket, const udp::endpoint& remote)
      : udp_base(std::move(socket)), remote_(remote),
        send_what_("send to " + to_socket_address(remote).to_string()) {}

 protected:
  task<std::string> do_receive() override {
    std::string data;
    const std::size_t n = co_await receive_into(data, nullptr);
    data.resize(n);
    co_return data;
  }
  task<> do_send(std::string_view data) override { co_await send_one(data, nullptr, send_what_); }
  task<> do_aclose() override {
    close_now();
    co_await checkpoint();
  }
  std::any find_attribute(const void* key) const override {
    namespace sa = socket_attribute;
    if (is_attribute(key, sa::remote_address)) return to_socket_address(remote_);
    if (is_attribute(key, sa::remote_port)) return remote_.port();
    return common_attribute(key);
  }

 private:
  udp::endpoint remote_;
  std::string send_what_;
};

udp::socket open_bound(asio::io_context& ctx, const socket_address& local, bool reuse_port) {
  const std::string what = "bind udp " + local.to_string();
  const auto endpoint = to_endpoint<udp::endpoint>(local, what);
  udp::socket socket(ctx);
  std::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) throw_system(ec, what);
  if (reuse_port) {
    socket.set_option(reuse_port_option(true), ec);
    if (ec) throw_system(ec, what + " (SO_REUSEPORT)");
  }
  socket.bind(endpoint, ec);
  if (ec) throw_system(ec, what);
  return socket;
}

}  // namespace

std::unique_ptr<udp_socket> realio_network::open_udp(socket_address local, bool reuse_port) {
  return std::make_unique<udp_socket_impl>(open_bound(ctx_, local, reuse_port));
}

std::unique_ptr<connected_udp_socket> realio_network::open_connected_udp(
    std::optional<socket_address> local, socket_address remote, bool reuse_port) {
  const std::string what = "connect udp to " + remote.to_string();
  const auto endpoint = to_endpoint<udp::endpoint>(remote, what);
  if (!local)
    local = socket_address{remote.family, remote.family == address_family::ipv6 ? "::" : "0.0.0.0",
                           0};
  udp::socket socket = open_bound(ctx_, *local, reuse_port);
  std::error_code ec;
  socket.connect(endpoint, ec);  // UDP: no packet, never blocks
  if (ec) throw_system(ec, what);
  return std::make_unique<connected_udp_impl>(std::move(socket), endpoint);
}

}  // namespace anyio::realio
