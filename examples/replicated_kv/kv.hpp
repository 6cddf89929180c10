// SPDX-License-Identifier: MIT
// A tiny replicated key set, the demo of docs/simulated-world.md: a primary
// keeps the keys in memory and answers clients over TCP; a backup keeps a
// copy on its "disk" (state that survives a crash). A restarted primary
// recovers its keys from the backup. The bug (fixed = false): the primary
// acknowledges a write as soon as it has sent the replication datagram,
// without waiting for the backup's answer. The datagram is lost only if a
// partition separates the two at that moment, and the write is lost only if
// the primary then crashes before the backup has it: it takes a partition
// and a restart together, which a sweep with a swarmed fault plan finds.
// The fixed version replicates over TCP and acknowledges after the backup
// did. The same server code runs on sim hosts and on realio as separate
// processes (demo.cpp --realio): the one difference, where the roles listen
// and reach each other, is a `config` (sim: host names and fixed ports;
// realio: loopback addresses and ports the OS chose).
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim_world.hpp>

#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>

namespace kv {

using namespace std::chrono_literals;

inline constexpr std::uint16_t client_port = 7000;
inline constexpr std::uint16_t backup_port = 7001;

// Where the roles listen and find each other. The defaults are the sim
// world's (hosts resolve by name, fixed ports); on realio every field comes
// from the command line and a port of 0 lets the OS choose.
struct config {
  std::string primary_host = "primary";
  std::uint16_t primary_port = kv::client_port;
  std::string backup_host = "backup";
  std::uint16_t backup_port = kv::backup_port;
  std::string listen_host{};  ///< the servers' bind address ("" = every interface)
  /// Called with the port a server listens on once it accepts connections
  /// (realio prints it for the driver; unset on sim).
  std::function<void(std::uint16_t)> on_listening{};
};

// One line of a request or answer (TCP may split anything).
template <class Stream> anyio::task<std::string> read_line(Stream& s) {
  std::string got;
  char c = 0;
  for (;;) {
    const std::size_t n = co_await s.receive(std::span<char>(&c, 1));
    if (n == 1 && c == '\n') co_return got;
    got.append(&c, n);
  }
}

// A request over a new connection; throws on any failure (the caller retries).
inline anyio::task<std::string> request(std::string host, std::uint16_t port,
                                        std::string line) {
  anyio::tcp_connect_options options;
  auto c = co_await anyio::connect_tcp(host, port, options);
  co_await c->send(line + "\n");
  co_return co_await read_line(*c);
}

// The backup: "REP k" stores k on its disk; "DUMP" lists them. Datagrams
// "k" (the buggy primary's replication) are stored too.
inline anyio::task<> backup_main(std::set<std::string>* disk, config cfg) {
  anyio::tcp_listener_options options;
  options.local_host = cfg.listen_host;
  options.local_port = cfg.backup_port;
  auto listener = co_await anyio::create_tcp_listener(options);
  anyio::udp_options uo;
  uo.local_host = cfg.listen_host;
  // The datagrams come to the TCP port's number, also when the OS chose it.
  uo.local_port = cfg.backup_port != 0 ? cfg.backup_port
                                       : listener->extra(anyio::socket_attribute::local_port);
  auto udp = co_await anyio::create_udp_socket(uo);
  if (cfg.on_listening) cfg.on_listening(uo.local_port);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (;;) disk->insert((co_await udp->receive()).data);
    });
    for (;;) {
      auto s = co_await listener->accept();
      tg.start_soon([disk](std::unique_ptr<anyio::socket_stream> s) -> anyio::task<> {
        try {
          const std::string line = co_await read_line(*s);
          if (line.rfind("REP ", 0) == 0) {
            disk->insert(line.substr(4));
            co_await s->send("OK\n");
          } else {
            std::string all;
            for (const auto& k : *disk) all += k + " ";
            co_await s->send(all + "\n");
          }
        } catch (const std::exception&) {  // a client gone: its problem
        }
      }, std::move(s));
    }
  });
}

inline anyio::task<> backup_main(std::set<std::string>* disk) {
  return backup_main(disk, config{});
}

