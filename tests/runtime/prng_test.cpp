// SPDX-License-Identifier: MIT
// Unit tests for the simulator's entropy (sim/prng.hpp). The hard-coded
// values below were computed by an independent implementation of splitmix64
// + xoshiro256** + Lemire's bounded draw; if a compiler, standard library or
// refactoring changes any of them, every recorded seed and trace would mean a
// different run, so this test is the cross-compiler determinism guard.
#include "sim/prng.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using anyio::sim::prng;

TEST_CASE("prng: a fixed seed produces fixed values", "[prng]") {
  prng zero(0);
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 4; ++i) got.push_back(zero.next());
  REQUIRE(got == std::vector<std::uint64_t>{0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL,
                                            0x1a5f849d4933e6e0ULL, 0x6aa594f1262d2d2cULL});
  prng answer(42);
  got.clear();
  for (int i = 0; i < 4; ++i) got.push_back(answer.next());
  REQUIRE(got == std::vector<std::uint64_t>{0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                            0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL});
}

TEST_CASE("prng: bounded draws are fixed for a fixed seed", "[prng]") {
  prng small(42);
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(small.below(10));
  REQUIRE(got == std::vector<std::uint64_t>{0, 3, 6, 9, 9, 7, 7, 8, 7, 5});
  prng large(7);
  got.clear();
  for (int i = 0; i < 5; ++i) got.push_back(large.below(1000000007));
  REQUIRE(got ==
          std::vector<std::uint64_t>{700576487, 278751231, 839627467, 981097731, 990860285});
}

TEST_CASE("prng: bounded draws stay in range and cover it", "[prng]") {
  for (std::uint64_t bound : {1ULL, 2ULL, 3ULL, 7ULL, 64ULL, 1000ULL, (1ULL << 63) + 12345ULL}) {
    prng g(bound);
    std::vector<int> hits(bound <= 1000 ? bound : 0, 0);
    for (int i = 0; i < 20000; ++i) {
      std::uint64_t v = g.below(bound);
      REQUIRE(v < bound);
      if (!hits.empty()) ++hits[v];
    }
    for (std::size_t v = 0; v < hits.size(); ++v) {
      INFO("bound " << bound << ", value " << v);
      REQUIRE(hits[v] > 0);  // 20,000 draws over at most 1,000 values
    }
  }
  prng one(5);
  REQUIRE(one.below(1) == 0);
}

TEST_CASE("prng: different seeds give different streams", "[prng]") {
  prng a(1), b(2);
  REQUIRE(a.next() != b.next());
}
