// SPDX-License-Identifier: MIT
// Must not compile: sim::run given a task (amain()) instead of the function.
#include <anyio/sim.hpp>

anyio::task<int> amain() { co_return 0; }

int main() { return anyio::sim::run(amain(), {.seed = 42}); }
