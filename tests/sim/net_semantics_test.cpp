// SPDX-License-Identifier: MIT
// The simulated network's semantics, on many seeds: connection refused,
// address in use and port 0, Unix sockets in the run's own namespace, UDP
// (and EMSGSIZE), Linux's reset on close with unread data, backpressure from
// a full receive buffer, EOF, and trio's cancellation guarantees (a
// cancelled receive consumes nothing, a cancelled accept loses no
// connection, a cancelled connect leaves nothing). The same behaviour on
// realio is checked by tests/conformance/net_*_test.cpp.
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error(what);
}

// Option structs are built in named variables: g++ 12 miscompiles a braced
// or defaulted option struct passed by value to a coroutine.
anyio::task<std::unique_ptr<anyio::socket_listener>> listen_local(std::uint16_t port = 0) {
  anyio::tcp_listener_options options;
  options.local_host = "127.0.0.1";
  options.local_port = port;
  co_return co_await anyio::create_tcp_listener(options);
}

anyio::task<std::unique_ptr<anyio::byte_stream>> connect_local(std::uint16_t port) {
  anyio::tcp_connect_options options;
  std::string host = "127.0.0.1";
  co_return co_await anyio::connect_tcp(host, port, options);
}

std::uint16_t port_of(const anyio::socket_listener& l) {
  return l.extra(anyio::socket_attribute::local_port);
}

anyio::task<std::string> receive_all(anyio::byte_stream& s) {
  std::string got;
  char buf[1000];
  for (;;) {
    std::size_t n = 0;
    try {
      n = co_await s.receive(std::span<char>(buf));
    } catch (const anyio::end_of_stream&) {
      co_return got;
    }
    got.append(buf, n);
  }
}

void on_seeds(const anyio::sim::body_fn& body, std::uint64_t seeds = 10) {
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    anyio::sim::options opts;
    opts.seed = seed;
    auto r = anyio::sim::run_body(body, opts);
    INFO("seed " << seed << ": " << r.outcome << ": " << r.message);
    REQUIRE(r.passed());
  }
}

}  // namespace

TEST_CASE("net semantics: no listener is connection refused", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    std::uint16_t port = 0;
    {
      auto l = co_await listen_local();
      port = port_of(*l);
      co_await l->aclose();
    }
    std::string message;
    try {
      (void)co_await connect_local(port);
    } catch (const anyio::connection_failed& e) {
      message = e.what();
    }
    expect(message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos, message);
    expect(message.find("refused") != std::string::npos, message);
  });
}

TEST_CASE("net semantics: port 0 allocates distinct ports and a taken port is address in use",
          "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto a = co_await listen_local();
    auto b = co_await listen_local();
    expect(port_of(*a) != 0 && port_of(*a) != port_of(*b), "distinct ephemeral ports");
    std::error_code code;
    std::string message;
    try {
      (void)co_await listen_local(port_of(*a));
    } catch (const std::system_error& e) {
      code = e.code();
      message = e.what();
    }
    expect(code == std::errc::address_in_use, "address in use: " + message);
    expect(message.find("127.0.0.1:" + std::to_string(port_of(*a))) != std::string::npos,
           message);
    // Once closed, the port is free again.
    const std::uint16_t port = port_of(*a);
    co_await a->aclose();
    auto again = co_await listen_local(port);
    expect(port_of(*again) == port, "port reused after close");
  }, 3);
}

TEST_CASE("net semantics: Unix sockets live in the run's namespace", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    const std::string path = "/sim/echo.sock";
    std::error_code missing;
    try {
      (void)co_await anyio::connect_unix(path);
    } catch (const std::system_error& e) {
      missing = e.code();
    }
    expect(missing == std::errc::no_such_file_or_directory, "no such file before listening");
    auto l = co_await anyio::create_unix_listener(path);
    std::error_code in_use;
    try {
      (void)co_await anyio::create_unix_listener(path);
    } catch (const std::system_error& e) {
      in_use = e.code();
    }
    expect(in_use == std::errc::address_in_use, "path in use");
    std::string got;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        auto s = co_await l->accept();
        got = co_await receive_all(*s);
      });
      auto c = co_await anyio::connect_unix(path);
      expect(c->extra(anyio::socket_attribute::family) == anyio::address_family::unix_domain,
             "family");
      expect(c->extra(anyio::socket_attribute::remote_address).host == path, "remote path");
      co_await c->send("over unix");
      co_await c->aclose();
    });
    expect(got == "over unix", "got '" + got + "'");
    // A closed listener leaves its socket file: connecting is refused.
    co_await l->aclose();
    std::error_code refused;
    try {
      (void)co_await anyio::connect_unix(path);
    } catch (const std::system_error& e) {
      refused = e.code();
    }
    expect(refused == std::errc::connection_refused, "refused after close");
  });
}

