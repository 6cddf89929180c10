// SPDX-License-Identifier: MIT
// Shared entry point for the example programs: the same amain() runs on the
// real backend by default, or on the simulator with --sim-seed=N (the
// simulator's virtual clock makes the tutorial's sleeps instant). Examples
// include this and write ANYIO_EXAMPLE_MAIN(amain).
#pragma once
#include <anyio/anyio.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace anyio_examples {

/// True when the example runs on the simulator (for printing only).
inline bool& on_sim() {
  static bool value = false;
  return value;
}

template <class Fn> int run_example(int argc, char** argv, Fn amain) {
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::strncmp(argv[i], "--sim-seed=", 11) == 0) {
        on_sim() = true;
        anyio::sim::options opts;
        opts.seed = std::strtoull(argv[i] + 11, nullptr, 10);
        anyio::sim::run(amain, opts);
        return 0;
      }
    }
    anyio::run(amain);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace anyio_examples

#define ANYIO_EXAMPLE_MAIN(amain) \
  int main(int argc, char** argv) { return ::anyio_examples::run_example(argc, argv, amain); }
