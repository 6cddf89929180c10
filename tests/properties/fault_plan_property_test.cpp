// SPDX-License-Identifier: MIT
// RapidCheck generators for fault plans (issue 12): a property over
// generated buggify plans finds a bug that needs two of ten sites, and
// RapidCheck's shrinking leaves exactly those two, firing once each; over
// generated fault plans with strengths, it weakens a clog to the least that
// fails. Plans that inject nothing keep the run calm; passing plans pass.
#include "tests/properties/property_support.hpp"

#include <anyio/anyio.hpp>
#include <anyio/rapidcheck.hpp>

#include "sim/sim_backend.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace sim = anyio::sim;

namespace {

std::vector<std::string> ten_sites() {
  std::vector<std::string> out;
  for (int i = 0; i < 10; ++i) out.push_back("s" + std::to_string(i));
  return out;
}

// Two tasks call the ten sites four times each; the bug needs s3 and s7.
anyio::task<> needs_s3_and_s7() {
  bool s3 = false;
  bool s7 = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int t = 0; t < 2; ++t)
      tg.start_soon([&]() -> anyio::task<> {
        for (int round = 0; round < 4; ++round) {
          for (int site = 0; site < 10; ++site) {
            const bool fired = sim::buggify("s" + std::to_string(site));
            s3 = s3 || (fired && site == 3);
            s7 = s7 || (fired && site == 7);
          }
          co_await anyio::checkpoint();
        }
      });
    co_return;
  });
  if (s3 && s7) throw std::logic_error("s3 and s7 both fired");
}

sim::fault_decision_map last_failing;

// These properties are meant to fail: RapidCheck's global listener would
// report them at exit as failures of the suite.
class quiet_listener final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

template <class Property> bool fails(const std::string& name, Property prop) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = 300;
  params.seed = 12;  // the same cases every run
  rc::detail::TestMetadata metadata;
  metadata.id = name;
  quiet_listener listener;
  const auto result = rc::detail::checkProperty(rc::detail::toProperty(prop), metadata, params,
                                                listener, {});
  return result.template is<rc::detail::FailureResult>();
}

}  // namespace

TEST_CASE("property: buggify plans shrink to the two sites the bug needs",
          "[property][sim][probe]") {
  last_failing.clear();
  const bool failed = fails("buggify plans", [] {
    const auto plan = *anyio::rc::buggify_plans(ten_sites(), 8);
    const sim::run_result r = sim::run_body(needs_s3_and_s7, {.fault_decisions = plan});
    if (!r.passed()) last_failing = plan;  // RapidCheck's last failure is its minimal one
    RC_ASSERT(r.passed());
  });
  REQUIRE(failed);
  const std::vector<std::string> minimal = anyio::rc::describe_fault_plan(last_failing);
  INFO(minimal.size());
  CHECK(minimal == std::vector<std::string>{"buggify:s3 x1", "buggify:s7 x1"});
  // The minimal plan fails by itself, and without s7 it passes.
  CHECK_FALSE(sim::run_body(needs_s3_and_s7, {.fault_decisions = last_failing}).passed());
  sim::fault_decision_map without = last_failing;
  without.erase("fault:buggify:s7");
  CHECK(sim::run_body(needs_s3_and_s7, {.fault_decisions = without}).passed());
  // An empty plan injects nothing, whatever the buggify probabilities.
  CHECK(sim::run_body(needs_s3_and_s7, {.buggify_site_probability = 1.0,
                                        .buggify_fire_probability = 1.0,
                                        .fault_decisions = sim::fault_decision_map{}})
            .passed());
}

namespace {
// A clog per link each round; the bug needs link b held 4 units or more.
anyio::task<> clogged() {
  std::uint64_t longest_b = 0;
  for (int round = 0; round < 4; ++round) {
    for (const char* link : {"a", "b", "c"}) {
      const std::uint64_t s = sim::detail::current_sim_backend()->fault("clog", link, 0.5, 9);
      if (std::string(link) == "b") longest_b = std::max(longest_b, s);
    }
    co_await anyio::checkpoint();
  }
  if (longest_b >= 4) throw std::logic_error("link b clogged too long");
}
}  // namespace

TEST_CASE("property: fault plans shrink to the weakest fault that fails",
          "[property][sim][probe]") {
  last_failing.clear();
  const bool failed = fails("clog plans", [] {
    const auto plan =
        *anyio::rc::fault_plans({"fault:clog:a", "fault:clog:b", "fault:clog:c"}, 4, 9);
    const sim::run_result r = sim::run_body(clogged, {.fault_decisions = plan});
    if (!r.passed()) last_failing = plan;
    RC_ASSERT(r.passed());
  });
  REQUIRE(failed);
  INFO(anyio::rc::describe_fault_plan(last_failing).size());
  CHECK(anyio::rc::describe_fault_plan(last_failing) ==
        std::vector<std::string>{"clog:b x1"});
  REQUIRE(last_failing.count("fault:clog:b") == 1);
  const auto& b = last_failing.at("fault:clog:b");
  CHECK(std::count(b.begin(), b.end(), 4u) == 1);
  // A purpose that is not a fault decision's is refused by name.
  CHECK_THROWS_WITH(sim::run_body(clogged, {.fault_decisions = sim::fault_decision_map{
                                                {"clog:b", {1}}}}),
                    Catch::Contains("\"clog:b\""));
}
