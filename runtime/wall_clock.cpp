// SPDX-License-Identifier: MIT
// anyio::wall_clock_now(): the running backend's wall clock (the system
// clock on realio, a fixed start plus the virtual time on sim). Dates go
// through the backend like every other source of nondeterminism, so a sim
// run that checks a certificate's validity replays on any day.
#include <anyio/time.hpp>

#include "runtime/kernel.hpp"

#include <chrono>

namespace anyio {

std::chrono::system_clock::time_point wall_clock_now() {
  auto& k = detail::kernel::require("anyio::wall_clock_now()");
  const auto since_epoch = std::chrono::nanoseconds(k.backend_.wall_clock_ns());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

}  // namespace anyio
