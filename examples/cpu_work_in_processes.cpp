// SPDX-License-Identifier: MIT
// Tutorial, "Running CPU-intensive functions in worker processes": a
// CPU-heavy function (counting primes below a bound) runs in worker
// processes with to_process::run_sync, several at once, while the event
// loop stays free (a ticker task keeps ticking). The function is registered
// by name; main lets a worker serve before anything else, because a worker
// is this same program re-executed. Arguments and results cross as JSON. With
// --sim-seed=N the function runs inline at a scheduling point, still
// through JSON, so the results are the same.
//
// test-expect: primes below 100000: 9592
// test-expect: primes below 200000: 17984
// test-expect: primes below 300000: 25997
// test-expect: primes below 400000: 33860
// test-expect: total 87433 primes; the ticker ticked while the workers computed
#include "example_main.hpp"

#include <nlohmann/json.hpp>
// After nlohmann/json.hpp: the typed to_process calls convert through it.
#include <anyio/to_process.hpp>

#include <cstdio>
#include <vector>

namespace {

// Deliberately slow: trial division, no sieve.
int count_primes(int below) {
  int count = 0;
  for (int n = 2; n < below; ++n) {
    bool prime = true;
    for (int d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

anyio::task<> amain() {
  std::vector<int> results(4);
  int ticks = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (;;) {
        co_await anyio::sleep(std::chrono::milliseconds(1));
        ++ticks;
      }
    });
    co_await anyio::with_task_group([&](anyio::task_group& work) -> anyio::task<> {
      for (int i = 0; i < 4; ++i)
        work.start_soon([&, i]() -> anyio::task<> {
          const int bound = (i + 1) * 100000;
          results[static_cast<std::size_t>(i)] =
              co_await anyio::to_process::run_sync(count_primes, bound);
        });
      co_return;
    });
    tg.cancel_scope().cancel();  // the work is done: stop the ticker
  });
  int total = 0;
  for (int i = 0; i < 4; ++i) {
    std::printf("primes below %d: %d\n", (i + 1) * 100000, results[static_cast<std::size_t>(i)]);
    total += results[static_cast<std::size_t>(i)];
  }
  // On sim the function runs inline, so the ticker may not have run between
  // the calls; on realio it ticks while the workers compute.
  std::printf("total %d primes; the ticker ticked %s\n", total,
              ticks > 0 || anyio_examples::on_sim() ? "while the workers computed" : "NOT");
}

}  // namespace

int main(int argc, char** argv) {
  anyio::to_process::register_function("count_primes", count_primes);
  anyio::to_process::serve_if_worker(argc, argv);  // in a worker: serves, never returns
  return anyio_examples::run_example(argc, argv, amain);
}
