// SPDX-License-Identifier: MIT
// Conformance: TCP streams on realio and sim — an echo round trip, data that
// arrives in pieces, half-close, the errors of connect and listen naming the
// address, a reset by the peer, use after close (also for a task parked in
// receive), two receivers at once, and the socket attributes.
#include "tests/conformance/net_test_support.hpp"

#include <string>

using namespace std::chrono_literals;
using net_test::message_of;

ANYIO_TEST_CASE("net tcp: an echo round trip over loopback", "[net][tcp]") {
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  REQUIRE(port != 0);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      auto s = co_await listener->accept();
      for (;;) {
        std::string got;
        try {
          got = co_await s->receive();
        } catch (const anyio::end_of_stream&) {
          break;
        }
        co_await s->send(got);
      }
      co_await s->aclose();
    });
    auto c = co_await anyio::connect_tcp("127.0.0.1", port);
    const std::string messages[] = {"hello", "world", std::string(1000, 'x')};
    for (const std::string& msg : messages) {
      co_await c->send(msg);
      auto back = co_await net_test::receive_exactly(*c, msg.size());
      REQUIRE(back == msg);
    }
    co_await c->send_eof();
    auto rest = co_await net_test::receive_all(*c);
    REQUIRE(rest.empty());
    co_await c->aclose();
  });
}

ANYIO_TEST_CASE("net tcp: a large message arrives in pieces and reassembles", "[net][tcp]") {
  auto p = co_await net_test::connected_pair();
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  std::string got;
  std::size_t pieces = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await p.client->send(big);
      co_await p.client->send_eof();
    });
    for (;;) {
      try {
        got += co_await p.server->receive(4096);
        ++pieces;
      } catch (const anyio::end_of_stream&) {
        break;
      }
    }
  });
  REQUIRE(got.size() == big.size());
  REQUIRE(got == big);
  REQUIRE(pieces >= big.size() / 4096);
}

ANYIO_TEST_CASE("net tcp: send_eof ends the peer's stream while the other way still works",
                "[net][tcp]") {
  auto p = co_await net_test::connected_pair();
  co_await p.client->send("last words");
  co_await p.client->send_eof();
  auto got = co_await net_test::receive_all(*p.server);
  REQUIRE(got == "last words");
  auto again = co_await message_of<anyio::end_of_stream>([&] { return p.server->receive(); });
  REQUIRE(again.has_value());  // end_of_stream again, not a hang
  co_await p.server->send("reply");
  auto reply = co_await net_test::receive_exactly(*p.client, 5);
  REQUIRE(reply == "reply");
  co_await p.server->aclose();
  auto end = co_await net_test::receive_all(*p.client);
  REQUIRE(end.empty());
}

