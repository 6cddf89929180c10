// SPDX-License-Identifier: MIT
// RapidCheck generators for fault plans (issue 12): a plan is the list of
// fault decisions a run follows (sim::options::fault_decisions, the fault
// convention of sim/faults_api.hpp), so RapidCheck's shrinking of the
// generated lists — fewer entries, smaller values — removes and weakens
// faults, as sim::shrink does from a trace.
#include <anyio/rapidcheck.hpp>

#include <utility>

namespace anyio::rc {

namespace {
const std::string fault_prefix = "fault:";
}  // namespace

::rc::Gen<sim::fault_decision_map> fault_plans(std::vector<std::string> purposes,
                                               std::size_t max_decisions,
                                               std::uint64_t max_strength) {
  auto one = ::rc::gen::mapcat(
      ::rc::gen::inRange<std::size_t>(0, max_decisions + 1), [max_strength](std::size_t n) {
        return ::rc::gen::container<std::vector<std::uint64_t>>(
            n, ::rc::gen::inRange<std::uint64_t>(0, max_strength + 1));
      });
  const std::size_t count = purposes.size();
  return ::rc::gen::map(
      ::rc::gen::container<std::vector<std::vector<std::uint64_t>>>(count, std::move(one)),
      [purposes = std::move(purposes)](const std::vector<std::vector<std::uint64_t>>& lists) {
        sim::fault_decision_map plan;
        for (std::size_t i = 0; i < purposes.size(); ++i)
          if (!lists[i].empty()) plan[purposes[i]] = lists[i];
        return plan;
      });
}

::rc::Gen<sim::fault_decision_map> buggify_plans(std::vector<std::string> sites,
                                                 std::size_t max_calls) {
  auto one = ::rc::gen::mapcat(::rc::gen::inRange<std::size_t>(0, max_calls + 1),
                               [](std::size_t n) {
                                 return ::rc::gen::container<std::vector<bool>>(
                                     n, ::rc::gen::arbitrary<bool>());
                               });
  const std::size_t count = sites.size();
  return ::rc::gen::map(
      ::rc::gen::container<std::vector<std::vector<bool>>>(count, std::move(one)),
      [sites = std::move(sites)](const std::vector<std::vector<bool>>& fires) {
        sim::fault_decision_map plan;
        for (std::size_t i = 0; i < sites.size(); ++i) {
          std::vector<std::uint64_t> calls(fires[i].begin(), fires[i].end());
          while (!calls.empty() && calls.back() == 0) calls.pop_back();
          if (calls.empty()) continue;  // a site that never fires stays disabled
          plan[fault_prefix + "buggify.site:" + sites[i]] = {1};
          plan[fault_prefix + "buggify:" + sites[i]] = std::move(calls);
        }
        return plan;
      });
}

std::vector<std::string> describe_fault_plan(const sim::fault_decision_map& plan) {
  std::vector<std::string> out;
  for (const auto& [purpose, values] : plan) {
    if (purpose.rfind(fault_prefix + "buggify.site:", 0) == 0) continue;
    std::uint64_t n = 0;
    for (std::uint64_t v : values) n += v != 0 ? 1 : 0;
    if (n == 0) continue;
    const std::string name =
        purpose.rfind(fault_prefix, 0) == 0 ? purpose.substr(fault_prefix.size()) : purpose;
    out.push_back(name + " x" + std::to_string(n));
  }
  return out;
}

}  // namespace anyio::rc
