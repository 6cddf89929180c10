// SPDX-License-Identifier: MIT
// Conformance: UDP on realio and sim — datagrams with their sender's
// address, connected sockets, a datagram too large for the protocol, a
// cancelled receive that took no datagram, and the attributes.
#include "tests/conformance/net_test_support.hpp"

#include <string>

using namespace std::chrono_literals;
namespace sa = anyio::socket_attribute;

ANYIO_TEST_CASE("net udp: send_to and receive with the sender's address", "[net][udp]") {
  auto a = co_await net_test::local_udp();
  auto b = co_await net_test::local_udp();
  const std::uint16_t a_port = a->extra(sa::local_port);
  const std::uint16_t b_port = b->extra(sa::local_port);
  REQUIRE(a_port != 0);
  REQUIRE(a_port != b_port);
  CHECK(a->extra(sa::family) == anyio::address_family::ipv4);
  co_await a->send_to("ping", "127.0.0.1", b_port);
  auto d = co_await b->receive();
  CHECK(d.data == "ping");
  CHECK(d.sender == anyio::socket_address{anyio::address_family::ipv4, "127.0.0.1", a_port});
  co_await b->send_to("pong", d.sender);
  auto back = co_await a->receive();
  CHECK(back.data == "pong");
  CHECK(back.sender.port == b_port);
  // Datagrams keep their boundaries.
  co_await a->send_to("one", "127.0.0.1", b_port);
  co_await a->send_to("two", "127.0.0.1", b_port);
  auto one = co_await b->receive();
  auto two = co_await b->receive();
  CHECK(one.data == "one");
  CHECK(two.data == "two");
  co_await a->aclose();
  co_await b->aclose();
  auto closed = co_await net_test::message_of<anyio::closed_resource_error>(
      [&] { return a->receive(); });
  CHECK(closed.has_value());
}

ANYIO_TEST_CASE("net udp: a connected socket talks to its peer only", "[net][udp]") {
  auto server = co_await net_test::local_udp();
  const std::uint16_t port = server->extra(sa::local_port);
  auto client = co_await anyio::create_connected_udp_socket("127.0.0.1", port);
  CHECK(client->extra(sa::remote_port) == port);
  CHECK(client->extra(sa::remote_address).host == "127.0.0.1");
  co_await client->send("hello");
  auto d = co_await server->receive();
  CHECK(d.data == "hello");
  CHECK(d.sender.port == client->extra(sa::local_port));
  co_await server->send_to("hi back", d.sender);
  auto got = co_await client->receive();
  CHECK(got == "hi back");
  co_await client->aclose();
  co_await server->aclose();
}

ANYIO_TEST_CASE("net udp: a datagram too large is a system_error", "[net][udp][errors]") {
  auto a = co_await net_test::local_udp();
  auto b = co_await net_test::local_udp();
  const std::uint16_t port = b->extra(sa::local_port);
  std::optional<std::string> msg;
  try {
    co_await a->send_to(std::string(65508, 'x'), "127.0.0.1", port);
  } catch (const std::system_error& e) {
    msg = e.what();
    CHECK(e.code() == std::errc::message_size);
  }
  REQUIRE(msg.has_value());
  CHECK(msg->find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  // The largest one goes through, whole.
  co_await a->send_to(std::string(65507, 'y'), "127.0.0.1", port);
  auto d = co_await b->receive();
  CHECK(d.data.size() == 65507);
}

ANYIO_TEST_CASE("net udp: a cancelled receive took no datagram", "[net][udp][cancel]") {
  auto a = co_await net_test::local_udp();
  auto b = co_await net_test::local_udp();
  const std::uint16_t port = b->extra(sa::local_port);
  int got = 0;
  for (int i = 0; i < 20; ++i) {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        (void)co_await b->receive();
        ++got;
      });
      co_await anyio::testing::wait_all_tasks_blocked(1ms);
      co_await a->send_to("d", "127.0.0.1", port);
      tg.cancel_scope().cancel();
    });
  }
  while (got < 20) {
    auto d = co_await anyio::fail_after(5s).run([&] { return b->receive(); });
    CHECK(d.data == "d");
    ++got;
  }
  auto none = anyio::move_on_after(20ms);
  co_await none.run([&]() -> anyio::task<> { (void)co_await b->receive(); });
  CHECK(none.cancelled_caught());
}
