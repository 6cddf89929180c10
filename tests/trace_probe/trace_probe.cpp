// SPDX-License-Identifier: MIT
// Writes the simulator traces of four workloads for one seed into a
// directory; scripts/test.sh builds this program with g++ and with clang++
// and requires the traces to be byte-identical for 20 seeds (same seed, same
// trace, on any compiler). The workloads touch what could drift between
// compilers: channels and locks, cancellation with deadlines and shielded
// cleanup, PCT scheduling and seeded draws, and a simulated world under a
// swarmed fault plan (crashes, partitions, clogs, resets, clock drift and
// jumps, disk faults): every fault decision, latency draw and fs line.
// Usage: trace_probe SEED OUT_DIR
#include <anyio/anyio.hpp>
#include <anyio/files.hpp>
#include <anyio/net.hpp>
#include <anyio/sim_world.hpp>

#include <cstdio>
#include <memory>
#include <cstdlib>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

anyio::task<> channels_and_locks() {
  auto s = anyio::create_memory_object_stream<int>(2);
  anyio::lock mutex;
  long total = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int p = 0; p < 3; ++p)
      tg.start_soon(anyio::task_name("producer-" + std::to_string(p)),
                    [](anyio::memory_object_send_stream<int> tx, int base) -> anyio::task<> {
                      for (int i = 0; i < 5; ++i) co_await tx.send(base + i);
                    },
                    s.send.clone(), p * 100);
    s.send.close();
    for (int c = 0; c < 2; ++c)
      tg.start_soon(anyio::task_name("consumer-" + std::to_string(c)),
                    [&](anyio::memory_object_receive_stream<int> rx) -> anyio::task<> {
                      while (auto v = co_await rx.next()) {
                        auto held = co_await mutex.guard();
                        total += *v;
                        co_await anyio::checkpoint();
                      }
                    },
                    s.receive.clone());
    s.receive.close();
    co_return;
  });
  if (total != 3 * 10 + 5 * (0 + 100 + 200)) throw std::logic_error("bad total");
}

anyio::task<> cancellation_and_time() {
  int cleaned = 0;
  auto outer = anyio::move_on_after(250ms);
  co_await outer.run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < 4; ++i)
        tg.start_soon([&, i]() -> anyio::task<> {
          std::exception_ptr cancel;
          try {
            for (;;) {
              auto inner = anyio::move_on_after(std::chrono::milliseconds(30 + 10 * i));
              co_await inner.run([]() -> anyio::task<> { co_await anyio::sleep(1h); });
              co_await anyio::sleep(std::chrono::milliseconds(anyio::random_below(20, "jitter")));
            }
          } catch (const anyio::cancelled&) {
            cancel = std::current_exception();
          }
          anyio::cancel_scope shield{{.shield = true}};
          co_await shield.run([&]() -> anyio::task<> {
            co_await anyio::sleep(5ms);
            ++cleaned;
          });
          std::rethrow_exception(cancel);
        });
      co_return;
    });
  });
  if (cleaned != 4) throw std::logic_error("a cleanup did not run");
}

anyio::task<> pct_counter() {
  int counter = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i)
      tg.start_soon([&]() -> anyio::task<> {
        for (int k = 0; k < 10; ++k) {
          int seen = counter;
          co_await anyio::checkpoint();
          counter = seen + 1;
        }
      });
    co_return;
  });
}

// Three hosts that log every request to their own disk (write + sync)
// and answer it; the controlling host asks each in turn under a timeout.
// Faults make requests fail in many ways: each failure is counted, not
// raised, so the run goes on and its trace covers every kind of fault.
anyio::task<> serve_and_log() {
  anyio::path dir("/data");
  co_await dir.mkdir({.parents = true, .exist_ok = true});
  anyio::tcp_listener_options options;
  options.local_port = 7000;
  auto listener = co_await anyio::create_tcp_listener(options);
  for (int n = 0;; ++n) {
    auto s = co_await listener->accept();
    try {
      auto log = co_await anyio::open_file("/data/log", "a");
      co_await log.write("request " + std::to_string(n) + "\n");
      co_await log.sync();
      co_await log.aclose();
      co_await s->send("ok");
    } catch (const std::exception&) {
      // a disk or connection fault: this request goes unanswered
    }
    co_await s->aclose();
  }
}

anyio::task<> world_under_faults() {
  anyio::sim::world w;
  w.add_host("db1", "10.0.0.1", serve_and_log);
  w.add_host("db2", "10.0.0.2", serve_and_log);
  w.add_host("db3", "10.0.0.3", serve_and_log);
  co_await w.run([&]() -> anyio::task<> {
    w.set_clock("db2", 3ms, 250);
    int answered = 0;
    for (int round = 0; round < 12; ++round) {
      for (const char* host : {"db1", "db2", "db3"}) {
        auto scope = anyio::move_on_after(20ms);
        co_await scope.run([&]() -> anyio::task<> {
          try {
            anyio::tcp_connect_options options;
            auto c = co_await anyio::connect_tcp(host, 7000, options);
            char buf[8];
            const std::size_t n = co_await c->receive(std::span<char>(buf));
            answered += n == 2;
          } catch (const std::exception&) {
            // reset, refused or ended by a fault
          }
        });
      }
      co_await anyio::sleep(3ms);
    }
    (void)answered;
  });
}

void record(const char* name, anyio::task<> (*body)(), anyio::sim::options opts,
            const std::string& dir) {
  opts.test_name = name;
  opts.trace_path = dir + "/" + name + ".jsonl";
  (void)anyio::sim::run_body(body, opts);  // failing runs are traced too
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: trace_probe SEED OUT_DIR\n");
    return 2;
  }
  const std::uint64_t seed = std::strtoull(argv[1], nullptr, 10);
  const std::string dir = argv[2];
  record("channels_and_locks", channels_and_locks, {.seed = seed}, dir);
  record("cancellation_and_time", cancellation_and_time, {.seed = seed}, dir);
  record("pct_counter", pct_counter,
         {.seed = seed, .strategy = anyio::sim::strategy::pct, .pct_steps = 200}, dir);
  anyio::sim::fault_plan plan = anyio::sim::fault_plan::swarm_all();
  plan.tick = 4ms;
  plan.clock_jump = 0.05;
  plan.fs_write_error = 0.05;
  plan.fs_sync_error = 0.05;
  plan.fs_short_write = 0.05;
  plan.fs_slow = 0.1;
  anyio::sim::options world_opts{.seed = seed};
  world_opts.plan = std::make_shared<const anyio::sim::fault_plan>(plan);
  record("world_under_faults", world_under_faults, world_opts, dir);
  return 0;
}
