// SPDX-License-Identifier: MIT
// Name resolution on the simulated network (the sim side of
// realio/resolve.cpp). There is one host, "localhost", with the addresses
// 127.0.0.1 and ::1 (in that order: IPv4 first, so a connection to
// "localhost" whose listener is on 127.0.0.1 needs no refused attempt).
// The hosts of a sim world resolve to their addresses. Literal addresses
// resolve to themselves; any other name is an error, as for an unknown
// host. Nothing here reads the machine's resolver, so a run is the same
// everywhere.
#include "net_world.hpp"

#include <anyio/lowlevel.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>

namespace anyio::sim::detail::net {

namespace {

class resolve_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sim.resolve"; }
  std::string message(int value) const override {
    return value == 1 ? "Name or service not known" : "Address family for hostname not supported";
  }
};

std::error_code resolve_error(int value) {
  static const resolve_category category;
  return {value, category};
}

// The canonical text of a literal address of `family`, if `host` is one.
std::optional<std::string> literal(const std::string& host, address_family family) {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == address_family::ipv4) {
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) != 1) return std::nullopt;
    return std::string(inet_ntop(AF_INET, &a, text, sizeof text));
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, host.c_str(), &a) != 1) return std::nullopt;
  return std::string(inet_ntop(AF_INET6, &a, text, sizeof text));
}

}  // namespace

task<std::vector<addrinfo_entry>> resolve(std::shared_ptr<world> w, std::string host,
                                          std::uint16_t port, addrinfo_hints hints) {
  co_await checkpoint();
  std::vector<socket_address> found;
  if (host.empty()) {
    found = hints.passive ? std::vector<socket_address>{{address_family::ipv4, "0.0.0.0", port},
                                                        {address_family::ipv6, "::", port}}
                          : std::vector<socket_address>{{address_family::ipv4, "127.0.0.1", port},
                                                        {address_family::ipv6, "::1", port}};
  } else if (host == "localhost" && !hints.numeric_host) {
    found = {{address_family::ipv4, "127.0.0.1", port}, {address_family::ipv6, "::1", port}};
  } else if (auto named = std::find_if(w->hosts().begin() + 1, w->hosts().end(),
                                       [&](const host_entry& h) { return h.name == host; });
             named != w->hosts().end() && !hints.numeric_host) {
    // A host of the world: its one IPv4 address (there is no IPv6 between hosts).
    found = {{address_family::ipv4, named->address, port}};
  } else if (auto v4 = literal(host, address_family::ipv4)) {
    found = {{address_family::ipv4, *v4, port}};
  } else if (auto v6 = literal(host, address_family::ipv6)) {
    found = {{address_family::ipv6, *v6, port}};
  } else {
    throw std::system_error(resolve_error(1), "getaddrinfo \"" + host + "\"");
  }
  std::vector<addrinfo_entry> out;
  for (const socket_address& a : found) {
    if (hints.family != address_family::unspecified && hints.family != a.family) continue;
    for (socket_kind k : {socket_kind::stream, socket_kind::datagram}) {
      if (hints.kind != socket_kind::any && hints.kind != k) continue;
      out.push_back({a.family, k, "", a});
    }
  }
  if (out.empty())
    throw std::system_error(resolve_error(2), "getaddrinfo \"" + host + "\"");
  co_return out;
}

task<std::pair<std::string, std::string>> name_info(std::shared_ptr<world> w,
                                                    socket_address address, bool numeric) {
  co_await checkpoint();
  if (address.family == address_family::unix_domain)
    co_return std::pair{address.host, std::string()};
  std::string host = address.host;
  if (!numeric && (host == "127.0.0.1" || host == "::1")) host = "localhost";
  for (std::size_t i = 1; !numeric && i < w->hosts().size(); ++i)
    if (w->hosts()[i].address == host) host = w->hosts()[i].name;
  co_return std::pair{host, std::to_string(address.port)};
}

}  // namespace anyio::sim::detail::net
