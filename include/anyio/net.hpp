// SPDX-License-Identifier: MIT
// Sockets (anyio's connect_tcp, create_tcp_listener, connect_unix,
// create_unix_listener, create_udp_socket, create_connected_udp_socket,
// getaddrinfo, getnameinfo, wait_readable/wait_writable). The same calls run
// on realio (Asio, real sockets) and on sim (a deterministic in-process
// network): the backend carries the operations out, the rest — name
// resolution order, happy eyeballs, connection_failed, listeners on several
// addresses — is shared code in runtime/net.cpp. No Asio or OS socket type
// appears here.
//
// Errors: connect_tcp that fails on every address is connection_failed
// listing each address and why; a port in use or a bad address is
// std::system_error naming the operation and the address; see streams.hpp
// for errors on an open stream.
#pragma once
#include <anyio/streams.hpp>
#include <anyio/tls.hpp>

#include <anyio/lowlevel.hpp>
#include <anyio/task_group.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace anyio {

enum class address_family : std::uint8_t { unspecified, ipv4, ipv6, unix_domain };
enum class socket_kind : std::uint8_t { any, stream, datagram };

/// An endpoint: an IP address and port, or a Unix socket's path in `host`.
struct socket_address {
  address_family family = address_family::unspecified;
  std::string host{};  ///< "127.0.0.1", "::1", or a path (unix_domain)
  std::uint16_t port = 0;
  /// "127.0.0.1:80", "[::1]:80", "unix:/tmp/s.sock".
  std::string to_string() const;
  friend bool operator==(const socket_address&, const socket_address&) = default;
};

/// anyio's SocketAttribute: on every socket stream, listener and UDP socket.
namespace socket_attribute {
inline constexpr typed_attribute<address_family> family{"socket_attribute::family"};
inline constexpr typed_attribute<socket_address> local_address{"socket_attribute::local_address"};
inline constexpr typed_attribute<std::uint16_t> local_port{"socket_attribute::local_port"};
inline constexpr typed_attribute<socket_address> remote_address{"socket_attribute::remote_address"};
inline constexpr typed_attribute<std::uint16_t> remote_port{"socket_attribute::remote_port"};
/// The OS descriptor on realio; on sim a simulated descriptor number that
/// wait_readable/wait_writable accept.
inline constexpr typed_attribute<int> raw_socket{"socket_attribute::raw_socket"};
}  // namespace socket_attribute

/// A connected TCP or Unix stream socket.
class socket_stream : public byte_stream {};

/// A listening TCP or Unix socket (or several, see multi_listener).
using socket_listener = listener<socket_stream>;

/// Listens on several listeners at once (anyio's MultiListener): accept()
/// returns the first connection from any; extra() answers from the first.
template <class Stream> class multi_listener final : public listener<Stream> {
 public:
  explicit multi_listener(std::vector<std::unique_ptr<listener<Stream>>> listeners);
  const std::vector<std::unique_ptr<listener<Stream>>>& listeners() const noexcept {
    return listeners_;
  }

 protected:
  task<std::unique_ptr<Stream>> do_accept() override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  std::vector<std::unique_ptr<listener<Stream>>> listeners_;
  // Connections accepted by more than one listener in the same race: handed
  // out by the next accept() calls, so none is lost.
  std::deque<std::unique_ptr<Stream>> pending_;
};

// -------------------------------------------------------------------- TCP

struct tcp_connect_options {
  std::string local_host{};  ///< bind to this address before connecting ("" = any)
  /// Happy eyeballs (RFC 8305): start the next address's attempt after this
  /// long, before the previous one failed.
  std::chrono::nanoseconds happy_eyeballs_delay = std::chrono::milliseconds(250);
  /// Wrap the connection in TLS (the result is then a tls_stream).
  std::optional<tls_context> tls{};
  std::string tls_hostname{};  ///< for SNI and verification; default: `host`
  bool tls_standard_compatible = true;
};

/// Connect to `host` (a name or an address) on `port`, trying every address
/// it resolves to. Checkpoint: yes. Cancellation: no socket is left behind.
/// Throws: connection_failed (every attempt failed; the message lists them),
/// std::system_error (resolution failed), cancelled.
task<std::unique_ptr<byte_stream>> connect_tcp(std::string host, std::uint16_t port,
                                              tcp_connect_options options);
// The overloads without options pass a named object, not a default argument:
// g++ 12 destroys a braced aggregate temporary (a `= {}` default argument,
// or `f({.x = 1})`) in a co_await operand twice. Callers on g++ 12 should
// likewise build options in a named variable.
inline task<std::unique_ptr<byte_stream>> connect_tcp(std::string host, std::uint16_t port) {
  tcp_connect_options options;
  return connect_tcp(std::move(host), port, std::move(options));
}

struct tcp_listener_options {
  std::string local_host{};    ///< "" = every interface (both families)
  std::uint16_t local_port = 0;  ///< 0 = a free port (read it with socket_attribute::local_port)
  address_family family = address_family::unspecified;
  int backlog = 65536;
  bool reuse_port = false;  ///< SO_REUSEPORT: several listeners share the port
};

/// A listener on every address `local_host` resolves to (one listener, or a
/// multi_listener over several). Throws std::system_error naming the address
/// (address in use, not available).
task<std::unique_ptr<socket_listener>> create_tcp_listener(tcp_listener_options options);
inline task<std::unique_ptr<socket_listener>> create_tcp_listener() {
  tcp_listener_options options;
  return create_tcp_listener(std::move(options));
}

