// SPDX-License-Identifier: MIT
// realio's detail::network (mirrors sim/network.cpp): the object the backend
// hands out, address conversions, and wait_fd (anyio's wait_readable /
// wait_writable) on a duplicate of the caller's descriptor, so that Asio's
// registration never takes the caller's descriptor over. Sockets are in
// tcp.cpp and udp.cpp, name resolution in resolve.cpp.
#include "net_support.hpp"

#include <asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <unistd.h>

namespace anyio::realio {

socket_address to_socket_address(const asio::local::stream_protocol::endpoint& e) {
  return {address_family::unix_domain, e.path(), 0};
}

asio::ip::address parse_ip(const socket_address& a, const std::string& what) {
  std::error_code ec;
  asio::ip::address address = asio::ip::make_address(a.host, ec);
  if (ec || (a.family == address_family::ipv4 && !address.is_v4()) ||
      (a.family == address_family::ipv6 && !address.is_v6()))
    throw_system(ec ? ec : std::make_error_code(std::errc::address_family_not_supported),
                            what + ": not an IP address: '" + a.host + "'");
  return address;
}

task<> realio_network::wait_fd(int fd, bool writable) {
  const std::string what =
      std::string(writable ? "wait_writable" : "wait_readable") + " on fd " + std::to_string(fd);
  const int copy = ::dup(fd);
  if (copy < 0) throw std::system_error(std::error_code(errno, std::system_category()), what);
  asio::posix::stream_descriptor descriptor(ctx_);
  std::error_code ec;
  descriptor.assign(copy, ec);
  if (ec) {
    ::close(copy);
    throw_system(ec, what);
  }
  own_signal_op op;
  auto start = [&] {
    descriptor.async_wait(writable ? asio::posix::stream_descriptor::wait_write
                                   : asio::posix::stream_descriptor::wait_read,
                          op_handler{&op});
  };
  ec = co_await detail::run_io(op, start, what.c_str());
  if (ec) detail::throw_io_error(ec, what);
}

}  // namespace anyio::realio
