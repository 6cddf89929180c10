// SPDX-License-Identifier: MIT
// buggify and coverage probes (issue 12): buggify fires on some seeds and
// not others, the same on every run of a seed and in its replay, never on
// realio; a sweep counts probes, names the ones that never fired, fails when
// a required one never did — also after merging shards — and a run failing
// an always() fails everywhere: run, sweep, merged shards, replay, shrink.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "tests/sim/temp_files.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sim = anyio::sim;

namespace {

std::string temp(const std::string& name) {
  return anyio_test::temp_path("anyio-probe-test", name);
}

// Which of five sites fired at which of three calls each, as a string.
std::string buggify_pattern_of_run() {
  std::string out;
  for (int call = 0; call < 3; ++call)
    for (const char* site : {"a", "b", "c", "d", "e"}) out += sim::buggify(site) ? '1' : '0';
  return out;
}

std::string pattern;
anyio::task<> buggify_body() {
  co_await anyio::checkpoint();
  pattern = buggify_pattern_of_run();
}

const sim::probe_count* find_probe(const std::vector<sim::probe_count>& probes,
                                   const std::string& name) {
  auto it = std::find_if(probes.begin(), probes.end(),
                         [&](const sim::probe_count& p) { return p.name == name; });
  return it == probes.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("probe: buggify fires on some seeds only, the same on every run of a seed",
          "[sim][probe][buggify]") {
  std::set<std::string> seen;
  std::size_t firing_runs = 0;
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    REQUIRE(sim::run_body(buggify_body, {.seed = seed}).passed());
    const std::string first = pattern;
    REQUIRE(sim::run_body(buggify_body, {.seed = seed}).passed());
    CHECK(pattern == first);
    seen.insert(first);
    if (first.find('1') != std::string::npos) ++firing_runs;
  }
  // Sites enabled a quarter of the time, firing a quarter of the calls:
  // many runs see none, many see some, and the patterns vary.
  CHECK(firing_runs > 5);
  CHECK(firing_runs < 60);
  CHECK(seen.size() > 5);
}

TEST_CASE("probe: buggify is off with probability 0, on realio and outside a run",
          "[sim][probe][buggify]") {
  for (std::uint64_t seed = 0; seed < 32; ++seed) {
    REQUIRE(sim::run_body(buggify_body, {.seed = seed, .buggify_site_probability = 0.0}).passed());
    CHECK(pattern == std::string(15, '0'));
  }
  CHECK_FALSE(sim::buggify("outside"));
  anyio::run([]() -> anyio::task<> {
    for (int i = 0; i < 100; ++i) CHECK_FALSE(sim::buggify("realio"));
    co_return;
  });
  // Always fires where enabled: every site of every run.
  REQUIRE(sim::run_body(buggify_body, {.seed = 3,
                                       .buggify_site_probability = 1.0,
                                       .buggify_fire_probability = 1.0})
              .passed());
  CHECK(pattern == std::string(15, '1'));
}

TEST_CASE("probe: a replay follows buggify's recorded decisions", "[sim][probe][buggify]") {
  const std::string path = temp("buggify-replay.jsonl");
  std::uint64_t seed = 0;
  for (;; ++seed) {
    REQUIRE(seed < 200);
    REQUIRE(sim::run_body(buggify_body, {.seed = seed}).passed());
    if (pattern.find('1') != std::string::npos) break;
  }
  REQUIRE(sim::run_body(buggify_body, {.seed = seed, .trace_path = path}).passed());
  const std::string recorded = pattern;
  const auto t = sim::read_trace(path);
  std::size_t fault_draws = 0;
  for (const auto& e : t.events)
    if (e.kind == "draw" && e.purpose.rfind("fault:buggify", 0) == 0) ++fault_draws;
  CHECK(fault_draws >= 5);  // one per site at least: its enabling decision
  pattern.clear();
  sim::replay(buggify_body, path);
  CHECK(pattern == recorded);
}

TEST_CASE("probe: runs count their probes", "[sim][probe]") {
  auto body = []() -> anyio::task<> {
    for (int i = 0; i < 5; ++i) {
      sim::sometimes(i == 3, "three");
      sim::sometimes(false, "never");
      sim::always(i < 5, "small");
      co_await anyio::checkpoint();
    }
    sim::reachable("end");
  };
  const sim::run_result r = sim::run_body(body, {.seed = 1});
  REQUIRE(r.passed());
  REQUIRE(r.probes.size() == 4);
  const auto* three = find_probe(r.probes, "three");
  REQUIRE(three != nullptr);
  CHECK(three->kind == "sometimes");
  CHECK(three->hits == 1);
  CHECK(three->evaluations == 5);
  CHECK(find_probe(r.probes, "never")->hits == 0);
  CHECK(find_probe(r.probes, "small")->hits == 5);
  CHECK(find_probe(r.probes, "end")->kind == "reachable");
  // No-ops on realio.
  anyio::run(body);
}

namespace {
// Fires "rare" on seeds divisible by 10 only, "never" on none.
anyio::task<> rare_body() {
  const std::uint64_t x = anyio::random_below(10, "pick");
  sim::sometimes(x == 0, "rare");
  sim::sometimes(false, "never");
  co_await anyio::checkpoint();
}
}  // namespace

TEST_CASE("probe: a sweep names the probes that never fired", "[sim][probe][sweep]") {
  sim::sweep_options o;
  o.seeds = {0, 60};
  o.test_name = "probe-sweep";
  o.progress = false;
  const sim::sweep_summary s = sim::sweep(rare_body, o);
  CHECK(s.failures.empty());
  CHECK(s.never_fired() == std::vector<std::string>{"never"});
  const auto* rare = find_probe(s.probes, "rare");
  REQUIRE(rare != nullptr);
  CHECK(rare->evaluations == 60);
  CHECK(rare->seeds == rare->hits);
  CHECK(rare->seeds > 0);
  // The JSON carries them and reads back.
  const std::string json = s.to_json();
  CHECK(json.find("\"never_fired\"") != std::string::npos);
  const sim::sweep_summary back = sim::sweep_summary::from_json(json);
  CHECK(back.never_fired() == std::vector<std::string>{"never"});
  REQUIRE(back.probes.size() == 2);
  CHECK(back.probes[1].hits == rare->hits);
  // A sweep that uses no probe writes the JSON it always did.
  auto plain_body = []() -> anyio::task<> { co_await anyio::checkpoint(); };
  const sim::sweep_summary plain = sim::sweep(plain_body, {.seeds = {0, 3}, .progress = false});
  CHECK(plain.to_json().find("probes") == std::string::npos);
}

TEST_CASE("probe: required probes fail a sweep when they never fire, also across shards",
          "[sim][probe][sweep]") {
  sim::sweep_options o;
  o.seeds = {0, 40};
  o.test_name = "probe-required";
  o.progress = false;
  o.required_probes = {"rare", "never", "missing"};
  std::vector<sim::sweep_failure> reported;
  o.on_failure = [&](const sim::sweep_failure& f) { reported.push_back(f); };
  const sim::sweep_summary s = sim::sweep(rare_body, o);
  REQUIRE(s.failures.size() == 2);
  CHECK(reported.size() == 2);
  for (const auto& f : s.failures) CHECK(f.outcome == "unfired-probe");
  std::string messages = s.failures[0].message + "\n" + s.failures[1].message;
  INFO(messages);
  CHECK(messages.find("required probe \"never\" was reached 40 times but never fired in 40 "
                      "seeds") != std::string::npos);
  CHECK(messages.find("required probe \"missing\" was never reached") != std::string::npos);

  // Shards: "rare" fires on few seeds; with enough shards one of them sees
  // none, and fails alone, but the merge of all shards has it fired.
  o.required_probes = {"rare"};
  o.on_failure = nullptr;
  sim::sweep_summary merged;
  bool a_shard_failed = false;
  for (std::uint64_t k = 0; k < 8; ++k) {
    o.shard = {k, 8};
    const sim::sweep_summary part = sim::sweep(rare_body, o);
    a_shard_failed = a_shard_failed || !part.failures.empty();
    merged.merge(sim::sweep_summary::from_json(part.to_json()));
  }
  CHECK(a_shard_failed);
  CHECK(merged.failures.empty());
  CHECK(merged.seeds_run == 40);
  // And when it fires nowhere, the merge fails.
  o.required_probes = {"never"};
  sim::sweep_summary merged_never;
  for (std::uint64_t k = 0; k < 2; ++k) {
    o.shard = {k, 2};
    merged_never.merge(sim::sweep_summary::from_json(sim::sweep(rare_body, o).to_json()));
  }
  REQUIRE(merged_never.failures.size() == 1);
  CHECK(merged_never.failures[0].message.find("in 40 seeds") != std::string::npos);
}

namespace {
int balance = 0;
int done = 0;
// A lost update makes always() fail on some seeds; the program catches the
// probe_failure, which must not save the run.
anyio::task<> always_body() {
  balance = 0;
  done = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        const int seen = balance;
        co_await anyio::checkpoint();
        balance = seen + 1;
        ++done;
        try {
          sim::always(balance == done, "no lost increment");
        } catch (const sim::probe_failure&) {  // swallowed: the run fails anyway
        }
      });
    co_return;
  });
  sim::always(balance == 3, "all increments");
}
}  // namespace

