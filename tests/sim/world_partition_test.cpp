// SPDX-License-Identifier: MIT
// Overlapping partitions of a sim::world are independent: a link two
// partitions cut carries traffic again only once both are lifted, whether
// they are lifted one by one (heal(a, b), heal_one_way) or all at once
// (heal()).
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

anyio::task<> udp_sink(std::vector<std::string>* got) {
  anyio::udp_options options;
  options.local_port = 9000;
  auto u = co_await anyio::create_udp_socket(options);
  for (;;) {
    auto d = co_await u->receive();
    got->push_back(d.data);
  }
}

// Every 10 ms (at 10, 20, ... 60 ms), one datagram tagged with its index.
anyio::task<> send_six(std::string to, std::string tag) {
  auto u = co_await anyio::create_connected_udp_socket(to, 9000);
  for (int i = 0; i < 6; ++i) {
    co_await anyio::sleep(10ms);
    co_await u->send(tag + std::to_string(i));
  }
}

using steps = std::function<anyio::task<>(const anyio::sim::world&)>;

// Hosts a and c send to b; `test` cuts and heals links meanwhile.
std::vector<std::string> received_by_b(const steps& test, std::uint64_t seed) {
  std::vector<std::string> got;
  auto body = [&]() -> anyio::task<> {
    got.clear();
    anyio::sim::world w;
    w.add_host("a", "10.0.0.1", []() { return send_six("b", "a"); });
    w.add_host("b", "10.0.0.2", [&]() { return udp_sink(&got); });
    w.add_host("c", "10.0.0.3", []() { return send_six("b", "c"); });
    co_await w.run([&]() { return test(w); });
  };
  anyio::sim::options opts;
  opts.seed = seed;
  auto r = anyio::sim::run_body(body, opts);
  INFO(r.outcome << " " << r.message);
  REQUIRE(r.passed());
  std::sort(got.begin(), got.end());
  return got;
}

}  // namespace

TEST_CASE("world partitions: healing one leaves another that cuts the same link",
          "[sim][world]") {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    auto got = received_by_b([](const anyio::sim::world& w) -> anyio::task<> {
      co_await anyio::sleep(15ms);
      w.partition({"a"}, {"b"});
      w.partition({"a", "c"}, {"b"});  // a <-> b cut twice
      co_await anyio::sleep(20ms);
      w.heal({"a"}, {"b"});  // a <-> b still cut by the second
      co_await anyio::sleep(20ms);
      w.heal({"a", "c"}, {"b"});
      co_await anyio::sleep(20ms);
    }, seed);
    CHECK(got == std::vector<std::string>{"a0", "a5", "c0", "c5"});
  }
}

TEST_CASE("world partitions: one-way cuts overlap with two-way ones, heal() lifts them all",
          "[sim][world]") {
  auto got = received_by_b([](const anyio::sim::world& w) -> anyio::task<> {
    co_await anyio::sleep(15ms);
    w.partition_one_way({"a"}, {"b"});
    w.partition({"b"}, {"a", "c"});
    co_await anyio::sleep(20ms);
    w.heal({"b"}, {"a", "c"});  // c -> b passes again; a -> b is still cut one way
    co_await anyio::sleep(10ms);
    w.partition_one_way({"c"}, {"b"});
    w.partition_one_way({"c"}, {"b"});
    w.heal_one_way({"c"}, {"b"});  // one of the two lifted: still cut
    co_await anyio::sleep(10ms);
    w.heal();  // every cut, however many times made
    co_await anyio::sleep(15ms);
  }, 3);
  CHECK(got == std::vector<std::string>{"a0", "a5", "c0", "c3", "c5"});
}

TEST_CASE("world partitions: healing a link that is not cut does nothing", "[sim][world]") {
  auto got = received_by_b([](const anyio::sim::world& w) -> anyio::task<> {
    w.heal({"a"}, {"b"});  // nothing to lift: the count does not go below zero
    co_await anyio::sleep(15ms);
    w.partition({"a"}, {"b"});
    co_await anyio::sleep(50ms);
  }, 1);
  CHECK(got == std::vector<std::string>{"a0", "c0", "c1", "c2", "c3", "c4", "c5"});
}
