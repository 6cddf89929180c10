// SPDX-License-Identifier: MIT
// Tutorial, "A TCP and UDP server on one port": one service that answers on
// TCP and on UDP at the same port number. Both sockets set reuse_port
// (SO_REUSEPORT), so more copies of this server could bind the same port and
// share its traffic (multicore_echo.cpp does that with one copy per thread).
// The server stops on SIGTERM (`kill <pid>`; on sim, sim::send_signal), and
// — so that this example ends by itself — after `max_requests` answers or
// when its deadline passes, whichever is first. Here four clients (two TCP,
// two UDP) ask once each, so it stops on the count.
//
// With --until-sigterm it serves until SIGTERM instead: on realio no
// client of its own runs (examples/check_sigterm.py is the client, then
// sends the signal); on sim two clients ask and then the program sends
// itself SIGTERM with sim::send_signal. Either way it prints the serving
// line only once SIGTERM is watched, so a signal sent after that line can
// never kill the process by default action.
//
// test-expect: serving TCP and UDP on 127.0.0.1:[0-9]+
// test-expect: tcp client alice: 'hello, alice \(tcp\)'
// test-expect: tcp client bob: 'hello, bob \(tcp\)'
// test-expect: udp client carol: 'hello, carol \(udp\)'
// test-expect: udp client dave: 'hello, dave \(udp\)'
// test-expect: server: stopping after 4 requests \(the count\)
#include "example_main.hpp"

#include <anyio/net.hpp>
#include <anyio/signals.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_requests = 4;
constexpr auto server_deadline = 10s;
// --until-sigterm: long enough for any test, short enough that a lost
// signal still ends the program (saying "the deadline", which a test sees).
constexpr auto until_sigterm_deadline = 60s;

bool until_sigterm = false;  // set by main from the command line

struct server_state {
  std::unique_ptr<anyio::socket_listener> tcp;
  std::unique_ptr<anyio::udp_socket> udp;
  anyio::signal_receiver* sigterm = nullptr;  // opened before the serving line
  std::size_t served = 0;
  bool terminated = false;  // SIGTERM stopped it
};

// Everything the peer sends until its end of stream.
anyio::task<std::string> receive_all(anyio::byte_stream& stream) {
  std::string data;
  std::array<char, 512> buffer;
  for (;;) {
    std::size_t n = 0;
    try {
      n = co_await stream.receive(std::span(buffer));
    } catch (const anyio::end_of_stream&) {
      co_return data;
    }
    data.append(buffer.data(), n);
  }
}

// One request answered; the last one allowed stops the server.
void count_one(server_state& s, anyio::task_group& tg) {
  if (++s.served == max_requests && !until_sigterm) tg.cancel_scope().cancel();
}

anyio::task<> run_server(server_state& s) {
  auto deadline = anyio::move_on_after(until_sigterm ? until_sigterm_deadline : server_deadline);
  co_await deadline.run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      // The body returns at once (the group then waits for its tasks), so
      // the tasks capture only what outlives it: `s` and the group itself.
      // TCP: the request is everything up to the client's send_eof().
      tg.start_soon([&]() -> anyio::task<> {
        co_await s.tcp->serve(
            [&](std::unique_ptr<anyio::socket_stream> stream) -> anyio::task<> {
              const std::string name = co_await receive_all(*stream);
              co_await stream->send("hello, " + name + " (tcp)");
              co_await stream->aclose();
              count_one(s, tg);
            },
            &tg);
      });
      // UDP: one datagram in, one out.
      tg.start_soon([&]() -> anyio::task<> {
        for (;;) {
          anyio::datagram d = co_await s.udp->receive();
          co_await s.udp->send_to("hello, " + d.data + " (udp)", d.sender);
          count_one(s, tg);
        }
      });
      // SIGTERM: stop serving (the group cancels the loops above).
      tg.start_soon([&]() -> anyio::task<> {
        (void)co_await s.sigterm->receive();
        s.terminated = true;
        tg.cancel_scope().cancel();
      });
      co_return;
    });
  });
  std::printf("server: stopping after %zu requests (%s)\n", s.served,
              s.terminated                  ? "SIGTERM"
              : deadline.cancelled_caught() ? "the deadline"
                                            : "the count");
}

anyio::task<> tcp_client(std::uint16_t port, std::string name) {
  auto stream = co_await anyio::connect_tcp("127.0.0.1", port);
  co_await stream->send(name);
  co_await stream->send_eof();
  const std::string reply = co_await receive_all(*stream);
  co_await stream->aclose();
  if (reply != "hello, " + name + " (tcp)") throw std::runtime_error("tcp: got '" + reply + "'");
  std::printf("tcp client %s: '%s'\n", name.c_str(), reply.c_str());
}

anyio::task<> udp_client(std::uint16_t port, std::string name) {
  const anyio::udp_options local{.local_host = "127.0.0.1"};
  auto socket = co_await anyio::create_connected_udp_socket("127.0.0.1", port, local);
  co_await socket->send(name);
  // A lost datagram (UDP promises nothing) must not hang the example.
  const std::string reply = co_await anyio::fail_after(5s).run(
      [&]() -> anyio::task<std::string> { co_return co_await socket->receive(); });
  co_await socket->aclose();
  if (reply != "hello, " + name + " (udp)") throw std::runtime_error("udp: got '" + reply + "'");
  std::printf("udp client %s: '%s'\n", name.c_str(), reply.c_str());
}

anyio::task<> amain() {
  server_state s;
  // Watch SIGTERM before anything is printed: from here on it no longer
  // ends the process, it stops the server.
  auto sigterm = anyio::open_signal_receiver({SIGTERM});
  s.sigterm = &sigterm;
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options tcp_options{.local_host = "127.0.0.1", .reuse_port = true};
  s.tcp = co_await anyio::create_tcp_listener(tcp_options);
  const std::uint16_t port = s.tcp->extra(anyio::socket_attribute::local_port);
  const anyio::udp_options udp_options{
      .local_host = "127.0.0.1", .local_port = port, .reuse_port = true};
  s.udp = co_await anyio::create_udp_socket(udp_options);
  std::printf("serving TCP and UDP on 127.0.0.1:%u\n", static_cast<unsigned>(port));
  std::fflush(stdout);  // a test waits for this line on a pipe
  if (until_sigterm) {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(run_server, std::ref(s));
      if (anyio::sim::running()) {
        // The operator: two clients, then SIGTERM. (Named strings: g++ 12
        // frees a temporary std::string inside co_await twice.)
        const std::string alice = "alice";
        const std::string carol = "carol";
        co_await tcp_client(port, alice);
        co_await udp_client(port, carol);
        anyio::sim::send_signal(SIGTERM);
      }
    });
    co_await s.tcp->aclose();
    co_await s.udp->aclose();
    std::printf("server: shut down cleanly\n");
    co_return;
  }
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(run_server, std::ref(s));
    tg.start_soon(tcp_client, port, std::string("alice"));
    tg.start_soon(tcp_client, port, std::string("bob"));
    tg.start_soon(udp_client, port, std::string("carol"));
    tg.start_soon(udp_client, port, std::string("dave"));
    co_return;
  });
  co_await s.tcp->aclose();
  co_await s.udp->aclose();
}

}  // namespace

int main(int argc, char** argv) {
  // --until-sigterm is this example's own; example_main.hpp reads the rest.
  int kept = 0;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--until-sigterm") == 0)
      until_sigterm = true;
    else
      argv[kept++] = argv[i];
  }
  return anyio_examples::run_example(kept, argv, amain);
}
