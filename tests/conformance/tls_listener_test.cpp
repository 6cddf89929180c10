// SPDX-License-Identifier: MIT
// Conformance: tls_listener over an in-memory listener, on realio and on
// many sim seeds — accepted streams handshake on first use; serve() runs
// each handshake in the connection's own task, so a client whose handshake
// fails (garbage, or a client that refuses the certificate) goes to the
// handshake error handler and neither reaches the handler nor stops serve();
// the listener's attributes include standard_compatible and the inner
// listener's own.
#include "tests/conformance/tls_test_certs.hpp"

#include <string>
#include <vector>

using sync_test::settle;
using tls_test::certs;

namespace {

inline constexpr anyio::typed_attribute<std::string> listener_name{"tls_test::listener_name"};

/// Connections handed over through a memory object stream.
class memory_listener final : public anyio::listener<anyio::byte_stream> {
 public:
  explicit memory_listener(
      anyio::memory_object_receive_stream<std::unique_ptr<anyio::byte_stream>> rx)
      : rx_(std::move(rx)) {}

 protected:
  anyio::task<std::unique_ptr<anyio::byte_stream>> do_accept() override {
    co_return co_await rx_.receive();
  }
  anyio::task<> do_aclose() override {
    rx_.close();
    co_await anyio::checkpoint();
  }
  std::any find_attribute(const void* key) const override {
    if (anyio::is_attribute(key, listener_name)) return std::string("memory");
    return {};
  }

 private:
  anyio::memory_object_receive_stream<std::unique_ptr<anyio::byte_stream>> rx_;
};

struct server_log {
  std::vector<std::string> received;
  std::vector<std::string> handshake_errors;
};

}  // namespace

ANYIO_TEST_CASE("tls listener: a failed handshake does not stop serve()", "[tls]") {
  // No structured bindings: clang 14 cannot capture them in the lambdas below.
  auto handoff = anyio::create_memory_object_stream<std::unique_ptr<anyio::byte_stream>>(4);
  auto& tx = handoff.send;
  anyio::tls_listener listener(std::make_unique<memory_listener>(std::move(handoff.receive)),
                               tls_test::server_context(certs().server));
  REQUIRE(listener.extra(anyio::tls_attribute::standard_compatible));
  REQUIRE(listener.extra(listener_name) == "memory");
  server_log log;
  listener.set_handshake_error_handler(
      [&](const std::exception& e) { log.handshake_errors.emplace_back(e.what()); });
  std::string reply;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await listener.serve([&](std::unique_ptr<anyio::byte_stream> s) -> anyio::task<> {
        auto got = co_await s->receive();
        log.received.push_back(got);
        co_await s->send("re: " + got);
        co_await s->aclose();
      });
    });
    // 1: a client that speaks no TLS at all.
    auto bad = anyio::create_memory_byte_stream_pair();
    co_await tx.send(std::move(bad.second));
    co_await bad.first->send("GET / HTTP/1.0\r\n\r\n");
    co_await settle();
    // 2: a client that refuses the certificate (it trusts another CA).
    auto picky = anyio::create_memory_byte_stream_pair();
    co_await tx.send(std::move(picky.second));
    anyio::tls_wrap_options options{.hostname = "localhost"};
    auto picky_ctx = anyio::tls_context::client({.ca_pem = certs().other_ca_pem});
    bool refused = false;
    try {
      (void)co_await anyio::tls_stream::wrap(std::move(picky.first), picky_ctx, options);
    } catch (const anyio::tls_error&) {
      refused = true;
    }
    REQUIRE(refused);
    // 3: a good client is still served.
    auto good = anyio::create_memory_byte_stream_pair();
    co_await tx.send(std::move(good.second));
    auto client = co_await anyio::tls_stream::wrap(std::move(good.first),
                                                   tls_test::client_context(), options);
    co_await client->send("hello");
    reply = co_await client->receive();
    co_await settle();  // the refusing client's alert has reached its server task
    tg.cancel_scope().cancel();
  });
  REQUIRE(reply == "re: hello");
  REQUIRE(log.received == std::vector<std::string>{"hello"});
  REQUIRE(log.handshake_errors.size() == 2);
  CHECK_THAT(log.handshake_errors[0], Catch::Contains("TLS handshake failed"));
  CHECK_THAT(log.handshake_errors[1], Catch::Contains("TLS handshake failed"));
}

ANYIO_TEST_CASE("tls listener: accept returns a stream that handshakes on first use", "[tls]") {
  auto handoff = anyio::create_memory_object_stream<std::unique_ptr<anyio::byte_stream>>(1);
  auto& tx = handoff.send;
  anyio::tls_listener listener(std::make_unique<memory_listener>(std::move(handoff.receive)),
                               tls_test::server_context(certs().server), false);
  REQUIRE_FALSE(listener.extra(anyio::tls_attribute::standard_compatible));
  auto transports = anyio::create_memory_byte_stream_pair();
  co_await tx.send(std::move(transports.second));
  auto accepted = co_await listener.accept();
  REQUIRE(accepted->extra(anyio::tls_attribute::server_side));
  REQUIRE_FALSE(accepted->extra(anyio::tls_attribute::standard_compatible));
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await accepted->receive(); });
    anyio::tls_wrap_options options{.hostname = "localhost", .standard_compatible = false};
    auto client = co_await anyio::tls_stream::wrap(std::move(transports.first),
                                                   tls_test::client_context(), options);
    co_await client->send("first use");
  });
  REQUIRE(got == "first use");
  co_await listener.aclose();
  bool closed =
      co_await sync_test::raises<anyio::closed_resource_error>([&] { return listener.accept(); });
  REQUIRE(closed);
}
