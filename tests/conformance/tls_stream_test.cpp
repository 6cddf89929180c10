// SPDX-License-Identifier: MIT
// Conformance: tls_stream over an in-memory byte stream pair, on realio and
// on many sim seeds — a handshake and data both ways, large transfers, the
// TLS attributes (version, cipher, ALPN, peer certificate) and the
// transport's attributes seen through TLS, end of stream with and without
// close_notify, send_eof refused (TLS has no half-close) and unwrap.
#include "tests/conformance/tls_test_certs.hpp"

#include <string>
#include <string_view>
#include <vector>

using sync_test::message_of;
using sync_test::raises;
using tls_test::certs;

namespace {

/// `n` bytes of a pattern that shows misordering or loss.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

/// Exactly `n` bytes, in as many receives as it takes.
anyio::task<std::string> receive_n(anyio::byte_stream& s, std::size_t n) {
  std::string all;
  while (all.size() < n) all += co_await s.receive(n - all.size());
  co_return all;
}

inline constexpr anyio::typed_attribute<std::string> transport_name{"tls_test::transport_name"};
inline constexpr anyio::typed_attribute<int> nobody_has{"tls_test::nobody_has"};

/// A transport with an attribute of its own, to see it through TLS.
class named_stream final : public anyio::byte_stream {
 public:
  named_stream(std::unique_ptr<anyio::byte_stream> inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {}

 protected:
  anyio::task<std::size_t> do_receive(std::span<std::byte> b) override {
    co_return co_await inner_->receive(b);
  }
  anyio::task<> do_send(std::span<const std::byte> d) override { co_await inner_->send(d); }
  anyio::task<> do_send_eof() override { co_await inner_->send_eof(); }
  anyio::task<> do_aclose() override { co_await inner_->aclose(); }
  std::any find_attribute(const void* key) const override {
    if (anyio::is_attribute(key, transport_name)) return name_;
    return inner_->lookup_attribute(key);
  }

 private:
  std::unique_ptr<anyio::byte_stream> inner_;
  std::string name_;
};

/// "h2,http/1.1" as a list (g++ 12 rejects a braced list of string
/// literals inside a coroutine: "array used as initializer").
std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    out.emplace_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return out;
}
anyio::tls_context alpn_client(const char* protocols) {
  return tls_test::client_context(split(protocols));
}
anyio::tls_context alpn_server(const char* protocols) {
  return tls_test::server_context(certs().server, split(protocols));
}

}  // namespace

ANYIO_TEST_CASE("tls: handshake, then data both ways", "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server));
  co_await p.client->send("hello over TLS");
  auto got = co_await receive_n(*p.server, 14);
  REQUIRE(got == "hello over TLS");
  co_await p.server->send("and back");
  auto back = co_await receive_n(*p.client, 8);
  REQUIRE(back == "and back");
  co_await p.client->aclose();
  co_await p.server->aclose();
}

ANYIO_TEST_CASE("tls: a megabyte each way at once arrives whole and in order", "[tls]") {
  auto p = co_await tls_test::connected(
      tls_test::client_context(), tls_test::server_context(certs().server), {.max_buffer = 4096});
  const std::string data = pattern(1 << 20);
  std::string at_server, at_client;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await p.client->send(data); });
    tg.start_soon([&]() -> anyio::task<> { co_await p.server->send(data); });
    tg.start_soon(
        [&]() -> anyio::task<> { at_client = co_await receive_n(*p.client, data.size()); });
    at_server = co_await receive_n(*p.server, data.size());
  });
  REQUIRE(at_server == data);
  REQUIRE(at_client == data);
}

ANYIO_TEST_CASE("tls: attributes of the connection", "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server));
  REQUIRE(p.client->extra(anyio::tls_attribute::tls_version) == "TLSv1.3");
  REQUIRE(p.server->extra(anyio::tls_attribute::tls_version) == "TLSv1.3");
  REQUIRE_FALSE(p.client->extra(anyio::tls_attribute::server_side));
  REQUIRE(p.server->extra(anyio::tls_attribute::server_side));
  REQUIRE(p.client->extra(anyio::tls_attribute::standard_compatible));
  auto cipher = p.client->extra(anyio::tls_attribute::cipher);
  REQUIRE(cipher == p.server->extra(anyio::tls_attribute::cipher));
  CHECK_THAT(cipher, Catch::StartsWith("TLS_"));
  // The client saw the server's certificate; the server asked for none.
  auto peer = p.client->extra(anyio::tls_attribute::peer_certificate);
  REQUIRE(peer.has_value());
  REQUIRE(*peer == tls_test::der_of(certs().server.cert_pem));
  REQUIRE_FALSE(p.server->extra(anyio::tls_attribute::peer_certificate).has_value());
  REQUIRE_FALSE(p.client->extra(anyio::tls_attribute::alpn_protocol).has_value());
}

