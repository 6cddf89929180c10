// SPDX-License-Identifier: MIT
// Conformance: certificate verification, on realio and on many sim seeds.
// A client refuses a self-signed, expired or wrong-host certificate with a
// tls_error saying which, and the server learns of it; verification can be
// turned off; an IP address is checked against the certificate's IP
// entries; a server can require a client certificate. On sim, dates come
// from the simulated wall clock, so the answers do not depend on today.
#include "tests/conformance/tls_test_certs.hpp"

#include <anyio/sim.hpp>

#include <string>

using namespace std::chrono_literals;
using sync_test::message_of;
using sync_test::sync_message_of;
using tls_test::certs;

namespace {

/// The client's error when the server presents `kp`.
anyio::task<tls_test::handshake_result> against(tls_test::key_pair kp,
                                                const char* hostname = "localhost") {
  co_return co_await tls_test::handshake(tls_test::client_context(), tls_test::server_context(kp),
                                         {.hostname = hostname});
}

}  // namespace

ANYIO_TEST_CASE("tls verify: a self-signed certificate is refused, saying so", "[tls]") {
  auto r = co_await against(certs().self_signed);
  CHECK_THAT(r.client_error, Catch::Contains("self-signed certificate"));
  CHECK_THAT(r.client_error, Catch::Contains("localhost"));
  // The client's alert tells the server why its handshake failed.
  CHECK_THAT(r.server_error, Catch::Contains("the peer refused the connection"));
  CHECK_THAT(r.server_error, Catch::Contains("unknown ca"));
  REQUIRE(r.streams.client == nullptr);
  REQUIRE(r.streams.server == nullptr);
}

ANYIO_TEST_CASE("tls verify: an expired certificate is refused, saying so", "[tls]") {
  auto r = co_await against(certs().expired);
  CHECK_THAT(r.client_error, Catch::Contains("certificate has expired"));
  REQUIRE(r.streams.client == nullptr);
}

ANYIO_TEST_CASE("tls verify: a certificate for another host is refused, saying so", "[tls]") {
  auto r = co_await against(certs().wrong_host);
  CHECK_THAT(r.client_error, Catch::Contains("hostname mismatch"));
  REQUIRE(r.streams.client == nullptr);
  // The same server certificate is fine for the name it was made for.
  auto ok = co_await against(certs().wrong_host, "example.com");
  REQUIRE(ok.client_error.empty());
  REQUIRE(ok.streams.client != nullptr);
}

ANYIO_TEST_CASE("tls verify: a certificate from an unknown CA is refused", "[tls]") {
  auto client = anyio::tls_context::client({.ca_pem = certs().other_ca_pem});
  auto r = co_await tls_test::handshake(client, tls_test::server_context(certs().server));
  CHECK_THAT(r.client_error, Catch::Contains("unable to get local issuer certificate"));
}

ANYIO_TEST_CASE("tls verify: an IP address is checked against the certificate's IP entries",
                "[tls]") {
  auto ok = co_await against(certs().server, "127.0.0.1");
  REQUIRE(ok.client_error.empty());
  auto wrong = co_await against(certs().server, "127.0.0.2");
  CHECK_THAT(wrong.client_error, Catch::Contains("IP address mismatch"));
}

ANYIO_TEST_CASE("tls verify: with verify = false any certificate is taken", "[tls]") {
  auto client = anyio::tls_context::client({.verify = false});
  auto p = co_await tls_test::connected(client, tls_test::server_context(certs().self_signed),
                                        {.hostname = "anything"});
  co_await p.client->send("ok");
  auto got = co_await p.server->receive(2);
  REQUIRE(got == "ok");
}

ANYIO_TEST_CASE("tls verify: a verifying client needs a host name", "[tls]") {
  auto transports = anyio::create_memory_byte_stream_pair();
  auto msg = co_await message_of<anyio::usage_error>([&] {
    return anyio::tls_stream::wrap(std::move(transports.first), tls_test::client_context());
  });
  REQUIRE(msg.has_value());
  CHECK_THAT(*msg, Catch::Contains(".hostname"));
}

ANYIO_TEST_CASE("tls verify: bad certificates and keys are refused when the context is made",
                "[tls]") {
  const auto& c = certs();
  auto no_cert = sync_message_of<anyio::tls_error>(
      [&] { (void)anyio::tls_context::server({.cert_pem = "", .key_pem = c.server.key_pem}); });
  REQUIRE(no_cert.has_value());
  CHECK_THAT(*no_cert, Catch::Contains("cert_pem is empty"));
  auto garbage = sync_message_of<anyio::tls_error>(
      [&] { (void)anyio::tls_context::server({.cert_pem = "junk", .key_pem = c.server.key_pem}); });
  REQUIRE(garbage.has_value());
  CHECK_THAT(*garbage, Catch::Contains("holds no PEM certificate"));
  auto mismatch = sync_message_of<anyio::tls_error>([&] {
    (void)anyio::tls_context::server({.cert_pem = c.server.cert_pem, .key_pem = c.client.key_pem});
  });
  REQUIRE(mismatch.has_value());
  CHECK_THAT(*mismatch, Catch::Contains("does not match"));
  auto alpn =
      sync_message_of<anyio::tls_error>([&] { (void)anyio::tls_context::client({.alpn = {""}}); });
  REQUIRE(alpn.has_value());
  CHECK_THAT(*alpn, Catch::Contains("ALPN"));
  co_return;
}

ANYIO_TEST_CASE("tls verify: a server that requires a client certificate gets one", "[tls]") {
  const auto& c = certs();
  auto server = tls_test::server_context(c.server, {}, c.ca_pem);
  auto p = co_await tls_test::connected(tls_test::client_context({}, &c.client), server);
  auto peer = p.server->extra(anyio::tls_attribute::peer_certificate);
  REQUIRE(peer.has_value());
  REQUIRE(*peer == tls_test::der_of(c.client.cert_pem));
  co_await p.client->send("mutual");
  auto got = co_await p.server->receive(6);
  REQUIRE(got == "mutual");
}

ANYIO_TEST_CASE("tls verify: a client without the required certificate is refused", "[tls]") {
  const auto& c = certs();
  auto server = tls_test::server_context(c.server, {}, c.ca_pem);
  auto r = co_await tls_test::handshake(tls_test::client_context(), server);
  CHECK_THAT(r.server_error, Catch::Contains("certificate"));
  REQUIRE(r.streams.server == nullptr);
  // TLS 1.3: the client finished first and learns of it on its next receive.
  if (r.streams.client) {
    bool broken = co_await sync_test::raises<anyio::broken_resource_error>(
        [&] { return r.streams.client->receive(); });
    REQUIRE(broken);
  }
}

// Sim only: the simulated wall clock starts at sim::wall_clock_start_ns
// whatever day it is, and moves with virtual time.
ANYIO_TEST_CASE_WITH("tls verify: on sim, certificate dates follow the virtual clock", "[tls]",
                     {.realio = false}) {
  const auto start = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         anyio::wall_clock_now().time_since_epoch())
                         .count();
  REQUIRE(start == anyio::sim::wall_clock_start_ns);
  // short_lived ends one hour into the simulated day.
  auto before = co_await against(certs().short_lived);
  REQUIRE(before.client_error.empty());
  co_await anyio::sleep(2h);
  auto after = co_await against(certs().short_lived);
  CHECK_THAT(after.client_error, Catch::Contains("certificate has expired"));
}
