// SPDX-License-Identifier: MIT
// Tutorial, "UDP": an echo server on an unconnected UDP socket, which answers
// each datagram to whoever sent it (datagram::sender), and a client on a
// connected UDP socket, which has one fixed peer and so sends and receives
// plain strings. Every datagram keeps its boundaries: one send is one
// receive. UDP may lose datagrams (not on loopback in practice), so the
// client bounds each wait with fail_after rather than hanging forever.
//
// test-expect: server: bound to 127.0.0.1:[0-9]+
// test-expect: server: 'ping 1' from 127.0.0.1:[0-9]+
// test-expect: client: 'ping 1' -> 'PING 1'
// test-expect: client: 'ping 3' -> 'PING 3'
// test-expect: client: 3 datagrams echoed
// test-expect: server stopped after 3 datagrams
#include "example_main.hpp"

#include <anyio/net.hpp>

#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

anyio::task<> server(anyio::udp_socket& socket, std::size_t& served) {
  for (;;) {
    anyio::datagram d = co_await socket.receive();
    std::printf("server: '%s' from %s\n", d.data.c_str(), d.sender.to_string().c_str());
    std::string reply = d.data;
    for (char& c : reply) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    co_await socket.send_to(reply, d.sender);
    ++served;
  }
}

anyio::task<> client(std::uint16_t port) {
  const anyio::udp_options local{.local_host = "127.0.0.1"};
  auto socket = co_await anyio::create_connected_udp_socket("127.0.0.1", port, local);
  for (int i = 1; i <= 3; ++i) {
    const std::string message = "ping " + std::to_string(i);
    co_await socket->send(message);
    const std::string reply = co_await anyio::fail_after(5s).run(
        [&]() -> anyio::task<std::string> { co_return co_await socket->receive(); });
    if (reply != "PING " + std::to_string(i))
      throw std::runtime_error("client: sent '" + message + "', got '" + reply + "'");
    std::printf("client: '%s' -> '%s'\n", message.c_str(), reply.c_str());
  }
  co_await socket->aclose();
  std::printf("client: 3 datagrams echoed\n");
}

anyio::task<> amain() {
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::udp_options options{.local_host = "127.0.0.1"};
  auto socket = co_await anyio::create_udp_socket(options);
  const auto bound = socket->extra(anyio::socket_attribute::local_address);
  std::printf("server: bound to %s\n", bound.to_string().c_str());
  std::size_t served = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(server, std::ref(*socket), std::ref(served));
    co_await client(bound.port);
    tg.cancel_scope().cancel();  // the server loops forever: stop it
  });
  co_await socket->aclose();
  std::printf("server stopped after %zu datagrams\n", served);
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
