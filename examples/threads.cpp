// SPDX-License-Identifier: MIT
// Tutorial, "Working with threads": a blocking function (here a checksum of
// a buffer, with a sleep standing for slow disk reads) runs on a worker
// thread through to_thread::run_sync while the run goes on — a ticker keeps
// ticking. The worker calls back into the run with from_thread: run_sync to
// report progress through a memory channel, and run to await a coroutine
// (a sleep) in the run. Then a blocking_portal, handed to a worker thread,
// lets blocking code call async functions in the run (portal.call) and
// start a task there (start_task_soon, whose future it waits for). On sim
// the function runs at a scheduling point and the same program is
// deterministic.
//
// test-expect: checksum of 4 blocks: 0x[0-9a-f]+
// test-expect: progress: block 4 of 4
// test-expect: the worker waited at least 20 ms in the run between blocks
// test-expect: ticker ticked while the worker ran: yes
// test-expect: portal: the worker looked up 10 20 30 in the run, total 60
#include "example_main.hpp"

#include <anyio/threads.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Blocking code: it must not run on the run's thread.
std::uint32_t checksum(const std::vector<std::uint8_t>& block) {
  std::this_thread::sleep_for(2ms);  // a slow read
  std::uint32_t sum = 0;
  for (std::uint8_t b : block) sum = sum * 31 + b;
  return sum;
}

// An async function of the run, for the blocking code to call.
anyio::task<int> lookup(int key) {
  co_await anyio::sleep(1ms);  // say, a query over the network
  co_return key * 10;
}

// Blocking code (a library taking a callback, say): all it needs of the
// run is the portal.
int sum_of_lookups(anyio::from_thread::blocking_portal& portal) {
  // Start one task in the run now, and call the others one by one.
  auto last = portal.start_task_soon(lookup, 3);
  const int a = portal.call(lookup, 1);
  const int b = portal.call(lookup, 2);
  const int c = last.get();
  std::printf("portal: the worker looked up %d %d %d in the run, total %d\n", a, b, c,
              a + b + c);
  return a + b + c;
}

anyio::task<> portal_demo() {
  co_await anyio::from_thread::with_blocking_portal(
      [&](anyio::from_thread::blocking_portal& portal) -> anyio::task<> {
        auto blocking = [&] { return sum_of_lookups(portal); };
        (void)co_await anyio::to_thread::run_sync(blocking);
      });
}

anyio::task<> amain() {
  // Not `auto [tx, rx]`: clang 14 rejects lambdas capturing structured bindings.
  auto progress = anyio::create_memory_object_stream<int>(anyio::unbounded);
  bool worker_done = false;
  int ticks = 0;
  std::uint32_t total = 0;
  anyio::clock::duration waited{};
  constexpr int blocks = 4;
  auto work = [&, tx = std::move(progress.send)]() mutable {
    std::uint32_t sum = 0;
    for (int i = 1; i <= blocks; ++i) {
      sum ^= checksum(std::vector<std::uint8_t>(4096, static_cast<std::uint8_t>(i)));
      // Back in the run: hand progress to a task (never touch run objects
      // from the worker directly).
      anyio::from_thread::run_sync([&] { (void)tx.try_send(i); });
      // Await a coroutine in the run, e.g. to pace the work.
      anyio::from_thread::run([]() -> anyio::task<> { co_await anyio::sleep(5ms); });
    }
    anyio::from_thread::run_sync([&] { tx.close(); });
    return sum;
  };
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      while (!worker_done) {
        co_await anyio::sleep(1ms);
        ++ticks;
      }
    });
    tg.start_soon([&]() -> anyio::task<> {
      while (auto block = co_await progress.receive.next())
        std::printf("progress: block %d of %d\n", *block, blocks);
    });
    const anyio::to_thread::options on_sim{.sim_duration = 8ms};
    const anyio::clock::time_point start = anyio::current_time();
    total = co_await anyio::to_thread::run_sync(std::move(work), on_sim);
    waited = anyio::current_time() - start;
    worker_done = true;
  });
  std::printf("checksum of %d blocks: 0x%08x\n", blocks, static_cast<unsigned>(total));
  std::printf("the worker waited %s 20 ms in the run between blocks\n",
              waited >= blocks * 5ms ? "at least" : "less than");
  std::printf("ticker ticked while the worker ran: %s\n", ticks > 0 ? "yes" : "no");
  co_await portal_demo();
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
