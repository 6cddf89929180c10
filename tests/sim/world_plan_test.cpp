// SPDX-License-Identifier: MIT
// Fault plans: their JSON form and its errors; a plan's nemesis injects
// recorded faults that a replay follows; and the demo (examples/
// replicated_kv): a sweep with a swarmed plan of crashes and partitions
// finds the lost acknowledged write, its trace replays to the same failure
// and shows the faults, shrinking keeps a few faults, and the fixed version
// passes every seed.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "../../examples/replicated_kv/kv.hpp"
#include "temp_files.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

TEST_CASE("fault plan: JSON round trip and clear errors", "[sim][world]") {
  anyio::sim::fault_plan p;
  p.tick = 20ms;
  p.crash = 0.25;
  p.clog = 0.5;
  p.swarm = true;
  const auto q = anyio::sim::fault_plan::from_json(p.to_json());
  CHECK(q.tick == 20ms);
  CHECK(q.crash == 0.25);
  CHECK(q.clog == 0.5);
  CHECK(q.swarm);
  CHECK(q.to_json() == p.to_json());
  auto message = [](const std::string& text) {
    try {
      (void)anyio::sim::fault_plan::from_json(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message(R"({"crash": 2})") == "fault plan: 'crash' must be a probability in [0, 1]");
  CHECK(message(R"({"crahs": 0.1})") == "fault plan: 'crahs' is not a field of a fault plan");
  CHECK(message(R"({"tick_ns": 0})") == "fault plan: 'tick_ns' must be a positive integer");
  CHECK(message("[1]") == "fault plan: expected a JSON object");
  CHECK(message("{").rfind("fault plan: not JSON", 0) == 0);
}

TEST_CASE("demo: a swarmed plan finds the lost write, which replays and shrinks",
          "[sim][world][demo]") {
  const std::string dir = anyio_test::temp_path("anyio-world-demo", "traces");
  std::filesystem::remove_all(dir);
  anyio::sim::sweep_options so;
  so.seeds = {0, 300};
  so.trace_dir = dir;
  so.test_name = "replicated_kv";
  so.stop_at_first_failure = true;
  auto buggy = []() { return kv::scenario(false, kv::demo_plan()); };
  auto summary = anyio::sim::sweep(buggy, so);
  REQUIRE(summary.failures.size() == 1);
  const auto& f = summary.failures[0];
  INFO("seed " << f.seed << ": " << f.message);
  CHECK(f.message.find("acknowledged write") != std::string::npos);
  REQUIRE(!f.trace_path.empty());
  const std::string trace = anyio_test::slurp(f.trace_path);
  CHECK(trace.find(R"("op":"fault","src":"plan")") != std::string::npos);
  CHECK(trace.find(R"("op":"fault","src":"crash","dst":"primary")") != std::string::npos);
  CHECK(trace.find(R"("op":"fault","src":"partition")") != std::string::npos);
  // The replay reaches the same failure.
  std::string replayed;
  try {
    anyio::sim::replay(buggy, f.trace_path);
  } catch (const std::exception& e) {
    replayed = e.what();
  }
  CHECK(replayed.find("acknowledged write") != std::string::npos);
  anyio::sim::shrink_options sh;
  sh.max_runs = 300;
  sh.progress = false;
  const auto shrunk = anyio::sim::shrink(buggy, f.trace_path, dir + "/min.jsonl", sh);
  INFO(shrunk.summary());
  CHECK(shrunk.message.find("acknowledged write") != std::string::npos);
  CHECK(anyio_test::slurp(dir + "/min.jsonl").find(R"("src":"crash")") != std::string::npos);
}

TEST_CASE("demo: the fixed version keeps every acknowledged write", "[sim][world][demo]") {
  anyio::sim::sweep_options so;
  so.seeds = {0, 100};
  so.test_name = "replicated_kv_fixed";
  auto fixed = []() { return kv::scenario(true, kv::demo_plan()); };
  auto summary = anyio::sim::sweep(fixed, so);
  INFO((summary.failures.empty() ? std::string() : summary.failures[0].message));
  CHECK(summary.failures.empty());
  CHECK(summary.seeds_run == 100);
}