ANYIO_TEST_CASE("net tcp: connection refused is connection_failed naming the address",
                "[net][tcp][errors]") {
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  co_await listener->aclose();  // nobody listens there now
  auto msg = co_await message_of<anyio::connection_failed>(
      [&] { return anyio::connect_tcp("127.0.0.1", port); });
  REQUIRE(msg.has_value());
  CHECK(msg->find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

ANYIO_TEST_CASE("net tcp: a port in use is a system_error naming the address",
                "[net][tcp][errors]") {
  auto first = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*first);
  std::optional<std::string> msg;
  try {
    auto second = co_await net_test::listener_on("127.0.0.1", port);
  } catch (const std::system_error& e) {
    msg = e.what();
    CHECK(e.code() == std::errc::address_in_use);
  }
  REQUIRE(msg.has_value());
  CHECK(msg->find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

ANYIO_TEST_CASE("net tcp: a bad address is a system_error naming it", "[net][tcp][errors]") {
  // Not an address of this machine.
  auto msg = co_await message_of<std::system_error>(
      [] { return net_test::listener_on("192.0.2.1"); });
  REQUIRE(msg.has_value());
  CHECK(msg->find("192.0.2.1") != std::string::npos);
  // Not an address at all (and no such name).
  auto bad = co_await message_of<std::system_error>(
      [] { return anyio::connect_tcp("no-such-host.invalid", 80); });
  REQUIRE(bad.has_value());
  CHECK(bad->find("no-such-host.invalid") != std::string::npos);
}

ANYIO_TEST_CASE("net tcp: a reset by the peer is broken_resource_error", "[net][tcp][errors]") {
  auto p = co_await net_test::connected_pair();
  co_await p.client->send("unread");
  // Closing with unread data resets the connection (Linux sends RST).
  co_await anyio::wait_readable(p.server->extra(anyio::socket_attribute::raw_socket));
  co_await p.server->aclose();
  auto msg = co_await message_of<anyio::broken_resource_error>([&] { return p.client->receive(); });
  REQUIRE(msg.has_value());
  co_await p.client->aclose();
}

ANYIO_TEST_CASE("net tcp: use after close is closed_resource_error", "[net][tcp][errors]") {
  auto p = co_await net_test::connected_pair();
  co_await p.client->aclose();
  auto r = co_await message_of<anyio::closed_resource_error>([&] { return p.client->receive(); });
  CHECK(r.has_value());
  auto s = co_await message_of<anyio::closed_resource_error>([&] { return p.client->send("x"); });
  CHECK(s.has_value());
  auto e = co_await message_of<anyio::closed_resource_error>([&] { return p.client->send_eof(); });
  CHECK(e.has_value());
  co_await p.client->aclose();  // closing twice is fine
  auto peer = co_await net_test::receive_all(*p.server);
  CHECK(peer.empty());
}

ANYIO_TEST_CASE("net tcp: closing wakes a task parked in receive with closed_resource_error",
                "[net][tcp][errors]") {
  auto p = co_await net_test::connected_pair();
  std::optional<std::string> woke;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      woke = co_await message_of<anyio::closed_resource_error>(
          [&] { return p.server->receive(); });
    });
    co_await anyio::testing::wait_all_tasks_blocked(10ms);
    REQUIRE_FALSE(woke.has_value());
    co_await p.server->aclose();
  });
  REQUIRE(woke.has_value());
}

ANYIO_TEST_CASE("net tcp: two receivers at once is busy_resource_error", "[net][tcp][errors]") {
  auto p = co_await net_test::connected_pair();
  std::string first;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    // Data may come in pieces: the first receiver reads until it has it all.
    tg.start_soon(
        [&]() -> anyio::task<> { first = co_await net_test::receive_exactly(*p.server, 13); });
    co_await anyio::testing::wait_all_tasks_blocked(10ms);
    auto busy =
        co_await message_of<anyio::busy_resource_error>([&] { return p.server->receive(); });
    REQUIRE(busy.has_value());
    co_await p.client->send("for the first");
  });
  REQUIRE(first == "for the first");
}

ANYIO_TEST_CASE("net tcp: socket attributes and a missing one",
                "[net][tcp][attributes]") {
  namespace sa = anyio::socket_attribute;
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  CHECK(listener->extra(sa::family) == anyio::address_family::ipv4);
  CHECK(listener->extra(sa::local_address).host == "127.0.0.1");
  auto c = co_await anyio::connect_tcp("127.0.0.1", port);
  auto s = co_await listener->accept();
  CHECK(c->extra(sa::family) == anyio::address_family::ipv4);
  CHECK(c->extra(sa::remote_port) == port);
  const anyio::socket_address expected{anyio::address_family::ipv4, "127.0.0.1", port};
  CHECK(c->extra(sa::remote_address) == expected);
  CHECK(s->extra(sa::local_port) == port);
  CHECK(s->extra(sa::remote_port) == c->extra(sa::local_port));
  CHECK(c->extra(sa::local_address).host == "127.0.0.1");
  CHECK(c->extra(sa::raw_socket) != s->extra(sa::raw_socket));
  CHECK(c->extra(sa::raw_socket) >= 0);
  const anyio::typed_attribute<int> unknown{"test::unknown"};
  CHECK_THROWS_AS(c->extra(unknown), anyio::typed_attribute_lookup_error);
  CHECK(c->extra(unknown, 7) == 7);
  co_await c->aclose();
  co_await s->aclose();
}
