// SPDX-License-Identifier: MIT
// Must not compile: a scope body that returns int, not anyio::task<int>.
#include <anyio/anyio.hpp>
using namespace std::chrono_literals;

anyio::task<> amain() {
  auto scope = anyio::move_on_after(1s);
  co_await scope.run([] { return 1; });
}

int main() { anyio::run(amain); }
