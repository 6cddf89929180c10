// SPDX-License-Identifier: MIT
// The simulated world (docs/simulated-world.md) on one core, three figures:
// - sim_world_time: virtual milliseconds simulated per real second on a
//   sleep- and message-heavy 5-host workload (each host wakes every 1-10
//   virtual ms and sends a datagram to the next host, which answers over a
//   kept TCP connection). Target: a virtual-to-real ratio of at least
//   1,000x, i.e. 1,000,000 virtual ms per real second (TigerBeetle's VOPR
//   reports about 700x).
// - sim_world_msgs: datagrams delivered between hosts per real second, 5
//   hosts passing 20 tokens round a ring without sleeping.
// - sim_world_sweep: seeds per second of a sweep of a 5-host test (1 s of
//   virtual time of the first workload) under a swarmed fault plan of every
//   kind.
#include "harness.hpp"

#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr int hosts = 5;
std::uint64_t delivered = 0;

std::string host_name(int i) { return "h" + std::to_string(i); }

// Receives datagrams on 9000 and answers each over TCP to the sender's 7000.
anyio::task<> busy_host(int me, bool sleepy) {
  anyio::udp_options uo;
  uo.local_port = 9000;
  auto udp = co_await anyio::create_udp_socket(uo);
  anyio::tcp_listener_options lo;
  lo.local_port = 7000;
  auto listener = co_await anyio::create_tcp_listener(lo);
  // In busy_host's frame, not the group body's: the children outlive the body.
  const std::string next = host_name((me + 1) % hosts);
  auto out = co_await anyio::create_connected_udp_socket(next, 9000);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {  // the TCP side: count what arrives
      auto s = co_await listener->accept();
      char buf[256];
      for (;;) (void)co_await s->receive(std::span<char>(buf));
    });
    tg.start_soon([&]() -> anyio::task<> {  // datagrams in; the ring passes them on
      for (;;) {
        (void)co_await udp->receive();
        ++delivered;
        if (!sleepy) co_await out->send("token");
      }
    });
    if (!sleepy) {
      co_await anyio::sleep(1ms);  // every host listens
      for (int t = 0; t < 4; ++t) co_await out->send("token");
      co_return;  // the ring runs on its own
    }
    co_await anyio::sleep(1ms);
    anyio::tcp_connect_options co;
    auto tcp = co_await anyio::connect_tcp(next, 7000, co);
    for (std::uint64_t n = 0;; ++n) {
      if (sleepy) co_await anyio::sleep(std::chrono::milliseconds(1 + (n * 7 + me) % 10));
      co_await out->send("ping");
      if (n % 4 == 0) co_await tcp->send("tick");
    }
  });
}

anyio::task<> run_world(bool sleepy, std::chrono::nanoseconds length,
                        const anyio::sim::fault_plan* plan) {
  anyio::sim::world w;
  for (int i = 0; i < hosts; ++i)
    w.add_host(host_name(i), "10.0.0." + std::to_string(i + 1),
               [i, sleepy]() { return busy_host(i, sleepy); });
  if (plan != nullptr) w.set_plan(*plan);
  co_await w.run([length]() -> anyio::task<> { co_await anyio::sleep(length); });
}

void on_time(std::uint64_t virtual_ms) {
  anyio::sim::options opts;
  opts.seed = 1;
  anyio_bench::begin_measure();
  anyio::sim::run(run_world, true, std::chrono::nanoseconds(std::chrono::milliseconds(virtual_ms)),
                  static_cast<const anyio::sim::fault_plan*>(nullptr), opts);
  anyio_bench::end_measure();
}

void on_msgs(std::uint64_t messages) {
  // Without sleeps the run is as long as the messages take: stop at the count.
  delivered = 0;
  anyio::sim::options opts;
  opts.seed = 1;
  anyio_bench::begin_measure();
  anyio::sim::run([messages]() -> anyio::task<> {
    anyio::sim::world w;
    for (int i = 0; i < hosts; ++i)
      w.add_host(host_name(i), "10.0.0." + std::to_string(i + 1),
                 [i]() { return busy_host(i, false); });
    co_await w.run([messages]() -> anyio::task<> {
      while (delivered < messages) co_await anyio::sleep(100us);
    });
  }, opts);
  anyio_bench::end_measure();
  if (delivered < messages) throw std::runtime_error("fewer messages than asked for");
}

void on_sweep(std::uint64_t seeds) {
  const anyio::sim::fault_plan plan = anyio::sim::fault_plan::swarm_all();
  anyio::sim::sweep_options opts;
  opts.seeds = {0, seeds};
  opts.progress = false;
  anyio_bench::begin_measure();
  auto s = anyio::sim::sweep(
      [&plan]() { return run_world(true, std::chrono::nanoseconds(1s), &plan); }, opts);
  anyio_bench::end_measure();
  if (s.seeds_run != seeds) throw std::runtime_error("sweep did not run every seed");
}

[[maybe_unused]] const int registered_time = anyio_bench::add({
    .name = "sim_world_time",
    .label = "world: 5 hosts, virtual ms",
    .unit = "virtual ms",
    .ops = 60'000,
    .goals = {.min_sim_rate = 1'000'000, .sim_rate_unit = "virtual ms"},
    .variants = {{"sim", on_time}},
});

[[maybe_unused]] const int registered_msgs = anyio_bench::add({
    .name = "sim_world_msgs",
    .label = "world: 5 hosts, datagrams",
    .unit = "message",
    .ops = 200'000,
    .goals = {},
    .variants = {{"sim", on_msgs}},
});

[[maybe_unused]] const int registered_sweep = anyio_bench::add({
    .name = "sim_world_sweep",
    .label = "world: 5-host fault sweep",
    .unit = "seed",
    .ops = 200,
    .goals = {},
    .variants = {{"sim", on_sweep}},
});

}  // namespace
