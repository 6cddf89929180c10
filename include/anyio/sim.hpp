// SPDX-License-Identifier: MIT
// The deterministic simulator's public face: sim::options and sim::run.
// A simulated run uses the same kernel as realio; the sim backend chooses
// which ready task runs next from one seeded generator, keeps a virtual
// clock that jumps to the next deadline when every task is blocked (an hour
// of sleeps takes milliseconds), and reports a deadlock — every blocked task
// and what it waits on — when nothing can ever happen again.
#pragma once
#include <anyio/run.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace anyio::sim {

/// How the simulator picks the next ready task.
enum class strategy {
  random,  ///< uniformly among ready tasks
  fifo,    ///< the task that became ready first
  pct,     ///< probabilistic concurrency testing (priorities + change points)
  replay,  ///< follow a recorded decision list
};

const char* to_string(strategy s) noexcept;

struct options {
  std::uint64_t seed = 0;
  sim::strategy strategy = sim::strategy::random;
  int pct_depth = 3;                ///< pct: bug depth d (d-1 change points)
  std::uint64_t pct_steps = 1000;   ///< pct: estimated number of steps
  std::uint64_t max_steps = 0;      ///< fail with liveness_error beyond this (0 = no limit)
  std::int64_t max_virtual_time_ns = 0;  ///< same for virtual time (0 = no limit)
  std::string trace_path{};         ///< write a JSON Lines trace here ("" = none)
  std::string test_name{};          ///< recorded in the trace header
  instrument* observer = nullptr;   ///< extra instrument, e.g. a step log
};

namespace detail {
std::unique_ptr<backend> make_backend(const options& opts);
}

/// Run fn(args...) on the simulator until it finishes; return its value or
/// rethrow its exception. Throws deadlock_error if every task blocks forever.
template <class Fn> auto run(Fn fn, const options& opts = {}) {
  auto b = detail::make_backend(opts);
  anyio::detail::run_config config{opts.observer};
  return anyio::detail::run_on(*b, config, std::move(fn));
}

}  // namespace anyio::sim
