// SPDX-License-Identifier: MIT
// The fault plan as a run option (sim::options::plan, sweep_options::plan):
// it drives a world that has no set_plan(), it wins over set_plan()'s, the
// trace header records it, and a replay takes it from the header, so the
// trace alone replays. fault_plan::from_file reads a plan and names the
// file and the field when it cannot; a header with a bad plan is an error
// naming options.plan.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "../../examples/replicated_kv/kv.hpp"
#include "temp_files.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

// Two idle hosts and a test that lasts 2 s: faults are all that happens.
anyio::task<> idle_world() {
  anyio::sim::world w;
  for (const char* h : {"a", "b"})
    w.add_host(h, std::string("10.0.0.") + (h[0] == 'a' ? "1" : "2"),
               []() -> anyio::task<> { co_await anyio::sleep_forever(); });
  co_await w.run([]() -> anyio::task<> { co_await anyio::sleep(2s); });
}

std::shared_ptr<const anyio::sim::fault_plan> crashy() {
  anyio::sim::fault_plan p;
  p.crash = 0.5;
  p.max_ticks = 2;
  return std::make_shared<const anyio::sim::fault_plan>(p);
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = anyio_test::temp_path("anyio-plan-option", name);
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("plan option: a run's plan drives a world, is in the header, and replays from it",
          "[sim][world]") {
  const std::string path = anyio_test::temp_path("anyio-plan-option", "run.jsonl");
  anyio::sim::options opts;
  opts.seed = 4;
  opts.trace_path = path;
  opts.plan = crashy();
  REQUIRE(anyio::sim::run_body(idle_world, opts).passed());
  const auto t = anyio::sim::read_trace(path);
  CHECK(t.header.plan == crashy()->to_json());
  CHECK(t.header.text.find(R"("plan":{)") != std::string::npos);
  int crashes = 0;
  for (const auto& e : t.events) crashes += e.op == "fault" && e.src == "crash" ? 1 : 0;
  CHECK(crashes > 0);
  // The body has no plan of its own: the replay takes the header's.
  anyio::sim::replay(idle_world, path);
  CHECK(anyio::sim::detail::replay_options_for(path).plan != nullptr);

  // Without the option the same body runs no nemesis, and the header has no plan.
  const std::string plain = anyio_test::temp_path("anyio-plan-option", "plain.jsonl");
  opts.plan = nullptr;
  opts.trace_path = plain;
  REQUIRE(anyio::sim::run_body(idle_world, opts).passed());
  const auto u = anyio::sim::read_trace(plain);
  CHECK(u.header.plan.empty());
  CHECK(u.header.text.find("plan") == std::string::npos);
  for (const auto& e : u.events) CHECK(e.op != "fault");
}

TEST_CASE("plan option: a sweep swarms it per seed, over set_plan's, and a trace replays alone",
          "[sim][world][demo]") {
  const std::string dir = anyio_test::temp_path("anyio-plan-option", "sweep");
  std::filesystem::remove_all(dir);
  anyio::sim::sweep_options so;
  so.seeds = {0, 300};
  so.trace_dir = dir;
  so.test_name = "kv_plan_option";
  so.stop_at_first_failure = true;
  so.plan = std::make_shared<const anyio::sim::fault_plan>(kv::demo_plan());
  // The body's own plan injects nothing: the sweep's is the one that runs.
  auto buggy = []() { return kv::scenario(false, anyio::sim::fault_plan{}); };
  auto summary = anyio::sim::sweep(buggy, so);
  REQUIRE(summary.failures.size() == 1);
  const auto& f = summary.failures[0];
  CHECK(f.message.find("acknowledged write") != std::string::npos);
  REQUIRE(!f.trace_path.empty());
  CHECK(anyio::sim::read_trace(f.trace_path).header.plan == kv::demo_plan().to_json());
  CHECK(error_of([&]() { anyio::sim::replay(buggy, f.trace_path); })
            .find("acknowledged write") != std::string::npos);
}

TEST_CASE("plan option: from_file reads a plan and names the file and field it rejects",
          "[sim][world]") {
  const auto good = write_file("good.json", crashy()->to_json());
  CHECK(anyio::sim::fault_plan::from_file(good).to_json() == crashy()->to_json());
  const auto bad = write_file("bad.json", R"({"crash": 0.1, "clgo": 0.2})");
  CHECK(error_of([&]() { (void)anyio::sim::fault_plan::from_file(bad); }) ==
        "fault plan file '" + bad + "': fault plan: 'clgo' is not a field of a fault plan");
  const std::string missing = bad + ".missing";
  CHECK(error_of([&]() { (void)anyio::sim::fault_plan::from_file(missing); }) ==
        "fault plan file '" + missing + "': cannot be opened");
}

TEST_CASE("plan option: a trace header with a bad plan is an error naming options.plan",
          "[sim][world]") {
  const std::string path = anyio_test::temp_path("anyio-plan-option", "good.jsonl");
  anyio::sim::options opts;
  opts.seed = 1;
  opts.trace_path = path;
  opts.plan = crashy();
  REQUIRE(anyio::sim::run_body(idle_world, opts).passed());
  std::string text = anyio_test::slurp(path);
  const auto at = text.find(R"("crash":0.5)");
  REQUIRE(at != std::string::npos);
  text.replace(at, 11, R"("crash":5.0)");
  const auto broken = write_file("broken.jsonl", text);
  const std::string e = error_of([&]() { (void)anyio::sim::read_trace(broken); });
  CHECK(e.find("options.plan") != std::string::npos);
  CHECK(e.find("'crash' must be a probability") != std::string::npos);
}
