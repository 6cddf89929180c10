// SPDX-License-Identifier: MIT
// Writes the simulator traces of three workloads for one seed into a
// directory; scripts/test.sh builds this program with g++ and with clang++
// and requires the traces to be byte-identical for 20 seeds (same seed, same
// trace, on any compiler). The workloads touch what could drift between
// compilers: channels and locks, cancellation with deadlines and shielded
// cleanup, PCT scheduling and seeded draws.
// Usage: trace_probe SEED OUT_DIR
#include <anyio/anyio.hpp>

#include <cstdio>
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
  return 0;
}
