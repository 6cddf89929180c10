// SPDX-License-Identifier: MIT
// RapidCheck generator for sim::world fault plans (anyio::rc::world_plans,
// issue 12). A plan is data: a rate per fault kind and how long faults
// last. Each kind is generated as a flag (on/off) and a rate k/1000 used
// when on, so RapidCheck's shrinking turns kinds off, lowers the rates that stay
// and shortens max_ticks: a failing plan shrinks to the few faults it needs.
#include <anyio/rapidcheck.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace anyio::rc {

namespace {

struct kind_field {
  const char* name;
  double sim::fault_plan::*rate;
};
constexpr kind_field kind_fields[] = {
    {"crash", &sim::fault_plan::crash},
    {"pause", &sim::fault_plan::pause},
    {"partition", &sim::fault_plan::partition},
    {"partition_one_way", &sim::fault_plan::partition_one_way},
    {"clog", &sim::fault_plan::clog},
    {"clock_jump", &sim::fault_plan::clock_jump},
    {"udp_loss", &sim::fault_plan::udp_loss},
    {"udp_duplicate", &sim::fault_plan::udp_duplicate},
    {"udp_reorder", &sim::fault_plan::udp_reorder},
    {"tcp_reset", &sim::fault_plan::tcp_reset},
};

}  // namespace

::rc::Gen<sim::fault_plan> world_plans(world_plan_limits limits) {
  if (!(limits.max_rate > 0 && limits.max_rate <= 1))
    throw std::invalid_argument("anyio::rc::world_plans: max_rate must be in (0, 1]");
  if (limits.max_ticks < 1)
    throw std::invalid_argument("anyio::rc::world_plans: max_ticks must be at least 1");
  if (limits.tick <= clock::duration::zero())
    throw std::invalid_argument("anyio::rc::world_plans: tick must be positive");
  std::vector<double sim::fault_plan::*> on;
  for (const auto& f : kind_fields)
    if (limits.kinds.empty() ||
        std::find(limits.kinds.begin(), limits.kinds.end(), f.name) != limits.kinds.end())
      on.push_back(f.rate);
  for (const auto& k : limits.kinds)
    if (std::none_of(std::begin(kind_fields), std::end(kind_fields),
                     [&](const kind_field& f) { return k == f.name; }))
      throw std::invalid_argument("anyio::rc::world_plans: \"" + k +
                                  "\" is not a kind of fault plan");
  const auto top = std::max<int>(1, static_cast<int>(std::lround(limits.max_rate * 1000)));
  // On or off, and a rate used when on: the flag shrinks to off, the rate
  // towards 1/1000 (oneOf would not shrink across its choices).
  auto rate = ::rc::gen::map(
      ::rc::gen::tuple(::rc::gen::arbitrary<bool>(), ::rc::gen::inRange(1, top + 1)),
      [](const std::tuple<bool, int>& d) { return std::get<0>(d) ? std::get<1>(d) : 0; });
  const std::size_t count = on.size();  // before `on` moves into the mapping
  return ::rc::gen::map(
      ::rc::gen::tuple(::rc::gen::container<std::vector<int>>(count, std::move(rate)),
                       ::rc::gen::inRange<std::uint64_t>(1, limits.max_ticks + 1)),
      [on = std::move(on), tick = limits.tick](
          const std::tuple<std::vector<int>, std::uint64_t>& drawn) {
        sim::fault_plan p;
        p.tick = tick;
        p.max_ticks = std::get<1>(drawn);
        const auto& rates = std::get<0>(drawn);
        for (std::size_t i = 0; i < on.size(); ++i) p.*on[i] = rates[i] / 1000.0;
        return p;
      });
}

}  // namespace anyio::rc
