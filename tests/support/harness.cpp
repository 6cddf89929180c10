// SPDX-License-Identifier: MIT
// The two-backend test runner behind ANYIO_TEST_CASE: parses the
// environment, runs the body on realio and then on each sim seed, and scopes
// a Catch2 message to each sim run naming the seed and the rerun command, so
// any failed assertion or escaped exception points at the exact run.
#include <anyio/testing/catch.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace anyio::testing {

namespace {
std::string& program_path_storage() {
  static std::string path = "./tests";
  return path;
}

std::uint64_t parse_u64(const char* var, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0')
    throw std::invalid_argument(std::string(var) + "=" + text + ": expected a non-negative integer");
  return v;
}
}  // namespace

void set_program_path(const std::string& path) { program_path_storage() = path; }
const std::string& program_path() { return program_path_storage(); }

run_config config_from_env(std::uint64_t default_seeds) {
  run_config config;
  if (const char* b = std::getenv("ANYIO_BACKEND"); b != nullptr && *b != '\0') {
    std::string v = b;
    if (v == "realio") {
      config.sim = false;
    } else if (v == "sim") {
      config.realio = false;
    } else if (v != "both") {
      throw std::invalid_argument("ANYIO_BACKEND=" + v + ": expected realio, sim or both");
    }
  }
  if (const char* s = std::getenv("ANYIO_SEED"); s != nullptr && *s != '\0') {
    config.seeds.push_back(parse_u64("ANYIO_SEED", s));
    return config;
  }
  std::uint64_t n = default_seeds;
  if (const char* s = std::getenv("ANYIO_SEEDS"); s != nullptr && *s != '\0')
    n = parse_u64("ANYIO_SEEDS", s);
  for (std::uint64_t i = 0; i < n; ++i) config.seeds.push_back(i);
  return config;
}

std::string rerun_command(const std::string& test_name, std::uint64_t seed) {
  return "ANYIO_BACKEND=sim ANYIO_SEED=" + std::to_string(seed) + " " + program_path() + " \"" +
         test_name + "\"";
}

void run_case(const char* test_name, test_body body, case_options options) {
  const run_config config = config_from_env(options.seeds);
  if (config.realio && options.realio) {
    INFO("backend: realio");
    anyio::run(body);
  }
  if (!(config.sim && options.sim)) return;
  for (std::uint64_t seed : config.seeds) {
    INFO("backend: sim, seed " << seed << "\n  rerun just this seed: "
                               << rerun_command(test_name, seed));
    sim::options opts;
    opts.seed = seed;
    opts.test_name = test_name;
    try {
      sim::run(body, opts);
    } catch (...) {
      std::fprintf(stderr, "anyio: sim seed %llu of \"%s\" failed\n  rerun: %s\n",
                   static_cast<unsigned long long>(seed), test_name,
                   rerun_command(test_name, seed).c_str());
      throw;
    }
  }
}

}  // namespace anyio::testing
