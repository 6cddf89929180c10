// SPDX-License-Identifier: MIT
// Helpers for the net_* conformance tests (sockets on realio and on sim):
// a loopback listener and a connected pair, receiving an exact number of
// bytes, checking that an awaited call throws, counting this process's open
// descriptors (on sim nothing opens one, so "no descriptor leaked" holds
// there trivially and is checked for real on realio), raising the
// descriptor limit for load tests, and a per-test temporary directory for
// Unix sockets.
#pragma once
#include <anyio/net.hpp>
#include <anyio/testing/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

namespace net_test {

// Options are built in a named local, never as a braced temporary in the
// co_await's operand: g++ 12 destroys such a temporary twice.

/// A TCP listener with these options.
inline anyio::task<std::unique_ptr<anyio::socket_listener>> listener_on(std::string host,
                                                                        std::uint16_t port = 0,
                                                                        int backlog = 65536) {
  anyio::tcp_listener_options options;
  options.local_host = std::move(host);
  options.local_port = port;
  options.backlog = backlog;
  co_return co_await anyio::create_tcp_listener(options);
}

/// A listener on 127.0.0.1, a free port.
inline anyio::task<std::unique_ptr<anyio::socket_listener>> local_listener(int backlog = 65536) {
  co_return co_await listener_on("127.0.0.1", 0, backlog);
}

/// A UDP socket on 127.0.0.1, a free port.
inline anyio::task<std::unique_ptr<anyio::udp_socket>> local_udp() {
  anyio::udp_options options;
  options.local_host = "127.0.0.1";
  co_return co_await anyio::create_udp_socket(options);
}

inline std::uint16_t port_of(const anyio::typed_attribute_provider& p) {
  return p.extra(anyio::socket_attribute::local_port);
}

/// A connected client and server stream over loopback TCP.
struct stream_pair {
  std::unique_ptr<anyio::byte_stream> client;
  std::unique_ptr<anyio::socket_stream> server;
};
inline anyio::task<stream_pair> connected_pair() {
  auto listener = co_await local_listener();
  stream_pair p;
  p.client = co_await anyio::connect_tcp("127.0.0.1", port_of(*listener));
  p.server = co_await listener->accept();
  co_await listener->aclose();
  co_return p;
}

/// Exactly `n` bytes (pieces of any size); fails the test on an early end.
inline anyio::task<std::string> receive_exactly(anyio::byte_receive_stream& s, std::size_t n) {
  std::string out;
  while (out.size() < n) out += co_await s.receive(n - out.size());
  co_return out;
}

/// Everything until end_of_stream.
inline anyio::task<std::string> receive_all(anyio::byte_receive_stream& s) {
  std::string out;
  for (;;) {
    try {
      out += co_await s.receive();
    } catch (const anyio::end_of_stream&) {
      co_return out;
    }
  }
}

/// The what() of the E that awaiting f() throws, or nullopt if it returns.
template <class E, class F> anyio::task<std::optional<std::string>> message_of(F f) {
  try {
    (void)co_await f();
  } catch (const E& e) {
    co_return std::string(e.what());
  }
  co_return std::nullopt;
}

/// Open descriptors of this process.
inline std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// True when `s` is a real OS socket (realio): its raw_socket is a socket
/// bound to the port the attribute says. On sim, false.
inline bool is_os_socket(const anyio::typed_attribute_provider& s) {
  const int fd = s.extra(anyio::socket_attribute::raw_socket);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return port != 0 && port == s.extra(anyio::socket_attribute::local_port);
}

/// Raise the soft descriptor limit to at least `n` (up to the hard limit);
/// returns the soft limit in force afterwards.
inline rlim_t raise_fd_limit(rlim_t n) {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < n) {
    r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max >= n ? n : r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

/// A fresh directory for one test's Unix sockets, removed at the end.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("anyio-net-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace net_test
