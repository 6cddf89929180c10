// SPDX-License-Identifier: MIT
// Shrinking faults (issue 12): a bug that needs two of ten buggify sites
// shrinks to a trace that injects those two and nothing else; a fault with a
// strength (sim_backend::fault, the convention the simulated world's faults
// follow) is weakened to the least that still fails; faults and
// preemptions shrink together; the minimal traces replay to the failure.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "sim/sim_backend.hpp"
#include "tests/sim/temp_files.hpp"

#include <stdexcept>
#include <string>

namespace sim = anyio::sim;

namespace {

std::string temp(const std::string& name) {
  return anyio_test::temp_path("anyio-probe-shrink-test", name);
}

// The first failing seed of `body` under `base`, traced.
std::string failing_trace(const sim::body_fn& body, sim::options base, const std::string& name) {
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    base.seed = seed;
    base.test_name = name;
    if (sim::run_body(body, base).passed()) continue;
    base.trace_path = temp(name + ".jsonl");
    REQUIRE_FALSE(sim::run_body(body, base).passed());
    return base.trace_path;
  }
  throw std::runtime_error("no failing seed for " + name);
}

std::size_t injected_faults(const std::string& trace) {
  std::size_t n = 0;
  for (const auto& e : sim::read_trace(trace).events)
    if (e.kind == "draw" && e.purpose.rfind("fault:", 0) == 0 && e.value != 0) ++n;
  return n;
}

// Ten sites, called over and over by three tasks; the bug needs s3 and s7
// to have fired (in either order).
anyio::task<> ten_sites() {
  bool s3 = false;
  bool s7 = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int t = 0; t < 3; ++t)
      tg.start_soon([&]() -> anyio::task<> {
        for (int round = 0; round < 6; ++round) {
          for (int site = 0; site < 10; ++site) {
            const bool fired = sim::buggify("s" + std::to_string(site));
            if (fired && site == 3) s3 = true;
            if (fired && site == 7) s7 = true;
          }
          co_await anyio::checkpoint();
        }
      });
    co_return;
  });
  if (s3 && s7) throw std::logic_error("s3 and s7 both fired");
}

}  // namespace

TEST_CASE("shrink: a bug that needs 2 of 10 buggify sites keeps those 2", "[sim][shrink][probe]") {
  const sim::options busy{.buggify_site_probability = 0.8, .buggify_fire_probability = 0.5};
  const std::string trace = failing_trace(ten_sites, busy, "ten-sites");
  const std::size_t before = injected_faults(trace);
  const std::string out = temp("ten-sites-min.jsonl");
  const sim::shrink_result r = sim::shrink(ten_sites, trace, out, {.progress = false});
  INFO(r.summary() << " in " << r.runs << " runs; " << before << " faults before");
  CHECK(before > 20);
  CHECK(r.before.faults == before);
  // Each site: enabled once, fired once — nothing else.
  CHECK(r.after.faults == 4);
  CHECK(injected_faults(out) == 4);
  CHECK(r.faults.size() == 2);
  CHECK(((r.faults == std::vector<std::string>{"buggify:s3", "buggify:s7"}) ||
         (r.faults == std::vector<std::string>{"buggify:s7", "buggify:s3"})));
  CHECK(r.summary().find("faults " + std::to_string(before) + " -> 4 (buggify:s") == 0);
  CHECK(r.message == "s3 and s7 both fired");
  std::string replayed;
  try {
    sim::replay(ten_sites, out);
  } catch (const std::logic_error& e) {
    replayed = e.what();
  }
  CHECK(replayed == r.message);
}

namespace {

// A clog of strength 1..10 at three links each round; the bug needs the
// "b" link held at least 4 units at some point.
anyio::task<> clogs() {
  std::uint64_t longest_b = 0;
  for (int round = 0; round < 5; ++round) {
    for (const char* link : {"a", "b", "c"}) {
      auto* b = sim::detail::current_sim_backend();
      REQUIRE(b != nullptr);
      const std::uint64_t strength = b->fault("clog", link, 0.7, 10);
      if (std::string(link) == "b") longest_b = std::max(longest_b, strength);
    }
    co_await anyio::checkpoint();
  }
  if (longest_b >= 4) throw std::logic_error("link b clogged too long");
}

}  // namespace

TEST_CASE("shrink: a fault's strength is weakened to the least that still fails",
          "[sim][shrink][probe]") {
  const std::string trace = failing_trace(clogs, {}, "clogs");
  const std::string out = temp("clogs-min.jsonl");
  const sim::shrink_result r = sim::shrink(clogs, trace, out, {.progress = false});
  INFO(r.summary());
  CHECK(r.before.faults > 1);
  CHECK(r.after.faults == 1);
  CHECK(r.after.fault_strength == 4);
  CHECK(r.faults == std::vector<std::string>{"clog:b"});
  std::uint64_t value = 0;
  for (const auto& e : sim::read_trace(out).events)
    if (e.kind == "draw" && e.purpose == "fault:clog:b" && e.value != 0) value = e.value;
  CHECK(value == 4);
  CHECK_THROWS_AS(sim::replay(clogs, out), std::logic_error);
}

namespace {

int counter = 0;
// A lost update that needs a buggify'd extra yield between read and write,
// and a preemption there.
anyio::task<> yield_bug() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        for (int k = 0; k < 4; ++k) {
          (void)sim::buggify("noise" + std::to_string(k));
          const int seen = counter;
          if (sim::buggify("yield")) co_await anyio::checkpoint();
          counter = seen + 1;
          co_await anyio::checkpoint();
        }
      });
    co_return;
  });
  if (counter != 12) throw std::logic_error("lost update: " + std::to_string(counter));
}

}  // namespace

TEST_CASE("shrink: faults and preemptions shrink together", "[sim][shrink][probe]") {
  const sim::options busy{.buggify_site_probability = 0.9, .buggify_fire_probability = 0.5};
  const std::string trace = failing_trace(yield_bug, busy, "yield-bug");
  const std::string out = temp("yield-bug-min.jsonl");
  const sim::shrink_result r = sim::shrink(yield_bug, trace, out, {.progress = false});
  INFO(r.summary());
  CHECK(r.faults == std::vector<std::string>{"buggify:yield"});
  CHECK(r.after.faults == 2);  // the site enabled, one extra yield
  CHECK(r.after.preemptions == 1);
  CHECK(r.after.faults < r.before.faults);
  CHECK_THROWS_AS(sim::replay(yield_bug, out), std::logic_error);
}