TEST_CASE("net semantics: UDP datagrams arrive whole and too large is EMSGSIZE", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    anyio::udp_options options;
    options.local_host = "127.0.0.1";
    auto a = co_await anyio::create_udp_socket(options);
    auto b = co_await anyio::create_udp_socket(options);
    const anyio::socket_address to = b->extra(anyio::socket_attribute::local_address);
    const std::string big(5000, 'x');
    co_await a->send_to(big, to);
    co_await a->send_to("small", to);
    anyio::datagram d1 = co_await b->receive();
    anyio::datagram d2 = co_await b->receive();
    expect(d1.data == big && d2.data == "small", "datagrams whole and in order");
    expect(d1.sender == a->extra(anyio::socket_attribute::local_address), "sender address");
    std::error_code code;
    try {
      co_await a->send_to(std::string(65508, 'y'), to);
    } catch (const std::system_error& e) {
      code = e.code();
    }
    expect(code == std::errc::message_size, "EMSGSIZE");
    co_await a->send_to(std::string(65507, 'y'), to);
    expect((co_await b->receive()).data.size() == 65507, "the largest datagram");
    // A connected socket talks to its peer only.
    auto c = co_await anyio::create_connected_udp_socket("127.0.0.1", to.port, options);
    co_await c->send("hi");
    anyio::datagram d3 = co_await b->receive();
    expect(d3.data == "hi", "connected send");
    co_await b->send_to("back", d3.sender);
    expect(co_await c->receive() == "back", "connected receive");
  });
}

TEST_CASE("net semantics: closing with unread data resets the peer", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    co_await c->send("unread");
    co_await anyio::sleep(1ms);  // it has arrived
    co_await s->aclose();       // with 6 bytes unread: RST
    bool broken = false;
    try {
      char buf[10];
      for (int i = 0; i < 3; ++i) {
        co_await anyio::sleep(1ms);
        (void)co_await c->receive(std::span<char>(buf));
      }
    } catch (const anyio::broken_resource_error&) {
      broken = true;
    }
    expect(broken, "receive after the peer's reset is broken_resource_error");
    bool send_broken = false;
    try {
      co_await c->send("more");
    } catch (const anyio::broken_resource_error&) {
      send_broken = true;
    }
    expect(send_broken, "send after a reset is broken_resource_error");
  });
}

TEST_CASE("net semantics: an orderly close is end_of_stream after the data", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    co_await c->send("all of it");
    co_await c->send_eof();
    expect(co_await receive_all(*s) == "all of it", "data then EOF");
    co_await s->send("reply");
    co_await s->aclose();
    expect(co_await receive_all(*c) == "reply", "receiving works after send_eof");
    bool closed = false;
    try {
      co_await c->send("x");
    } catch (const anyio::closed_resource_error&) {
      closed = true;
    }
    expect(closed, "send after send_eof is closed_resource_error");
  });
}

TEST_CASE("net semantics: a full receive buffer holds the sender back", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    const std::string big(1 << 20, 'b');  // more than any receive buffer (at most 256 KiB)
    bool sent = false;
    std::string got;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        co_await c->send(big);
        sent = true;
        co_await c->send_eof();
      });
      co_await anyio::sleep(1s);
      expect(!sent, "the send waits while nobody reads");
      got = co_await receive_all(*s);
    });
    expect(sent && got == big, "everything arrives once read");
  }, 4);
}

