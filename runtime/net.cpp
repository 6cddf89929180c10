// SPDX-License-Identifier: MIT
// The public socket calls of net.hpp, written once over detail::network so
// that realio and sim differ only in how one attempt, one listener or one
// datagram is carried out. Here: the order addresses are tried in (RFC 8305
// interleaving of families), happy eyeballs (trio's open_tcp_stream: start
// the next attempt after a delay or as soon as the previous one failed; the
// first to connect wins and the rest are cancelled, so no socket is left
// behind), connection_failed listing every attempt, and listeners on every
// address a host resolves to.
#include <anyio/cancel_scope.hpp>
#include <anyio/detail/network.hpp>
#include <anyio/net.hpp>
#include <anyio/sync.hpp>
#include <anyio/task_group.hpp>

#include <cerrno>
#include <system_error>

namespace anyio {

std::string socket_address::to_string() const {
  switch (family) {
    case address_family::ipv6: return "[" + host + "]:" + std::to_string(port);
    case address_family::unix_domain: return "unix:" + host;
    default: return host + ":" + std::to_string(port);
  }
}

namespace {

detail::network& net(const char* api) { return detail::current_network(api); }

/// RFC 8305 section 4: alternate families, starting with the first one
/// resolved; duplicates dropped.
std::vector<socket_address> interleave(const std::vector<addrinfo_entry>& entries) {
  std::vector<socket_address> first, other, out;
  const address_family lead = entries.empty() ? address_family::unspecified : entries[0].family;
  for (const addrinfo_entry& e : entries) {
    bool seen = false;
    for (const auto& a : first) seen = seen || a == e.address;
    for (const auto& a : other) seen = seen || a == e.address;
    if (seen) continue;
    (e.family == lead ? first : other).push_back(e.address);
  }
  for (std::size_t i = 0; i < first.size() || i < other.size(); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < other.size()) out.push_back(other[i]);
  }
  return out;
}

std::string describe_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

task<std::optional<socket_address>> resolve_local(const std::string& host, address_family family,
                                                  socket_kind kind, const char* api) {
  if (host.empty()) co_return std::nullopt;
  auto entries = co_await net(api).resolve(host, 0, {family, kind, true, true});
  if (entries.empty())
    throw std::system_error(std::make_error_code(std::errc::address_not_available),
                            std::string(api) + ": local address " + host);
  co_return entries.front().address;
}

}  // namespace

task<std::vector<addrinfo_entry>> getaddrinfo(std::string host, std::uint16_t port,
                                              addrinfo_hints hints) {
  co_return co_await net("anyio::getaddrinfo()").resolve(std::move(host), port, hints);
}

task<std::pair<std::string, std::string>> getnameinfo(socket_address address, bool numeric) {
  co_return co_await net("anyio::getnameinfo()").name_info(std::move(address), numeric);
}

task<> wait_readable(int fd) { co_await net("anyio::wait_readable()").wait_fd(fd, false); }
task<> wait_writable(int fd) { co_await net("anyio::wait_writable()").wait_fd(fd, true); }

task<std::unique_ptr<byte_stream>> connect_tcp(std::string host, std::uint16_t port,
                                              tcp_connect_options options) {
  static constexpr const char* api = "anyio::connect_tcp()";
  detail::network& n = net(api);
  auto entries = co_await n.resolve(host, port, {address_family::unspecified, socket_kind::stream});
  std::vector<socket_address> targets = interleave(entries);
  if (targets.empty())
    throw std::system_error(std::make_error_code(std::errc::address_not_available),
                            std::string(api) + ": " + host + " resolved to no address");
  std::optional<socket_address> local =
      co_await resolve_local(options.local_host, address_family::unspecified,
                             socket_kind::stream, api);

  std::unique_ptr<socket_stream> winner;
  std::vector<std::exception_ptr> failures(targets.size());
  if (targets.size() == 1) {
    try {
      winner = co_await n.connect(targets[0], local);
    } catch (const std::system_error&) {
      failures[0] = std::current_exception();
    }
  } else {
    // One event per attempt, outliving the group: an attempt still running
    // when the next one starts signals its failure after the loop moved on.
    std::vector<event> failed(targets.size());
    co_await with_task_group([&](task_group& tg) -> task<> {
      for (std::size_t i = 0; i < targets.size() && !winner; ++i) {
        tg.start_soon([&, i]() -> task<> {
          try {
            auto s = co_await n.connect(targets[i], local);
            if (winner) {
              co_await s->aclose();  // lost a race with an earlier attempt
            } else {
              winner = std::move(s);
              tg.cancel_scope().cancel();
            }
          } catch (const std::system_error&) {
            failures[i] = std::current_exception();
            failed[i].set();
          }
        });
        // The next attempt starts after the delay, or at once when this one
        // fails; the group then waits for every attempt still running.
        if (i + 1 < targets.size()) {
          auto scope = move_on_after(options.happy_eyeballs_delay);
          co_await scope.run([&]() -> task<> { co_await failed[i].wait(); });
        }
      }
    });
  }
  if (!winner) {
    std::string what = std::string(api) + ": could not connect to " + host + " port " +
                       std::to_string(port) + " (" + std::to_string(targets.size()) +
                       (targets.size() == 1 ? " address" : " addresses") + " tried)";
    for (std::size_t i = 0; i < targets.size(); ++i)
      what += "; " + targets[i].to_string() + ": " +
              (failures[i] ? describe_error(failures[i]) : std::string("cancelled"));
    throw connection_failed(what);
  }
  if (options.tls) {
    // Named, not a braced temporary in the co_await: g++ 12 destroys those twice.
    tls_wrap_options wrap{.hostname = options.tls_hostname.empty() ? host : options.tls_hostname,
                          .standard_compatible = options.tls_standard_compatible};
    co_return co_await tls_stream::wrap(std::move(winner), *options.tls, wrap);
  }
  co_return std::unique_ptr<byte_stream>(std::move(winner));
}

