// SPDX-License-Identifier: MIT
// The deterministic backend: a virtual clock that starts at zero and jumps
// to the next deadline only when every task is blocked (trio's autojump
// clock), and a seeded choice of the next ready task. With no timer and no
// simulated event pending it reports a deadlock instead of waiting forever.
// Every choice comes from the one prng, so a seed names a whole run.
#include <anyio/errors.hpp>
#include <anyio/instrument.hpp>
#include <anyio/sim.hpp>

#include "prng.hpp"

#include <memory>
#include <string>

namespace anyio::sim {

const char* to_string(strategy s) noexcept {
  switch (s) {
    case strategy::random: return "random";
    case strategy::fifo: return "fifo";
    case strategy::pct: return "pct";
    case strategy::replay: return "replay";
  }
  return "unknown";
}

namespace {

class sim_backend final : public backend {
 public:
  explicit sim_backend(const options& opts) : opts_(opts), rng_(opts.seed) {}

  std::int64_t now() noexcept override { return now_; }

  bool wait_for_events(std::int64_t deadline) override {
    if (deadline == never) return false;
    if (opts_.max_virtual_time_ns > 0 && deadline > opts_.max_virtual_time_ns)
      throw liveness_error("sim: virtual time would pass max_virtual_time (" +
                           std::to_string(opts_.max_virtual_time_ns) + "ns) at seed " +
                           std::to_string(opts_.seed));
    if (deadline > now_) now_ = deadline;
    return true;
  }

  void poll_events() override {}

  std::size_t pick_next(const ready_view& ready) override {
    ++picks_;
    if (opts_.max_steps > 0 && picks_ > opts_.max_steps)
      throw liveness_error("sim: run exceeded max_steps (" + std::to_string(opts_.max_steps) +
                           ") at seed " + std::to_string(opts_.seed));
    const std::size_t n = ready.size();
    if (n == 1) return 0;
    switch (opts_.strategy) {
      case strategy::fifo: return 0;
      default: return static_cast<std::size_t>(rng_.below(n));
    }
  }

  std::string name() const override { return "sim seed " + std::to_string(opts_.seed); }

 private:
  options opts_;
  prng rng_;
  std::int64_t now_ = 0;
  std::uint64_t picks_ = 0;
};

}  // namespace

namespace detail {
std::unique_ptr<backend> make_backend(const options& opts) {
  return std::make_unique<sim_backend>(opts);
}
}  // namespace detail

}  // namespace anyio::sim
