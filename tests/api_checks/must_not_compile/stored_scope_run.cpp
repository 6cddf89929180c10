// SPDX-License-Identifier: MIT
// Must not compile: scope.run(awaitable) refers to the awaitable, often a
// temporary of its own expression, so it is awaited there or not at all.
#include <anyio/anyio.hpp>
using namespace std::chrono_literals;

anyio::task<> amain() {
  auto s = anyio::create_memory_object_stream<int>(1);
  auto pending = anyio::move_on_after(1s).run(s.receive.receive());
  auto v = co_await pending;
  (void)v;
}

int main() { anyio::run(amain); }