ANYIO_TEST_CASE("tls: ALPN picks the server's first protocol the client offers", "[tls]") {
  auto p = co_await tls_test::connected(alpn_client("h2,http/1.1"), alpn_server("http/1.1,h2"));
  auto at_client = p.client->extra(anyio::tls_attribute::alpn_protocol);
  auto at_server = p.server->extra(anyio::tls_attribute::alpn_protocol);
  REQUIRE(at_client.has_value());
  REQUIRE(at_server.has_value());
  REQUIRE(*at_client == "http/1.1");
  REQUIRE(*at_server == "http/1.1");
  // No protocol in common: the connection goes on without one.
  auto q = co_await tls_test::connected(alpn_client("spdy/1"), alpn_server("h2"));
  REQUIRE_FALSE(q.client->extra(anyio::tls_attribute::alpn_protocol).has_value());
  REQUIRE_FALSE(q.server->extra(anyio::tls_attribute::alpn_protocol).has_value());
}

ANYIO_TEST_CASE("tls: the transport's attributes are seen through TLS", "[tls]") {
  auto transports = anyio::create_memory_byte_stream_pair();
  auto client_side = std::make_unique<named_stream>(std::move(transports.first), "client pipe");
  auto server_side = std::make_unique<named_stream>(std::move(transports.second), "server pipe");
  std::unique_ptr<anyio::tls_stream> client, server;
  auto server_ctx = tls_test::server_context(certs().server);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      server = co_await anyio::tls_stream::wrap(std::move(server_side), server_ctx);
    });
    anyio::tls_wrap_options options{.hostname = "localhost"};
    client = co_await anyio::tls_stream::wrap(std::move(client_side), tls_test::client_context(),
                                              options);
  });
  REQUIRE(client->extra(transport_name) == "client pipe");
  REQUIRE(server->extra(transport_name) == "server pipe");
  // An attribute neither TLS nor the transport has is still an error.
  REQUIRE_THROWS_AS(client->extra(nobody_has), anyio::typed_attribute_lookup_error);
}

ANYIO_TEST_CASE("tls: aclose sends close_notify, which the peer reads as end of stream", "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server));
  co_await p.client->send("last words");
  co_await p.client->aclose();
  auto got = co_await receive_n(*p.server, 10);
  REQUIRE(got == "last words");
  bool ended = co_await raises<anyio::end_of_stream>([&] { return p.server->receive(); });
  REQUIRE(ended);
  // And again: end of stream stays end of stream.
  bool again = co_await raises<anyio::end_of_stream>([&] { return p.server->receive(); });
  REQUIRE(again);
  // The closed side: closed_resource_error.
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return p.client->receive(); });
  REQUIRE(closed);
}

ANYIO_TEST_CASE("tls: without close_notify, a standard-compatible receiver sees a broken stream",
                "[tls]") {
  // The client does not send close_notify (standard_compatible = false); the
  // server expects one, so the bare end of the transport is a truncation.
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server),
                                        {.client_standard = false});
  REQUIRE_FALSE(p.client->extra(anyio::tls_attribute::standard_compatible));
  co_await p.client->aclose();
  auto msg = co_await message_of<anyio::broken_resource_error>([&] { return p.server->receive(); });
  REQUIRE(msg.has_value());
  CHECK_THAT(*msg, Catch::Contains("without close_notify"));
}

ANYIO_TEST_CASE("tls: not standard-compatible, the end of the transport is end of stream",
                "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server),
                                        {.client_standard = false, .server_standard = false});
  co_await p.client->send("bye");
  co_await p.client->aclose();
  auto got = co_await receive_n(*p.server, 3);
  REQUIRE(got == "bye");
  bool ended = co_await raises<anyio::end_of_stream>([&] { return p.server->receive(); });
  REQUIRE(ended);
}

ANYIO_TEST_CASE("tls: send_eof is refused (TLS has no half-close)", "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server));
  auto msg = co_await message_of<anyio::usage_error>([&] { return p.client->send_eof(); });
  REQUIRE(msg.has_value());
  CHECK_THAT(*msg, Catch::Contains("no half-close"));
  // Refusing it changed nothing: the stream still works.
  co_await p.client->send("still open");
  auto got = co_await receive_n(*p.server, 10);
  REQUIRE(got == "still open");
}

ANYIO_TEST_CASE("tls: unwrap on both sides gives back the transports for plain bytes", "[tls]") {
  auto p = co_await tls_test::connected(tls_test::client_context(),
                                        tls_test::server_context(certs().server));
  co_await p.client->send("secret");
  auto got = co_await receive_n(*p.server, 6);
  REQUIRE(got == "secret");
  std::unique_ptr<anyio::byte_stream> plain_client, plain_server;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { plain_server = co_await p.server->unwrap(); });
    plain_client = co_await p.client->unwrap();
  });
  REQUIRE(plain_client != nullptr);
  REQUIRE(plain_server != nullptr);
  co_await plain_client->send("plain");
  auto plain = co_await receive_n(*plain_server, 5);
  REQUIRE(plain == "plain");
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return p.client->send("x"); });
  REQUIRE(closed);
}
