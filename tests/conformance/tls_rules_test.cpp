// SPDX-License-Identifier: MIT
// Conformance: the rules a tls_stream keeps (trio's SSLStream), on realio
// and on many sim seeds — two receivers or two senders at once are
// busy_resource_error; a cancelled receive consumed nothing and the stream
// goes on; a cancelled send breaks the stream (its records were cut), so
// every later call is broken_resource_error; closing wakes a task parked in
// receive with closed_resource_error; use after close is closed_resource_error.
#include "tests/conformance/tls_test_certs.hpp"

#include <string>

using sync_test::raises;
using sync_test::settle;
using tls_test::certs;

namespace {

anyio::task<tls_test::tls_pair> pair(std::size_t max_buffer = 65536) {
  co_return co_await tls_test::connected(tls_test::client_context(),
                                         tls_test::server_context(certs().server),
                                         {.max_buffer = max_buffer});
}

}  // namespace

ANYIO_TEST_CASE("tls rules: two tasks receiving at once is busy_resource_error", "[tls]") {
  auto p = co_await pair();
  bool busy = false;
  std::string first;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { first = co_await p.server->receive(); });
    co_await settle();
    busy = co_await raises<anyio::busy_resource_error>([&] { return p.server->receive(); });
    co_await p.client->send("x");
  });
  REQUIRE(busy);
  REQUIRE(first == "x");
}

ANYIO_TEST_CASE("tls rules: two tasks sending at once is busy_resource_error", "[tls]") {
  // A small transport buffer and nobody reading: the first send parks.
  auto p = co_await pair(1024);
  bool busy = false;
  const std::string big(100000, 's');
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await p.client->send(big); });
    co_await settle();
    busy = co_await raises<anyio::busy_resource_error>([&] { return p.client->send("y"); });
    std::size_t got = 0;
    while (got < big.size()) got += (co_await p.server->receive()).size();
  });
  REQUIRE(busy);
}

ANYIO_TEST_CASE("tls rules: a cancelled receive consumed nothing", "[tls]") {
  auto p = co_await pair();
  anyio::cancel_scope scope;
  bool reached = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> {
        (void)co_await p.server->receive();
        reached = true;
      });
    });
    co_await settle();
    scope.cancel();
  });
  REQUIRE_FALSE(reached);
  REQUIRE(scope.cancelled_caught());
  co_await p.client->send("after");
  auto got = co_await p.server->receive();
  REQUIRE(got == "after");
}

ANYIO_TEST_CASE("tls rules: a cancelled send breaks the stream", "[tls]") {
  auto p = co_await pair(1024);
  anyio::cancel_scope scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run(
          [&]() -> anyio::task<> { co_await p.client->send(std::string(100000, 'c')); });
    });
    co_await settle();
    scope.cancel();
  });
  REQUIRE(scope.cancelled_caught());
  bool send_broken =
      co_await raises<anyio::broken_resource_error>([&] { return p.client->send("z"); });
  REQUIRE(send_broken);
  bool receive_broken =
      co_await raises<anyio::broken_resource_error>([&] { return p.client->receive(); });
  REQUIRE(receive_broken);
  // Closing a broken stream still works (and closes the transport).
  co_await p.client->aclose();
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return p.client->send("z"); });
  REQUIRE(closed);
}

ANYIO_TEST_CASE("tls rules: closing wakes a task parked in receive with closed_resource_error",
                "[tls]") {
  auto p = co_await pair();
  bool closed = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      closed = co_await raises<anyio::closed_resource_error>([&] { return p.client->receive(); });
    });
    co_await settle();
    co_await p.client->aclose();
  });
  REQUIRE(closed);
  // aclose again is a plain checkpoint.
  co_await p.client->aclose();
}

ANYIO_TEST_CASE("tls rules: use after close is closed_resource_error", "[tls]") {
  auto p = co_await pair();
  co_await p.server->aclose();
  bool send_closed =
      co_await raises<anyio::closed_resource_error>([&] { return p.server->send("a"); });
  bool receive_closed =
      co_await raises<anyio::closed_resource_error>([&] { return p.server->receive(); });
  bool unwrap_closed =
      co_await raises<anyio::closed_resource_error>([&] { return p.server->unwrap(); });
  REQUIRE(send_closed);
  REQUIRE(receive_closed);
  REQUIRE(unwrap_closed);
  // The peer reads our close_notify as end of stream.
  bool ended = co_await raises<anyio::end_of_stream>([&] { return p.client->receive(); });
  REQUIRE(ended);
}

ANYIO_TEST_CASE("tls rules: a receive and a send in two tasks at once both go through", "[tls]") {
  auto p = co_await pair(512);
  const std::string data(20000, 'd');
  std::size_t received = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      while (received < data.size()) received += (co_await p.client->receive()).size();
    });
    tg.start_soon([&]() -> anyio::task<> { co_await p.client->send(data); });
    std::size_t echoed = 0;
    while (echoed < data.size()) {
      auto piece = co_await p.server->receive();
      echoed += piece.size();
      co_await p.server->send(piece);
    }
  });
  REQUIRE(received == data.size());
}
