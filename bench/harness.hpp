// SPDX-License-Identifier: MIT
// The benchmark harness every bench/<workload>.cpp links against. A workload
// file registers one workload with its variants (realio, sim and the raw-Asio
// baseline doing the same work) and its targets; harness.cpp supplies main(),
// runs each variant in forked child processes (so peak RSS and allocator
// state belong to that variant alone), takes medians and writes JSON that
// bench/run merges into one table. Read bench/README.md before adding one.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace anyio_bench {

/// One implementation of a workload. `run(ops)` does the whole work once
/// (one repetition) and throws if the work was not done.
struct variant {
  std::string backend{};  ///< "realio", "sim" or "asio" (the baseline)
  std::function<void(std::uint64_t ops)> run{};
};

/// Goals bench/run checks and prints; a target left at its default is none.
struct targets {
  double min_ratio_vs_asio = 0;   ///< realio rate / asio rate must reach this
  double min_sim_rate = 0;        ///< sim ops per second must reach this
  const char* sim_rate_unit = "step";  ///< what min_sim_rate counts, for the table
  double max_allocs_per_op = -1;  ///< realio and sim operator-new calls per op
  double min_ratio_vs_floor = 0;  ///< realio rate / "floor" variant rate must reach this
  double max_trace_cost = 0;      ///< sim rate / "sim-traced" rate must stay below this
  /// Resident bytes per op beyond the coroutine frame (note_memory) must stay below this.
  double max_bytes_beyond_frame = 0;
};

struct workload {
  std::string name{};   ///< "w3_checkpoint": the file name and JSON key
  std::string label{};  ///< "w3 checkpoints": the table's row name
  std::string unit{};   ///< "checkpoint": what one op is
  std::uint64_t ops = 0;
  targets goals{};
  std::vector<variant> variants{};
  /// Each round is one repetition without warmup, so a memory figure
  /// (note_memory) is taken in a fresh process, before freed memory is reused.
  bool one_shot = false;
  /// Bytes one op moves (a send of a throughput workload); when set, the
  /// table adds a MB/s row (rate x bytes_per_op / 10^6).
  double bytes_per_op = 0;
};

/// Register a workload; call from a namespace-scope initializer:
///   [[maybe_unused]] const int registered = anyio_bench::add({...});
int add(workload w);

/// Bracket the timed region of one repetition, once each, from inside the
/// variant (e.g. around the loop, leaving out run() setup). A variant that
/// calls neither is timed around the whole run(ops) call. Allocations are
/// counted over the same region.
void begin_measure() noexcept;
void end_measure() noexcept;

/// Heap allocations of any kind since the program started: every operator
/// new and every malloc-family call (malloc, calloc, realloc, aligned_alloc...).
std::uint64_t allocation_count() noexcept;

/// Calls to the global operator new (all forms) since the program started.
std::uint64_t operator_new_count() noexcept;

/// Bytes requested from the global operator new (all forms) since the start.
std::uint64_t operator_new_bytes() noexcept;

/// The process's resident set size now, in bytes (/proc/self/statm).
std::uint64_t resident_bytes();

/// Report one repetition's memory figures: the resident bytes its ops added,
/// and the size of the coroutine frame each op's task holds. The record then
/// has rss_bytes_per_op, frame_bytes and bytes_beyond_frame (their difference).
void note_memory(std::uint64_t resident_growth_bytes, std::uint64_t frame_bytes) noexcept;

}  // namespace anyio_bench