// The primary: recovers from the backup, then serves "SET k" and "GET k".
inline anyio::task<> primary_main(bool fixed, config cfg) {
  std::set<std::string> keys;  // in memory: gone when the host crashes
  for (bool recovered = false; !recovered;) {
    auto attempt = anyio::move_on_after(200ms);
    co_await attempt.run([&]() -> anyio::task<> {
      try {
        std::string all = co_await request(cfg.backup_host, cfg.backup_port, "DUMP");
        for (std::size_t p = 0; p < all.size();) {
          const std::size_t q = all.find(' ', p);
          keys.insert(all.substr(p, q - p));
          p = q + 1;
        }
        recovered = true;
      } catch (const std::exception&) {
      }
    });
    if (!recovered) co_await anyio::sleep(50ms);
  }
  auto udp = co_await anyio::create_connected_udp_socket(cfg.backup_host, cfg.backup_port);
  anyio::tcp_listener_options options;
  options.local_host = cfg.listen_host;
  options.local_port = cfg.primary_port;
  auto listener = co_await anyio::create_tcp_listener(options);
  if (cfg.on_listening) cfg.on_listening(listener->extra(anyio::socket_attribute::local_port));
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (;;) {
      auto s = co_await listener->accept();
      tg.start_soon([&](std::unique_ptr<anyio::socket_stream> s) -> anyio::task<> {
        try {
          const std::string line = co_await read_line(*s);
          const std::string k = line.substr(4);
          if (line.rfind("SET ", 0) == 0) {
            if (fixed) {
              // Acknowledge only what the backup has.
              std::string answer;
              while (answer != "OK") {
                auto attempt = anyio::move_on_after(100ms);
                co_await attempt.run([&]() -> anyio::task<> {
                  try {
                    answer = co_await request(cfg.backup_host, cfg.backup_port, "REP " + k);
                  } catch (const std::exception&) {
                  }
                });
              }
            } else {
              co_await udp->send(k);  // BUG: acknowledged before the backup has it
            }
            keys.insert(k);
            co_await s->send("OK\n");
          } else {
            co_await s->send(keys.count(k) != 0 ? "HAVE\n" : "NONE\n");
          }
        } catch (const std::exception&) {
        }
      }, std::move(s));
    }
  });
}

inline anyio::task<> primary_main(bool fixed) { return primary_main(fixed, config{}); }

// Retries `line` to the primary until it answers (it may be down or cut off).
inline anyio::task<std::string> ask_primary(config cfg, std::string line) {
  for (;;) {
    std::string answer;
    auto attempt = anyio::move_on_after(300ms);
    co_await attempt.run([&]() -> anyio::task<> {
      try {
        answer = co_await request(cfg.primary_host, cfg.primary_port, line);
      } catch (const std::exception&) {
      }
    });
    if (!answer.empty()) co_return answer;
    co_await anyio::sleep(50ms);
  }
}

inline anyio::task<std::string> ask_primary(std::string line) {
  return ask_primary(config{}, std::move(line));
}

// The test: write keys, then every acknowledged key must still be there.
inline anyio::task<> scenario(bool fixed, anyio::sim::fault_plan plan) {
  std::set<std::string> disk;
  anyio::sim::world w;
  w.add_host("primary", "10.0.0.1", [fixed]() { return primary_main(fixed); });
  w.add_host("backup", "10.0.0.2", [&disk]() { return backup_main(&disk); });
  w.set_plan(plan);
  co_await w.run([&]() -> anyio::task<> {
    std::set<std::string> acked;
    for (int i = 0; i < 12; ++i) {
      const std::string k = "k" + std::to_string(i);
      if (co_await ask_primary("SET " + k) == "OK") acked.insert(k);
      co_await anyio::sleep(40ms);
    }
    co_await anyio::sleep(2s);  // every fault of the plan has run its course
    for (const auto& k : acked)
      if (co_await ask_primary("GET " + k) != "HAVE")
        throw std::logic_error("acknowledged write " + k + " was lost");
  });
}

// The plan the demo sweeps: crashes and partitions, swarmed per seed.
inline anyio::sim::fault_plan demo_plan() {
  anyio::sim::fault_plan p;
  p.tick = 50ms;
  p.max_ticks = 6;
  p.crash = 0.1;
  p.partition = 0.2;
  p.swarm = true;
  return p;
}

}  // namespace kv
