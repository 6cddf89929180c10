// SPDX-License-Identifier: MIT
// Must not compile: the main function takes two arguments, run passes one.
#include <anyio/sim.hpp>

anyio::task<int> add(int a, int b) { co_return a + b; }

int main() { anyio::sim::run(add, 1, {.seed = 1}); }
