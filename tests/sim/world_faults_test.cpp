// SPDX-License-Identifier: MIT
// Network faults of a sim::world: a partition drops UDP and holds TCP until
// heal (both ways, or one way only), a clog holds everything and releases
// it in order, a fixed link latency delays every packet by that much, UDP
// loss on a link loses datagrams, and each fault is a "fault" line of the
// trace.
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Host "b" counts the datagrams it receives on port 9000 and keeps them.
struct inbox {
  std::vector<std::string> got;
};

anyio::task<> udp_sink(inbox* in) {
  anyio::udp_options options;
  options.local_port = 9000;
  auto u = co_await anyio::create_udp_socket(options);
  for (;;) {
    auto d = co_await u->receive();
    in->got.push_back(d.data);
  }
}

anyio::task<> send_udp(std::string host, std::string what) {
  auto u = co_await anyio::create_connected_udp_socket(host, 9000);
  co_await u->send(what);
}

anyio::sim::run_result run(const anyio::sim::body_fn& body, std::uint64_t seed,
                           const std::string& trace = {}) {
  anyio::sim::options opts;
  opts.seed = seed;
  opts.trace_path = trace;
  return anyio::sim::run_body(body, opts);
}

}  // namespace

TEST_CASE("world faults: partitions drop UDP, one way or both, until heal", "[sim][world]") {
  inbox in_b, in_a;
  auto body = [&]() -> anyio::task<> {
    in_a = {};
    in_b = {};
    anyio::sim::world w;
    w.add_host("a", "10.0.0.1", [&]() -> anyio::task<> {
      co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(udp_sink, &in_a);
        for (int i = 0; i < 6; ++i) {
          co_await anyio::sleep(10ms);
          co_await send_udp("b", "a" + std::to_string(i));
        }
      });
    });
    w.add_host("b", "10.0.0.2", [&]() -> anyio::task<> {
      co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(udp_sink, &in_b);
        for (int i = 0; i < 6; ++i) {
          co_await anyio::sleep(10ms);
          co_await send_udp("a", "b" + std::to_string(i));
        }
      });
    });
    co_await w.run([&]() -> anyio::task<> {
      co_await anyio::sleep(15ms);  // one datagram each way passes
      w.partition({"a"}, {"b"});
      co_await anyio::sleep(20ms);  // two each way are lost
      w.heal();
      w.partition_one_way({"a"}, {"b"});
      co_await anyio::sleep(20ms);  // a -> b lost, b -> a passes
      w.heal();
      co_await anyio::sleep(30ms);
    });
  };
  REQUIRE(run(body, 1).passed());
  CHECK(in_b.got == std::vector<std::string>{"a0", "a5"});
  CHECK(in_a.got == std::vector<std::string>{"b0", "b3", "b4", "b5"});
}

TEST_CASE("world faults: a clog holds TCP and releases it in order, latency is per link",
          "[sim][world]") {
  std::string received;
  std::int64_t first_arrival = 0;
  const std::string trace = anyio_test::temp_path("anyio-world-test", "clog.jsonl");
  auto body = [&]() -> anyio::task<> {
    received.clear();
    first_arrival = 0;
    anyio::sim::world w;
    w.add_host("server", "10.0.0.1", [&]() -> anyio::task<> {
      anyio::tcp_listener_options options;
      options.local_port = 7000;
      auto l = co_await anyio::create_tcp_listener(options);
      auto s = co_await l->accept();
      char buf[256];
      try {
        for (;;) {
          const std::size_t n = co_await s->receive(std::span<char>(buf));
          if (received.empty()) first_arrival = anyio::current_time().time_since_epoch().count();
          received.append(buf, n);
        }
      } catch (const anyio::end_of_stream&) {
      }
    });
    w.add_host("client", "10.0.0.2", []() -> anyio::task<> { co_return; });
    co_await w.run([&]() -> anyio::task<> {
      anyio::sim::link_options slow;
      slow.set_latency = true;
      slow.delay = anyio::sim::latency::fixed(50ms);
      w.set_link("server", "client", slow);
      w.set_link("server", "localhost", slow);
      co_await anyio::sleep(1ms);
      anyio::tcp_connect_options options;
      auto c = co_await anyio::connect_tcp("server", 7000, options);  // 100 ms round trip
      if (anyio::current_time().time_since_epoch() < 100ms)
        throw std::logic_error("the connection beat the link's latency");
      w.clog("localhost", "server");
      for (int i = 0; i < 20; ++i) co_await c->send(std::to_string(i) + ",");
      co_await anyio::sleep(1s);
      if (!received.empty()) throw std::logic_error("a clogged link delivered");
      w.unclog("localhost", "server");
      co_await c->send_eof();
      co_await anyio::sleep(1s);
    });
  };
  auto r = run(body, 5, trace);
  INFO(r.message);
  REQUIRE(r.passed());
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += std::to_string(i) + ",";
  CHECK(received == expected);
  CHECK(first_arrival >= std::chrono::nanoseconds(1s + 100ms).count());
  const std::string text = anyio_test::slurp(trace);
  CHECK(text.find(R"("op":"fault","src":"clog")") != std::string::npos);
  CHECK(text.find(R"("op":"fault","src":"unclog")") != std::string::npos);
  anyio::sim::replay(body, trace);
}

TEST_CASE("world faults: UDP loss on a link loses some datagrams, by seed", "[sim][world]") {
  inbox in;
  auto body = [&]() -> anyio::task<> {
    in = {};
    anyio::sim::world w;
    w.add_host("sink", "10.0.0.9", [&]() { return udp_sink(&in); });
    co_await w.run([&]() -> anyio::task<> {
      anyio::sim::link_options lossy;
      lossy.udp_loss = 0.5;
      w.set_link("sink", "localhost", lossy);
      co_await anyio::sleep(1ms);
      for (int i = 0; i < 100; ++i) co_await send_udp("sink", std::to_string(i));
      co_await anyio::sleep(1s);
    });
  };
  REQUIRE(run(body, 2).passed());
  CHECK(in.got.size() > 20);
  CHECK(in.got.size() < 80);
  const auto first = in.got;
  REQUIRE(run(body, 2).passed());
  CHECK(in.got == first);  // the same seed loses the same datagrams
}