// ------------------------------------------------------------------- Unix

task<std::unique_ptr<socket_stream>> connect_unix(std::string path);
/// `mode`: chmod the socket file (e.g. 0600). Throws std::system_error if the
/// path is in use.
task<std::unique_ptr<socket_listener>> create_unix_listener(std::string path,
                                                            std::optional<unsigned> mode = {},
                                                            int backlog = 65536);

// -------------------------------------------------------------------- UDP

/// A datagram and who sent it.
struct datagram {
  std::string data;
  socket_address sender;
};

/// An unconnected UDP socket (anyio's UDPSocket).
class udp_socket : public virtual typed_attribute_provider {
 public:
  virtual ~udp_socket() = default;
  /// The next datagram. Cancellation: nothing was consumed.
  task<datagram> receive() { return do_receive(); }
  /// Send one datagram. Throws std::system_error (message too long) for a
  /// datagram larger than the protocol allows.
  task<> send_to(std::string_view data, const socket_address& to) { return do_send_to(data, to); }
  task<> send_to(std::string_view data, std::string host, std::uint16_t port);
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<datagram> do_receive() = 0;
  virtual task<> do_send_to(std::string_view data, const socket_address& to) = 0;
  virtual task<> do_aclose() = 0;
};

/// A UDP socket with a fixed peer (anyio's ConnectedUDPSocket).
class connected_udp_socket : public virtual typed_attribute_provider {
 public:
  virtual ~connected_udp_socket() = default;
  task<std::string> receive() { return do_receive(); }
  task<> send(std::string_view data) { return do_send(data); }
  task<> aclose() { return do_aclose(); }

 protected:
  virtual task<std::string> do_receive() = 0;
  virtual task<> do_send(std::string_view data) = 0;
  virtual task<> do_aclose() = 0;
};

struct udp_options {
  std::string local_host{};  ///< "" = any address of `family`
  std::uint16_t local_port = 0;
  address_family family = address_family::unspecified;
  bool reuse_port = false;
};

task<std::unique_ptr<udp_socket>> create_udp_socket(udp_options options);
inline task<std::unique_ptr<udp_socket>> create_udp_socket() {
  udp_options options;
  return create_udp_socket(std::move(options));
}
task<std::unique_ptr<connected_udp_socket>> create_connected_udp_socket(
    std::string remote_host, std::uint16_t remote_port, udp_options options);
inline task<std::unique_ptr<connected_udp_socket>> create_connected_udp_socket(
    std::string remote_host, std::uint16_t remote_port) {
  udp_options options;
  return create_connected_udp_socket(std::move(remote_host), remote_port, std::move(options));
}

// ------------------------------------------------------------- resolution

struct addrinfo_entry {
  address_family family = address_family::unspecified;
  socket_kind kind = socket_kind::any;
  std::string canonical_name{};
  socket_address address{};
};

struct addrinfo_hints {
  address_family family = address_family::unspecified;
  socket_kind kind = socket_kind::any;
  bool numeric_host = false;
  bool passive = false;  ///< addresses to bind to ("" = the wildcard)
};

/// Resolve `host` (on sim: "localhost" and literal addresses, later the
/// simulated hosts). Throws std::system_error naming the host.
task<std::vector<addrinfo_entry>> getaddrinfo(std::string host, std::uint16_t port,
                                              addrinfo_hints hints = {});
/// (host, service) for an address.
task<std::pair<std::string, std::string>> getnameinfo(socket_address address, bool numeric = true);

/// Wait until a native descriptor is readable / writable (anyio 4's
/// wait_readable/wait_writable). Checkpoint: yes.
task<> wait_readable(int fd);
task<> wait_writable(int fd);

// ------------------------------------------------------- multi_listener

template <class Stream>
multi_listener<Stream>::multi_listener(std::vector<std::unique_ptr<listener<Stream>>> listeners)
    : listeners_(std::move(listeners)) {
  if (listeners_.empty())
    throw std::invalid_argument("anyio::multi_listener: needs at least one listener");
}

template <class Stream> task<std::unique_ptr<Stream>> multi_listener<Stream>::do_accept() {
  if (!pending_.empty()) {
    co_await checkpoint();
    auto s = std::move(pending_.front());
    pending_.pop_front();
    co_return s;
  }
  if (listeners_.size() == 1) co_return co_await listeners_.front()->accept();
  // Race one accept per listener; the first connection wins and the others'
  // accepts are cancelled (a cancelled accept loses no connection).
  std::unique_ptr<Stream> got;
  co_await with_task_group([&](task_group& tg) -> task<> {
    for (auto& l : listeners_)
      tg.start_soon([&, lp = l.get()]() -> task<> {
        auto s = co_await lp->accept();
        if (got) {
          pending_.push_back(std::move(s));
        } else {
          got = std::move(s);
          tg.cancel_scope().cancel();
        }
      });
    co_return;
  });
  co_return got;
}

template <class Stream> task<> multi_listener<Stream>::do_aclose() {
  pending_.clear();
  for (auto& l : listeners_) co_await l->aclose();
}

template <class Stream> std::any multi_listener<Stream>::find_attribute(const void* key) const {
  return listeners_.front()->lookup_attribute(key);
}

}  // namespace anyio
