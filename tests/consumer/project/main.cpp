// SPDX-License-Identifier: MIT
// The downstream program: the same task group runs on realio and on the
// simulator and must compute the same value; on the simulator its sleeps
// take no real time but advance the virtual clock exactly. Exit status 0
// only if both backends agree with the expected result.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

anyio::task<> square_into(int* total, int n) {
  co_await anyio::sleep(std::chrono::milliseconds(n));
  *total += n * n;
}

anyio::task<int> amain() {
  int total = 0;
  const auto start = anyio::current_time();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int n = 1; n <= 4; ++n) tg.start_soon(square_into, &total, n);
    co_return;
  });
  // The children sleep 1..4 ms concurrently: the group takes at least 4 ms.
  if (anyio::current_time() - start < 4ms) co_return -1;
  co_return total;
}

}  // namespace

int main() {
  const int on_realio = anyio::run(amain);
  const int on_sim = anyio::sim::run(amain, {.seed = 7});
  std::printf("consumer: realio=%d sim=%d\n", on_realio, on_sim);
  return on_realio == 30 && on_sim == 30 ? 0 : 1;
}
