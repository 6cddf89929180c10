// SPDX-License-Identifier: MIT
// Must compile (with the same command as the must-not-compile checks, so a
// broken command line cannot pass them): the correct forms of each.
#include <anyio/sim.hpp>
#include <anyio/anyio.hpp>
using namespace std::chrono_literals;

anyio::task<int> add(int a, int b) { co_return a + b; }

anyio::task<int> amain() {
  auto s = anyio::create_memory_object_stream<int>(1);
  std::optional<int> v = co_await anyio::move_on_after(1s).run(s.receive.receive());
  auto scope = anyio::move_on_after(100ms);
  co_await scope.run(anyio::sleep(2s));
  int w = co_await anyio::fail_after(1s).run(add(1, 2));
  co_return v.value_or(0) + w + (scope.cancelled_caught() ? 1 : 0);
}

int main() {
  return anyio::run(amain) + anyio::sim::run(amain, {.seed = 42}) + anyio::sim::run(add, 1, 2);
}
