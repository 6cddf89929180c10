// SPDX-License-Identifier: MIT
// Tutorial, "Unix sockets": the TCP echo server and client of tcp_echo.cpp
// over a Unix domain socket. The socket file lives in a fresh directory
// under the system's temp directory, readable by this user only (mode
// 0600), and the directory is removed at the end. On sim the path names a
// socket in the run's own simulated namespace (nothing is created there),
// so the same code runs unchanged.
//
// test-expect: listening on unix:.*/echo.sock
// test-expect: server: connection accepted
// test-expect: client: echoed 'hello'
// test-expect: client: echoed 'line with spaces'
// test-expect: client: all 3 lines echoed
// test-expect: server: client closed its side after 3 lines
// test-expect: server stopped
// test-expect: socket directory removed: yes
#include "example_main.hpp"

#include <anyio/net.hpp>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// One task per connection: echo every byte back until the client's orderly
// end of stream.
anyio::task<> handle(std::unique_ptr<anyio::socket_stream> client) {
  // A Unix client is usually unnamed, so there is no address worth printing.
  std::printf("server: connection accepted\n");
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

anyio::task<> client(std::string path) {
  auto stream = co_await anyio::connect_unix(std::move(path));
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

// A private directory for the socket: mkdtemp creates it with mode 0700.
std::filesystem::path make_socket_dir() {
  const auto temp = std::filesystem::temp_directory_path();
  std::string pattern = (temp / "anyio-unix-echo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  return pattern;
}

anyio::task<> serve_and_talk(const std::string& path) {
  auto listener = co_await anyio::create_unix_listener(path, 0600);
  std::printf("listening on %s\n",
              listener->extra(anyio::socket_attribute::local_address).to_string().c_str());
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await listener->serve(handle, &tg); });
    co_await client(path);
    // serve() runs until cancelled: stop it (and any handler left) now.
    tg.cancel_scope().cancel();
  });
  co_await listener->aclose();
  std::printf("server stopped\n");
}

anyio::task<> amain() {
  const std::filesystem::path dir = make_socket_dir();
  // Remove the directory (and the socket file in it) however the run ends.
  struct remove_dir {
    std::filesystem::path dir;
    ~remove_dir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  const std::string path = (dir / "echo.sock").string();
  co_await serve_and_talk(path);
  std::filesystem::remove_all(dir);
  std::printf("socket directory removed: %s\n", std::filesystem::exists(dir) ? "no" : "yes");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
