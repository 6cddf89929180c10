// SPDX-License-Identifier: MIT
// sim's signals (signals.cpp), owned by the sim backend: private to sim/.
#pragma once
#include "threads.hpp"

#include <anyio/detail/signals.hpp>

#include <vector>

namespace anyio::sim::detail {

class sim_watch;

class sim_signals final : public anyio::detail::signals {
 public:
  explicit sim_signals(event_services& events) : events_(events) {}
  std::unique_ptr<anyio::detail::signal_watch> watch(const std::vector<int>& numbers) override;
  bool send(int number) override;

 private:
  friend class sim_watch;
  event_services& events_;
  std::vector<sim_watch*> order_;  // open receivers, in the order they were opened
};

}  // namespace anyio::sim::detail
