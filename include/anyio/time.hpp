// SPDX-License-Identifier: MIT
// Time as the running backend sees it: anyio::clock reads the kernel's clock
// (steady on realio, virtual on sim, where it starts at zero and jumps to
// the next deadline whenever every task is blocked). sleep is a timer in the
// kernel's deadline heap, woken by the scheduler without raising anything;
// only cancellation makes it throw.
#pragma once
#include <anyio/detail/awaiter.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace anyio {

/// The run's clock. time_point values are only comparable within one run.
struct clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<clock>;
  static constexpr bool is_steady = true;
  /// Same as current_time(); throws usage_error outside anyio::run().
  static time_point now() {
    return time_point(duration(detail::current_time_ns("anyio::clock::now()")));
  }
};

/// The current time on the running backend's clock.
inline clock::time_point current_time() {
  return clock::time_point(clock::duration(detail::current_time_ns("anyio::current_time()")));
}

/// The date and time on the running backend's wall clock: the system clock
/// on realio; on sim sim::wall_clock_start_ns plus the virtual time (TLS
/// checks certificate dates against it). Throws usage_error outside anyio::run().
std::chrono::system_clock::time_point wall_clock_now();

namespace detail {

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  if (b > 0 && a > never - b) return never;
  return a + b;
}

/// sleep()/sleep_until(): a timer in the kernel's deadline heap. A
/// non-positive sleep is a checkpoint (trio), with no clock read for sleep(0).
struct sleep_op {
  std::int64_t amount;
  bool relative;
  const char* api;
  sleep_node node{};
  static constexpr fast_path order = fast_path::yield_then_cancel;

  bool try_now(task_record&) {
    if (relative && amount <= 0) return true;
    std::int64_t now = current_time_ns(api);
    node.when = relative ? saturating_add(now, amount) : amount;
    return node.when <= now;
  }
  void wait(task_record& t, std::coroutine_handle<> h) { sleep_park(node, t, h, node.when); }
  /// Woken by something other than the timer (lowlevel::reschedule): leave
  /// no stale node in the heap.
  void withdraw() noexcept {
    if (node.heap_index != not_in_heap) sleep_done(node);
  }
};
using sleep_awaiter = blocking_awaiter<sleep_op>;

struct sleep_forever_op {
  const char* api = "anyio::sleep_forever()";
  static constexpr auto abort_now = []() noexcept { return abort_result::succeeded; };
  static constexpr fast_path order = fast_path::yield_then_cancel;  // never fast
  static bool try_now(task_record&) noexcept { return false; }
  static void wait(task_record& t, std::coroutine_handle<> h) {
    park(t, h, abort_now, "sleep_forever");
  }
};
using sleep_forever_awaiter = blocking_awaiter<sleep_forever_op>;

}  // namespace detail

/// Sleep for `d` (a non-positive duration is a plain checkpoint).
/// Checkpoint: yes. Cancellation: the sleep ends early. Throws: cancelled.
[[nodiscard]] inline detail::sleep_awaiter sleep(clock::duration d) noexcept {
  return {d.count(), true, "anyio::sleep()"};
}

/// Sleep until `t` on the run's clock. Checkpoint: yes. Throws: cancelled.
[[nodiscard]] inline detail::sleep_awaiter sleep_until(clock::time_point t) noexcept {
  return {t.time_since_epoch().count(), false, "anyio::sleep_until()"};
}

/// Block until cancelled. Checkpoint: yes. Throws: cancelled (always).
[[nodiscard]] inline detail::sleep_forever_awaiter sleep_forever() noexcept { return {}; }

/// The earliest deadline among the enclosing scopes up to the nearest shield;
/// clock::time_point::min() if already cancelled, max() if there is none.
inline clock::time_point current_effective_deadline() {
  const auto& t = detail::current_task_record("anyio::current_effective_deadline()");
  return clock::time_point(clock::duration(detail::effective_deadline(t)));
}

}  // namespace anyio
