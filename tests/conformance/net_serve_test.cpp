// SPDX-License-Identifier: MIT
// Conformance: serving connections on realio and sim — listener.serve()
// running a handler per connection in a task group, and a load test of a
// thousand concurrent loopback connections that all echo their data whole,
// within a deadline, without leaking a descriptor.
#include "tests/conformance/net_test_support.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

anyio::task<> echo_until_eof(std::unique_ptr<anyio::socket_stream> s) {
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
}

/// One client: sends `message` in pieces, reads the echo back, closes.
anyio::task<> echo_client(std::uint16_t port, std::string message, std::size_t& verified) {
  auto c = co_await anyio::connect_tcp("127.0.0.1", port);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (std::size_t i = 0; i < message.size(); i += 100)
        co_await c->send(std::string_view(message).substr(i, 100));
      co_await c->send_eof();
    });
    auto back = co_await net_test::receive_all(*c);
    if (back == message) ++verified;
  });
  co_await c->aclose();
}

}  // namespace

ANYIO_TEST_CASE("net serve: listener.serve runs a handler per connection in a task group",
                "[net][serve]") {
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  std::size_t verified = 0;
  co_await anyio::with_task_group([&](anyio::task_group& server) -> anyio::task<> {
    server.start_soon(
        [&]() -> anyio::task<> { co_await listener->serve(echo_until_eof, &server); });
    co_await anyio::with_task_group([&](anyio::task_group& clients) -> anyio::task<> {
      for (int i = 0; i < 5; ++i)
        clients.start_soon(echo_client, port, "client " + std::to_string(i), std::ref(verified));
      co_return;
    });
    server.cancel_scope().cancel();
  });
  CHECK(verified == 5);
}

ANYIO_TEST_CASE_WITH("net serve: a thousand concurrent connections echo all their data",
                     "[net][serve][load]", {.seeds = 3}) {
  constexpr std::size_t connections = 1000;
  const rlim_t limit = net_test::raise_fd_limit(2 * connections + 256);
  REQUIRE(limit >= 2 * connections + 64);
  const std::size_t before = net_test::open_fds();
  std::size_t verified = 0;
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  co_await anyio::fail_after(60s).run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& server) -> anyio::task<> {
      server.start_soon([&]() -> anyio::task<> { co_await listener->serve(echo_until_eof); });
      co_await anyio::with_task_group([&](anyio::task_group& clients) -> anyio::task<> {
        for (std::size_t i = 0; i < connections; ++i) {
          std::string message(1000, static_cast<char>('a' + i % 26));
          message += std::to_string(i);
          clients.start_soon(echo_client, port, std::move(message), std::ref(verified));
        }
        co_return;
      });
      server.cancel_scope().cancel();
    });
  });
  CHECK(verified == connections);
  co_await listener->aclose();
  CHECK(net_test::open_fds() == before);
}

ANYIO_TEST_CASE("net serve: serve without a group stops cleanly when cancelled after a connection",
                "[net][serve]") {
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  std::size_t verified = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await listener->serve(echo_until_eof); });
    co_await echo_client(port, "one", verified);
    tg.cancel_scope().cancel();  // serve's accept is parked again: cancelled, not an error
  });
  CHECK(verified == 1);
}
