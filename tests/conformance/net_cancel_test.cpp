// SPDX-License-Identifier: MIT
// Conformance: cancelling socket operations on realio and sim. A cancelled
// receive consumed nothing, a cancelled accept lost no connection, a
// cancelled connect left no socket, a stream stays usable after a cancelled
// send, and a task waiting in accept() is waiting for the outside world, not
// deadlocked. The races are run many times: each cancellation lands either
// before the operation took anything (nothing lost) or after (the result is
// delivered), and the totals show which never lost data.
#include "tests/conformance/net_test_support.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("net cancel: a cancelled receive consumed nothing", "[net][cancel]") {
  auto p = co_await net_test::connected_pair();
  // Nothing to read: the receive waits and is cancelled.
  auto idle = anyio::move_on_after(20ms);
  co_await idle.run([&]() -> anyio::task<> { (void)co_await p.server->receive(); });
  REQUIRE(idle.cancelled_caught());
  // Cancelled while the data arrives: each byte goes to the receive or stays.
  std::string sent;
  std::string got;
  for (int i = 0; i < 30; ++i) {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> { got += co_await p.server->receive(); });
      co_await anyio::testing::wait_all_tasks_blocked(1ms);
      const std::string byte(1, static_cast<char>('a' + i % 26));
      co_await p.client->send(byte);
      sent += byte;
      tg.cancel_scope().cancel();
    });
  }
  co_await p.client->send_eof();
  got += co_await net_test::receive_all(*p.server);
  REQUIRE(got == sent);
}

ANYIO_TEST_CASE("net cancel: a cancelled accept lost no connection", "[net][cancel]") {
  auto listener = co_await net_test::local_listener();
  const std::uint16_t port = net_test::port_of(*listener);
  std::vector<std::unique_ptr<anyio::byte_stream>> clients;
  std::vector<std::unique_ptr<anyio::socket_stream>> accepted;
  constexpr int connections = 20;
  for (int i = 0; i < connections; ++i) {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> { accepted.push_back(co_await listener->accept()); });
      co_await anyio::testing::wait_all_tasks_blocked(1ms);
      clients.push_back(co_await anyio::connect_tcp("127.0.0.1", port));
      tg.cancel_scope().cancel();
    });
  }
  // Whatever the cancelled accepts did not take is still queued.
  while (accepted.size() < connections) {
    auto s = co_await anyio::fail_after(5s).run([&] { return listener->accept(); });
    accepted.push_back(std::move(s));
  }
  auto late = anyio::move_on_after(20ms);
  co_await late.run([&]() -> anyio::task<> { (void)co_await listener->accept(); });
  REQUIRE(late.cancelled_caught());  // and nothing more
  // Every client reaches a distinct accepted stream.
  for (int i = 0; i < connections; ++i) {
    co_await clients[i]->send(std::to_string(i) + ";");
    co_await clients[i]->send_eof();
  }
  std::string all;
  for (auto& s : accepted) all += co_await net_test::receive_all(*s);
  for (int i = 0; i < connections; ++i)
    CHECK(all.find(std::to_string(i) + ";") != std::string::npos);
}

ANYIO_TEST_CASE("net cancel: a cancelled connect leaves no socket", "[net][cancel]") {
  // A full accept queue (backlog 1) makes further connects wait for the
  // listener on realio: those are cancelled by the deadline.
  auto listener = co_await net_test::local_listener(1);
  const std::uint16_t port = net_test::port_of(*listener);
  const bool real = net_test::is_os_socket(*listener);
  const std::size_t before = net_test::open_fds();
  std::vector<std::unique_ptr<anyio::byte_stream>> connected;
  int cancelled = 0;
  for (int i = 0; i < 6; ++i) {
    auto scope = anyio::move_on_after(100ms);
    co_await scope.run([&]() -> anyio::task<> {
      connected.push_back(co_await anyio::connect_tcp("127.0.0.1", port));
    });
    if (scope.cancelled_caught()) ++cancelled;
  }
  CHECK(connected.size() + static_cast<std::size_t>(cancelled) == 6);
  if (real) CHECK(cancelled > 0);
  // On realio each connected client is one descriptor here; on sim, none.
  CHECK(net_test::open_fds() == before + (real ? connected.size() : 0));
  for (auto& c : connected) co_await c->aclose();
  CHECK(net_test::open_fds() == before);
}

ANYIO_TEST_CASE("net cancel: the stream stays usable after a cancelled send", "[net][cancel]") {
  auto p = co_await net_test::connected_pair();
  // More than the socket buffers hold while nobody reads: the send waits.
  const std::string big(32 << 20, 'b');
  auto scope = anyio::move_on_after(50ms);
  co_await scope.run([&]() -> anyio::task<> { co_await p.client->send(big); });
  if (net_test::is_os_socket(*p.server)) CHECK(scope.cancelled_caught());
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await net_test::receive_all(*p.server); });
    co_await p.client->send("after");
    co_await p.client->send_eof();
  });
  REQUIRE(got.size() >= 5);
  CHECK(got.substr(got.size() - 5) == "after");
  CHECK(got.find_first_not_of('b') == got.size() - 5);
}

ANYIO_TEST_CASE("net cancel: a task blocked in accept is waiting, not deadlocked",
                "[net][cancel]") {
  auto listener = co_await net_test::local_listener();
  auto scope = anyio::move_on_after(200ms);
  const auto start = anyio::current_time();
  co_await scope.run([&]() -> anyio::task<> { (void)co_await listener->accept(); });
  REQUIRE(scope.cancelled_caught());
  CHECK(anyio::current_time() - start >= 200ms);
  // Closed while another task waits in accept: that task gets closed_resource_error.
  std::optional<std::string> woke;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      woke = co_await net_test::message_of<anyio::closed_resource_error>(
          [&] { return listener->accept(); });
    });
    co_await anyio::testing::wait_all_tasks_blocked(10ms);
    co_await listener->aclose();
  });
  REQUIRE(woke.has_value());
}
