// SPDX-License-Identifier: MIT
// The shared parts of connect_tcp and create_tcp_listener (runtime/net.cpp),
// on the simulated network, where "localhost" is 127.0.0.1 then ::1 on every
// machine (realio's answer depends on the machine's /etc/hosts and IPv6):
// happy eyeballs moves on to the next address when the first is refused,
// connection_failed lists every address tried, and a listener on every
// interface is a multi_listener that accepts on both families.
#include <anyio/anyio.hpp>
#include <anyio/testing/catch.hpp>

#include <chrono>
#include <string>

namespace {

anyio::task<std::unique_ptr<anyio::socket_listener>> listen_on(std::string host) {
  anyio::tcp_listener_options options;
  options.local_host = std::move(host);
  co_return co_await anyio::create_tcp_listener(options);
}

}  // namespace

TEST_CASE("net resolution: connect_tcp to localhost reaches a listener on ::1 only",
          "[net][sim]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    anyio::sim::options o;
    o.seed = seed;
    std::string remote;
    anyio::sim::run(
        [&]() -> anyio::task<> {
          auto listener = co_await listen_on("::1");
          const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
          co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
              auto s = co_await listener->accept();
              co_await s->aclose();
            });
            // 127.0.0.1 comes first and is refused: the next attempt starts
            // at once, not after the 250 ms happy-eyeballs delay.
            const auto start = anyio::current_time();
            auto c = co_await anyio::connect_tcp("localhost", port);
            remote = c->extra(anyio::socket_attribute::remote_address).to_string();
            CHECK(anyio::current_time() - start < std::chrono::milliseconds(250));
            co_await c->aclose();
          });
        },
        o);
    INFO("seed " << seed);
    CHECK(remote.find("::1") != std::string::npos);
  }
}

TEST_CASE("net resolution: connection_failed lists every address of localhost", "[net][sim]") {
  anyio::sim::options o;
  o.seed = 3;
  std::string message;
  anyio::sim::run(
      [&]() -> anyio::task<> {
        try {
          co_await anyio::connect_tcp("localhost", 9);
        } catch (const anyio::connection_failed& e) {
          message = e.what();
        }
      },
      o);
  CHECK(message.find("127.0.0.1:9") != std::string::npos);
  CHECK(message.find("[::1]:9") != std::string::npos);
  CHECK(message.find("2 addresses tried") != std::string::npos);
}

TEST_CASE("net resolution: a listener on every interface accepts on both families",
          "[net][sim]") {
  anyio::sim::options o;
  o.seed = 5;
  int accepted = 0;
  bool multi = false;
  anyio::sim::run(
      [&]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener();
        multi = dynamic_cast<anyio::multi_listener<anyio::socket_stream>*>(listener.get()) !=
                nullptr;
        const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
          tg.start_soon([&]() -> anyio::task<> {
            for (int i = 0; i < 2; ++i) {
              auto s = co_await listener->accept();
              ++accepted;
            }
          });
          for (const char* host : {"127.0.0.1", "::1"}) {
            auto c = co_await anyio::connect_tcp(host, port);
            co_await c->aclose();
          }
        });
      },
      o);
  CHECK(multi);
  CHECK(accepted == 2);
}