task<std::unique_ptr<socket_listener>> create_tcp_listener(tcp_listener_options options) {
  static constexpr const char* api = "anyio::create_tcp_listener()";
  detail::network& n = net(api);
  std::vector<socket_address> binds;
  if (options.local_host.empty()) {
    // Every interface: both families' wildcards, as anyio does.
    if (options.family != address_family::ipv6)
      binds.push_back({address_family::ipv4, "0.0.0.0", options.local_port});
    if (options.family != address_family::ipv4)
      binds.push_back({address_family::ipv6, "::", options.local_port});
  } else {
    auto entries = co_await n.resolve(options.local_host, options.local_port,
                                      {options.family, socket_kind::stream, false, true});
    binds = interleave(entries);
    if (binds.empty())
      throw std::system_error(std::make_error_code(std::errc::address_not_available),
                              std::string(api) + ": " + options.local_host +
                                  " resolved to no address");
  }
  std::vector<std::unique_ptr<socket_listener>> listeners;
  std::uint16_t port = options.local_port;
  for (std::size_t i = 0; i < binds.size(); ++i) {
    socket_address a = binds[i];
    if (a.port == 0) a.port = port;  // every family on the port the first one got
    try {
      listeners.push_back(n.listen(a, options.backlog, options.reuse_port, std::nullopt));
    } catch (const std::system_error& e) {
      // A wildcard of a family this machine lacks (no IPv6) is skipped; an
      // explicit address that fails is the caller's error.
      const bool missing_family = e.code() == std::errc::address_family_not_supported ||
                                  e.code() == std::errc::address_not_available;
      if (!(options.local_host.empty() && missing_family && (i > 0 || binds.size() > 1))) throw;
      continue;
    }
    if (port == 0) port = listeners.back()->extra(socket_attribute::local_port);
  }
  if (listeners.size() == 1) co_return std::move(listeners.front());
  co_return std::make_unique<multi_listener<socket_stream>>(std::move(listeners));
}

task<std::unique_ptr<socket_stream>> connect_unix(std::string path) {
  static constexpr const char* api = "anyio::connect_unix()";
  try {
    // A named address: g++ 12 copies a braced aggregate temporary that
    // lives across a co_await bitwise (its string then frees a bad pointer).
    socket_address remote{address_family::unix_domain, path, 0};
    co_return co_await net(api).connect(remote, std::nullopt);
  } catch (const std::system_error& e) {
    if (e.code().category() == error_category()) throw;
    throw std::system_error(e.code(), std::string(api) + ": connect to unix:" + path);
  }
}

task<std::unique_ptr<socket_listener>> create_unix_listener(std::string path,
                                                            std::optional<unsigned> mode,
                                                            int backlog) {
  co_return net("anyio::create_unix_listener()")
      .listen({address_family::unix_domain, std::move(path), 0}, backlog, false, mode);
}

task<std::unique_ptr<udp_socket>> create_udp_socket(udp_options options) {
  static constexpr const char* api = "anyio::create_udp_socket()";
  std::optional<socket_address> local =
      co_await resolve_local(options.local_host, options.family, socket_kind::datagram, api);
  socket_address bind = local ? *local
                              : socket_address{options.family == address_family::ipv6
                                                   ? address_family::ipv6
                                                   : address_family::ipv4,
                                               options.family == address_family::ipv6 ? "::"
                                                                                       : "0.0.0.0",
                                               0};
  bind.port = options.local_port;
  co_return net(api).open_udp(bind, options.reuse_port);
}

task<std::unique_ptr<connected_udp_socket>> create_connected_udp_socket(std::string remote_host,
                                                                        std::uint16_t remote_port,
                                                                        udp_options options) {
  static constexpr const char* api = "anyio::create_connected_udp_socket()";
  detail::network& n = net(api);
  auto entries = co_await n.resolve(remote_host, remote_port,
                                    {options.family, socket_kind::datagram});
  if (entries.empty())
    throw std::system_error(std::make_error_code(std::errc::address_not_available),
                            std::string(api) + ": " + remote_host + " resolved to no address");
  std::optional<socket_address> local =
      co_await resolve_local(options.local_host, entries.front().family, socket_kind::datagram,
                             api);
  if (local) local->port = options.local_port;
  co_return n.open_connected_udp(local, entries.front().address, options.reuse_port);
}

task<> udp_socket::send_to(std::string_view data, std::string host, std::uint16_t port) {
  auto entries = co_await net("anyio::udp_socket::send_to()")
                     .resolve(host, port, {extra(socket_attribute::family), socket_kind::datagram});
  if (entries.empty())
    throw std::system_error(std::make_error_code(std::errc::address_not_available),
                            "anyio::udp_socket::send_to(): " + host + " resolved to no address");
  co_await do_send_to(data, entries.front().address);
}

}  // namespace anyio
