// SPDX-License-Identifier: MIT
// Test helpers (anyio::testing, Catch2 v2): ANYIO_TEST_CASE runs one test
// body — a coroutine — on realio once and on sim over many seeds, so every
// behaviour test checks both backends. Environment overrides:
// ANYIO_BACKEND=realio|sim|both, ANYIO_SEEDS=N (sim seeds 0..N-1, default
// 50), ANYIO_SEED=S (just seed S). Every assertion made while a sim seed runs
// carries the seed and the one command that reruns exactly that seed.
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/testing.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace anyio::testing {

using test_body = anyio::task<> (*)();

/// Which backends and seeds a test runs on; see the file comment.
struct run_config {
  bool realio = true;
  bool sim = true;
  std::vector<std::uint64_t> seeds{};
};

/// Backends and seeds from the environment, with `default_seeds` sim seeds.
run_config config_from_env(std::uint64_t default_seeds = 50);

/// The shell command that reruns one sim seed of one test case.
std::string rerun_command(const std::string& test_name, std::uint64_t seed);

/// argv[0] of the test program (set by anyio::testing's main).
void set_program_path(const std::string& path);
const std::string& program_path();

struct case_options {
  bool realio = true;
  bool sim = true;
  std::uint64_t seeds = 50;  ///< default sim seed count for this case
};

/// Run `body` as ANYIO_TEST_CASE does.
void run_case(const char* test_name, test_body body, case_options options = {});

}  // namespace anyio::testing

#define ANYIO_TESTING_CAT2(a, b) a##b
#define ANYIO_TESTING_CAT(a, b) ANYIO_TESTING_CAT2(a, b)

#define ANYIO_TESTING_CASE_IMPL(fn, name, tags, ...)                                  \
  static ::anyio::task<> fn();                                                      \
  TEST_CASE(name, tags) { ::anyio::testing::run_case(name, &fn, __VA_ARGS__); }     \
  static ::anyio::task<> fn()

/// A behaviour test: the body (a coroutine) runs on realio and on sim.
#define ANYIO_TEST_CASE(name, tags)                                                     \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options{})

/// A test that only makes sense on the simulator (virtual time, deadlocks).
#define ANYIO_SIM_TEST_CASE(name, tags)                                                  \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options{.realio = false})

/// ANYIO_TEST_CASE with an explicit case_options{...}.
#define ANYIO_TEST_CASE_WITH(name, tags, ...)                                           \
  ANYIO_TESTING_CASE_IMPL(ANYIO_TESTING_CAT(anyio_test_body_, __LINE__), name, tags, \
                          ::anyio::testing::case_options __VA_ARGS__)