TEST_CASE("probe: a failing always fails the run, the sweep, the merge, the replay and the shrink",
          "[sim][probe][always]") {
  // Direct: sim::run throws it though the body caught it.
  std::uint64_t failing = 0;
  for (;; ++failing) {
    REQUIRE(failing < 500);
    if (!sim::run_body(always_body, {.seed = failing}).passed()) break;
  }
  REQUIRE_THROWS_AS(sim::run(always_body, sim::options{.seed = failing}), sim::probe_failure);
  const sim::run_result r = sim::run_body(always_body, {.seed = failing});
  CHECK(r.outcome == "failed");
  CHECK(r.exception_type == "anyio::sim::probe_failure");
  CHECK(r.message.find("sim::always(\"no lost increment\") failed") != std::string::npos);

  // A sweep counts it, with a trace; each shard and the merge keep it.
  sim::sweep_options o;
  o.seeds = {0, 30};
  o.test_name = "probe-always";
  o.trace_dir = anyio_test::temp_path("anyio-probe-test", "");
  o.progress = false;
  const sim::sweep_summary s = sim::sweep(always_body, o);
  REQUIRE_FALSE(s.failures.empty());
  for (const auto& f : s.failures) CHECK(f.exception_type == "anyio::sim::probe_failure");
  sim::sweep_summary merged;
  for (std::uint64_t k = 0; k < 3; ++k) {
    o.shard = {k, 3};
    merged.merge(sim::sweep_summary::from_json(sim::sweep(always_body, o).to_json()));
  }
  CHECK(merged.failures.size() == s.failures.size());

  // The replay fails the same way.
  const std::string trace = s.failures.front().trace_path;
  const auto t = sim::read_trace(trace);
  CHECK(t.outcome.kind == "failed");
  CHECK(t.outcome.exception_type == "anyio::sim::probe_failure");
  std::string replayed;
  try {
    sim::replay(always_body, trace);
  } catch (const sim::probe_failure& e) {
    replayed = e.what();
  }
  CHECK(replayed == s.failures.front().message);

  // The shrink keeps the failure (and its trace replays to it).
  const std::string out = temp("always-min.jsonl");
  const sim::shrink_result sr = sim::shrink(always_body, trace, out, {.progress = false});
  CHECK(sr.exception_type == "anyio::sim::probe_failure");
  CHECK(sr.message.find("sim::always(") != std::string::npos);
  REQUIRE_THROWS_AS(sim::replay(always_body, out), sim::probe_failure);
}

TEST_CASE("probe: always on realio throws probe_failure naming the probe", "[sim][probe]") {
  std::string what;
  try {
    anyio::run([]() -> anyio::task<> {
      sim::always(false, "realio invariant");
      co_return;
    });
  } catch (const sim::probe_failure& e) {
    what = e.what();
  }
  CHECK(what.find("\"realio invariant\"") != std::string::npos);
}
