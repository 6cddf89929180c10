// SPDX-License-Identifier: MIT
// Backend-neutral helpers for tests (trio.testing): wait_all_tasks_blocked
// lets a test run the program "until it settles". No Catch2 dependency; the
// two-backend Catch2 harness is <anyio/testing/catch.hpp>.
#pragma once
#include <anyio/task.hpp>
#include <anyio/time.hpp>

namespace anyio::testing {

/// Block until every other task is blocked (trio's definition): wake when no
/// task is runnable and no I/O or timer has arrived for `cushion`. On sim
/// that means every other task is parked and nothing is due (the virtual
/// clock advances by the cushion, if any); on realio, the run loop stayed
/// idle for `cushion` of real time. With several waiters, the one with the
/// smallest cushion wakes first, one per idle period.
/// Checkpoint: yes. Throws: cancelled.
task<> wait_all_tasks_blocked(clock::duration cushion = clock::duration::zero());

}  // namespace anyio::testing
