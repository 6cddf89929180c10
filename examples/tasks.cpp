// SPDX-License-Identifier: MIT
// Tutorial, "Creating and managing tasks": the simplest structured program.
// A task group starts three tasks that each sleep one second; the group
// waits for all of them, so the program takes about one second, not three —
// the tasks really run concurrently. Run it as is (real clock) or with
// --sim-seed=N (virtual clock: the second is exact and takes no real time).
//
// test-expect lines (checked by ctest on realio and on sim):
// test-expect: task 'task-0' started
// test-expect: task 'task-1' started
// test-expect: task 'task-2' started
// test-expect: task 'task-2' finished after 1 second
// test-expect: all 3 tasks finished in 1.[0-9][0-9]s .concurrently, not 3s.
#include "example_main.hpp"

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

namespace {

// An ordinary coroutine function: it returns anyio::task<>, and nothing runs
// until someone awaits it or starts it in a task group.
anyio::task<> worker(int n) {
  // current_task() tells a task who it is: the name given to start_soon.
  std::string name = anyio::current_task().name;
  std::printf("task '%s' started (n=%d)\n", name.c_str(), n);
  co_await anyio::sleep(1s);  // a checkpoint: the other tasks run meanwhile
  std::printf("task '%s' finished after 1 second\n", name.c_str());
}

anyio::task<> amain() {
  auto start = anyio::current_time();
  // with_task_group is anyio's `async with create_task_group() as tg:`. The
  // body starts the children; the group does not return until every child
  // has finished (or, if one fails, until all have been cancelled).
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i) {
      // Pass the function and its arguments — not worker(i) — so the group
      // keeps the arguments alive in the child's own frame. The optional
      // task_name is anyio's `name=` argument.
      tg.start_soon(anyio::task_name("task-" + std::to_string(i)), worker, i);
    }
    co_return;  // the children keep running; the group waits for them here
  });
  // On the real clock this prints about 1.00s; on the simulator exactly 1.00s.
  std::chrono::duration<double> took = anyio::current_time() - start;
  std::printf("all 3 tasks finished in %.2fs (concurrently, not 3s)\n", took.count());
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
