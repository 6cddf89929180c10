// SPDX-License-Identifier: MIT
// Tutorial, "TCP": an echo server and its client in one program. The server
// listens on 127.0.0.1, port 0 (the system picks a free port, read back with
// socket_attribute::local_port), and serve() runs one handler task per
// connection in the caller's task group. The client connects, sends lines,
// checks each echo, half-closes its side (send_eof), and then cancels the
// group, which stops serve() and any handler still running.
//
// test-expect: listening on 127.0.0.1:[0-9]+
// test-expect: server: connection from 127.0.0.1:[0-9]+
// test-expect: client: echoed 'hello'
// test-expect: client: echoed 'line with spaces'
// test-expect: client: all 3 lines echoed
// test-expect: server: client closed its side after 3 lines
// test-expect: server stopped
#include "example_main.hpp"

#include <anyio/net.hpp>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// One task per connection: echo every byte back until the client's orderly
// end of stream.
anyio::task<> handle(std::unique_ptr<anyio::socket_stream> client) {
  const auto peer = client->extra(anyio::socket_attribute::remote_address);
  std::printf("server: connection from %s\n", peer.to_string().c_str());
  std::array<char, 1024> buffer;
  std::size_t lines = 0;
  try {
    for (;;) {
      const std::size_t n = co_await client->receive(std::span(buffer));
      for (std::size_t i = 0; i < n; ++i) lines += buffer[i] == '\n';
      co_await client->send(std::string_view(buffer.data(), n));
    }
  } catch (const anyio::end_of_stream&) {
    std::printf("server: client closed its side after %zu lines\n", lines);
  }
  co_await client->aclose();
}

// Receive until a whole line is in `pending`; return it without the '\n'.
// Bytes may arrive in pieces of any size, so one receive is not one line.
anyio::task<std::string> receive_line(anyio::byte_stream& stream, std::string& pending) {
  for (;;) {
    const auto end = pending.find('\n');
    if (end != std::string::npos) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      co_return line;
    }
    pending += co_await stream.receive(4096);
  }
}

anyio::task<> client(std::uint16_t port) {
  auto stream = co_await anyio::connect_tcp("127.0.0.1", port);
  const std::vector<std::string> lines = {"hello", "line with spaces", "bye"};
  std::string pending;
  for (const std::string& line : lines) {
    co_await stream->send(line + "\n");
    const std::string echo = co_await receive_line(*stream, pending);
    if (echo != line) throw std::runtime_error("client: sent '" + line + "', got '" + echo + "'");
    std::printf("client: echoed '%s'\n", echo.c_str());
  }
  // Half-close: the server sees end_of_stream, and its close ends ours.
  co_await stream->send_eof();
  bool ended = false;
  try {
    co_await stream->receive(4096);
  } catch (const anyio::end_of_stream&) {
    ended = true;
  }
  if (!ended) throw std::runtime_error("client: data after the last echo");
  co_await stream->aclose();
  std::printf("client: all %zu lines echoed\n", lines.size());
}

anyio::task<> amain() {
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options options{.local_host = "127.0.0.1"};
  auto listener = co_await anyio::create_tcp_listener(options);
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(port));
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await listener->serve(handle, &tg); });
    co_await client(port);
    // serve() runs until cancelled: stop it (and any handler left) now.
    tg.cancel_scope().cancel();
  });
  co_await listener->aclose();
  std::printf("server stopped\n");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