TEST_CASE("net semantics: a cancelled receive consumes nothing", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    {
      auto scope = anyio::move_on_after(1ms);
      co_await scope.run([&]() -> anyio::task<> {
        char buf[10];
        (void)co_await s->receive(std::span<char>(buf));
        throw std::logic_error("nothing was sent");
      });
    }
    co_await c->send("after");
    co_await c->send_eof();
    expect(co_await receive_all(*s) == "after", "the stream is intact");
  });
}

TEST_CASE("net semantics: a cancelled accept loses no connection", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    {
      auto scope = anyio::move_on_after(1ms);
      co_await scope.run([&]() -> anyio::task<> { (void)co_await l->accept(); });
    }
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    co_await c->send("x");
    co_await c->send_eof();
    expect(co_await receive_all(*s) == "x", "the connection made after the cancel");
  });
}

TEST_CASE("net semantics: a cancelled connect leaves no socket", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    {
      auto scope = anyio::move_on_after(1us);  // before the listener's answer arrives
      co_await scope.run([&]() -> anyio::task<> { (void)co_await connect_local(port_of(*l)); });
      expect(scope.cancelled_caught(), "the connect was cancelled");
    }
    // The listener made a connection for the request; the client is gone,
    // so it is reset: receiving on it is broken, not a hang.
    auto s = co_await l->accept();
    bool broken = false;
    try {
      char buf[4];
      (void)co_await s->receive(std::span<char>(buf));
    } catch (const anyio::broken_resource_error&) {
      broken = true;
    }
    expect(broken, "the orphaned connection is reset");
  });
}

TEST_CASE("net semantics: two receivers is busy and close wakes a parked receiver", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    bool busy = false, closed = false;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        try {
          char buf[4];
          (void)co_await s->receive(std::span<char>(buf));
        } catch (const anyio::closed_resource_error&) {
          closed = true;
        }
      });
      co_await anyio::sleep(1ms);
      try {
        char buf[4];
        (void)co_await s->receive(std::span<char>(buf));
      } catch (const anyio::busy_resource_error&) {
        busy = true;
      }
      co_await s->aclose();
    });
    expect(busy, "a second receiver is busy_resource_error");
    expect(closed, "the parked receiver gets closed_resource_error");
  });
}

TEST_CASE("net semantics: wait_readable on a simulated descriptor", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    auto l = co_await listen_local();
    auto c = co_await connect_local(port_of(*l));
    auto s = co_await l->accept();
    const int fd = s->extra(anyio::socket_attribute::raw_socket);
    bool readable = false;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        co_await anyio::wait_readable(fd);
        readable = true;
      });
      co_await anyio::sleep(1ms);
      expect(!readable, "not readable before data");
      co_await c->send("x");
    });
    expect(readable, "readable once data arrived");
    co_await anyio::wait_writable(c->extra(anyio::socket_attribute::raw_socket));
    std::error_code bad;
    try {
      co_await anyio::wait_readable(9999);
    } catch (const std::system_error& e) {
      bad = e.code();
    }
    expect(bad == std::errc::bad_file_descriptor, "unknown descriptor");
  });
}

TEST_CASE("net semantics: resolution of localhost and literals", "[sim][net]") {
  on_seeds([]() -> anyio::task<> {
    anyio::addrinfo_hints hints;
    hints.kind = anyio::socket_kind::stream;
    auto local = co_await anyio::getaddrinfo("localhost", 80, hints);
    expect(local.size() == 2 && local[0].address.host == "127.0.0.1" &&
               local[1].address.host == "::1",
           "localhost is 127.0.0.1 then ::1");
    auto v6 = co_await anyio::getaddrinfo("0:0::1", 80, hints);
    expect(v6.size() == 1 && v6[0].address.host == "::1", "IPv6 literal, canonical");
    bool unknown = false;
    try {
      (void)co_await anyio::getaddrinfo("example.invalid", 80, hints);
    } catch (const std::system_error& e) {
      unknown = std::string(e.what()).find("example.invalid") != std::string::npos;
    }
    expect(unknown, "an unknown name is an error naming it");
    const anyio::socket_address loopback{anyio::address_family::ipv4, "127.0.0.1", 80};
    auto names = co_await anyio::getnameinfo(loopback, false);
    expect(names.first == "localhost" && names.second == "80", "getnameinfo");
  }, 1);
}
