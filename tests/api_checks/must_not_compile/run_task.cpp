// SPDX-License-Identifier: MIT
// Must not compile: anyio::run given a task (amain()) instead of the function.
#include <anyio/anyio.hpp>

anyio::task<int> amain() { co_return 0; }

int main() { return anyio::run(amain()); }
