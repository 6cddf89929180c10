// SPDX-License-Identifier: MIT
// realio's name resolution (mirrors sim/resolve.cpp). A literal address is
// answered at once (a checkpoint, no thread); a name goes to Asio's
// resolver, which runs getaddrinfo on its own thread and posts the answer
// back to the run's io_context. Cancelling a lookup cancels the resolver:
// the answer, when the lookup returns, is dropped.
#include "net_support.hpp"

#include <anyio/lowlevel.hpp>

#include <asio/ip/basic_resolver.hpp>

namespace anyio::realio {

namespace {

/// A lookup in flight: the resolver lives here, in the awaiting frame.
template <class Protocol> class resolve_op final : public detail::io_operation {
 public:
  explicit resolve_op(asio::io_context& ctx) : resolver(ctx) {}
  asio::ip::basic_resolver<Protocol> resolver;
  typename asio::ip::basic_resolver<Protocol>::results_type results;

 protected:
  bool cancel() noexcept override {
    resolver.cancel();  // the handler runs with operation_aborted
    return false;
  }
};

template <class Protocol>
task<std::vector<addrinfo_entry>> lookup(asio::io_context& ctx, const std::string& host,
                                         std::uint16_t port, const addrinfo_hints& hints) {
  using resolver = asio::ip::basic_resolver<Protocol>;
  const std::string what = "getaddrinfo(" + host + ")";
  typename resolver::flags flags{};
  if (hints.passive) flags |= resolver::passive;
  if (hints.numeric_host) flags |= resolver::numeric_host;
  resolve_op<Protocol> op(ctx);
  const std::string service = std::to_string(port);
  auto start = [&] {
    auto done = [&op](const std::error_code& ec, typename resolver::results_type r) {
      op.results = std::move(r);
      op.complete(os_error(ec));
    };
    if (hints.family == address_family::ipv4)
      op.resolver.async_resolve(Protocol::v4(), host, service, flags, done);
    else if (hints.family == address_family::ipv6)
      op.resolver.async_resolve(Protocol::v6(), host, service, flags, done);
    else
      op.resolver.async_resolve(host, service, flags, done);
  };
  const std::error_code ec = co_await detail::run_io(op, start, what.c_str());
  if (ec) throw_system(ec, what);
  std::vector<addrinfo_entry> out;
  for (const auto& r : op.results) {
    addrinfo_entry e;
    e.address = to_socket_address(r.endpoint());
    e.family = e.address.family;
    e.kind = std::is_same_v<Protocol, asio::ip::udp> ? socket_kind::datagram : socket_kind::stream;
    out.push_back(std::move(e));
  }
  co_return out;
}

}  // namespace

task<std::vector<addrinfo_entry>> realio_network::resolve(std::string host, std::uint16_t port,
                                                          addrinfo_hints hints) {
  const socket_kind kind = hints.kind == socket_kind::datagram ? socket_kind::datagram
                                                               : socket_kind::stream;
  std::vector<addrinfo_entry> out;
  auto add = [&](address_family f, std::string address) {
    if (hints.family == address_family::unspecified || hints.family == f)
      out.push_back({f, kind, {}, {f, std::move(address), port}});
  };
  if (host.empty()) {
    // No host: the wildcard to bind to, or the loopback to connect to.
    add(address_family::ipv4, hints.passive ? "0.0.0.0" : "127.0.0.1");
    add(address_family::ipv6, hints.passive ? "::" : "::1");
    co_await checkpoint();
    co_return out;
  }
  std::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    add(literal.is_v4() ? address_family::ipv4 : address_family::ipv6, literal.to_string());
    if (out.empty())
      throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                              "getaddrinfo(" + host + "): not an address of the family asked for");
    co_await checkpoint();
    co_return out;
  }
  if (hints.numeric_host)
    throw std::system_error(asio::error::host_not_found,
                            "getaddrinfo(" + host + "): not a numeric address");
  if (kind == socket_kind::datagram)
    co_return co_await lookup<asio::ip::udp>(ctx_, host, port, hints);
  co_return co_await lookup<asio::ip::tcp>(ctx_, host, port, hints);
}

task<std::pair<std::string, std::string>> realio_network::name_info(socket_address address,
                                                                    bool numeric) {
  if (address.family == address_family::unix_domain) {
    co_await checkpoint();
    co_return std::pair{address.host, std::string()};
  }
  const std::string what = "getnameinfo(" + address.to_string() + ")";
  const auto endpoint = to_endpoint<asio::ip::tcp::endpoint>(address, what);
  if (numeric) {
    co_await checkpoint();
    co_return std::pair{endpoint.address().to_string(), std::to_string(endpoint.port())};
  }
  resolve_op<asio::ip::tcp> op(ctx_);
  auto start = [&] {
    op.resolver.async_resolve(endpoint, [&op](const std::error_code& ec, auto r) {
      op.results = std::move(r);
      op.complete(os_error(ec));
    });
  };
  const std::error_code ec = co_await detail::run_io(op, start, what.c_str());
  if (ec) throw_system(ec, what);
  if (op.results.empty())
    throw std::system_error(asio::error::host_not_found, what);
  const auto& first = *op.results.begin();
  co_return std::pair{first.host_name(), first.service_name()};
}

}  // namespace anyio::realio
