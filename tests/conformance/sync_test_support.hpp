// SPDX-License-Identifier: MIT
// Helpers shared by the sync_* and memory_stream_* conformance tests: checking
// that an awaited operation throws a given error (Catch2's REQUIRE_THROWS
// cannot contain co_await), and spawning waiters one at a time so that their
// queue order is known on every backend and every sim seed.
#pragma once
#include <anyio/testing/catch.hpp>

#include <optional>
#include <string>

namespace sync_test {

/// True if awaiting f() throws E (anything else propagates).
template <class E, class F> anyio::task<bool> raises(F f) {
  try {
    (void)co_await f();
  } catch (const E&) {
    co_return true;
  }
  co_return false;
}

/// The what() of the E that awaiting f() throws, or nullopt if it returns.
template <class E, class F> anyio::task<std::optional<std::string>> message_of(F f) {
  try {
    (void)co_await f();
  } catch (const E& e) {
    co_return std::string(e.what());
  }
  co_return std::nullopt;
}

/// The what() of the E that calling f() throws, or nullopt.
template <class E, class F> std::optional<std::string> sync_message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

inline std::uint64_t my_id() { return anyio::current_task().id; }

/// Let every other task run until all are blocked (queue order is then known).
inline anyio::task<> settle() { co_await anyio::testing::wait_all_tasks_blocked(); }

}  // namespace sync_test
