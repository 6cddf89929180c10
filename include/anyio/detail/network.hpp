// SPDX-License-Identifier: MIT
// The network a backend provides (realio/: Asio sockets; sim/: the simulated
// network), one connection attempt, listener or socket at a time. The public
// calls of net.hpp (resolution order, happy eyeballs, connection_failed,
// listeners on several addresses) are built on it once, in runtime/net.cpp.
// Only backends and runtime/ include this header.
#pragma once
#include <anyio/detail/io.hpp>
#include <anyio/net.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace anyio::detail {

/// The network a backend provides (realio: Asio sockets; sim: the simulated
/// network). runtime/net.cpp builds the public calls of net.hpp on it.
class network {
 public:
  virtual ~network() = default;
  virtual task<std::vector<addrinfo_entry>> resolve(std::string host, std::uint16_t port,
                                                    addrinfo_hints hints) = 0;
  virtual task<std::pair<std::string, std::string>> name_info(socket_address address,
                                                              bool numeric) = 0;
  /// One connection attempt to one address (TCP, or Unix when
  /// remote.family is unix_domain), bound to `local` first if given. Throws
  /// std::system_error with the OS's error (refused, unreachable), cancelled.
  /// Cancellation leaves no socket behind.
  virtual task<std::unique_ptr<socket_stream>> connect(socket_address remote,
                                                       std::optional<socket_address> local) = 0;
  /// A listener on one address (TCP, or Unix). Throws std::system_error
  /// naming the address (in use, not available).
  virtual std::unique_ptr<socket_listener> listen(socket_address local, int backlog,
                                                  bool reuse_port,
                                                  std::optional<unsigned> unix_mode) = 0;
  /// A UDP socket bound to `local` (and connected to `remote` if given).
  virtual std::unique_ptr<udp_socket> open_udp(socket_address local, bool reuse_port) = 0;
  virtual std::unique_ptr<connected_udp_socket> open_connected_udp(
      std::optional<socket_address> local, socket_address remote, bool reuse_port) = 0;
  virtual task<> wait_fd(int fd, bool writable) = 0;
};

/// The running backend's network. Throws usage_error outside anyio::run().
network& current_network(const char* api);

}  // namespace anyio::detail
