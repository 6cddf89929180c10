// SPDX-License-Identifier: MIT
// Tutorial, "Synchronization primitives": a capacity limiter with 2 tokens
// lets at most two of ten tasks use a shared resource at a time, and an
// event releases several waiting tasks at once. The primitives are strictly
// FIFO: tasks get the resource in the order they asked for it. Run it as is
// (real clock, about half a second) or with --sim-seed=N (virtual clock).
//
// test-expect lines (checked by ctest on realio and on sim):
// test-expect: Task number 0 is now working with the shared resource
// test-expect: Task number 9 is now working with the shared resource
// test-expect: at most 2 tasks used the resource at once, in the order they asked
// test-expect: waiter 0 received the notification
// test-expect: waiter 2 received the notification
// test-expect: all 3 waiters were notified by one set\(\)
#include "example_main.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct resource_log {
  int in_use = 0;
  int max_in_use = 0;
  std::vector<int> order;
};

anyio::task<> use_resource(int tasknum, anyio::capacity_limiter& limiter, resource_log& log) {
  // anyio's `async with limiter:` — the guard gives the token back when it
  // goes out of scope, even if the task is cancelled or fails.
  auto token = co_await limiter.guard();
  log.order.push_back(tasknum);
  log.max_in_use = std::max(log.max_in_use, ++log.in_use);
  std::printf("Task number %d is now working with the shared resource\n", tasknum);
  co_await anyio::sleep(100ms);
  --log.in_use;
}

anyio::task<> limiter_demo() {
  anyio::capacity_limiter limiter(2);
  resource_log log;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int num = 0; num < 10; ++num) {
      tg.start_soon(use_resource, num, std::ref(limiter), std::ref(log));
      co_await anyio::sleep(1ms);  // ask in a known order
    }
  });
  bool in_order = std::is_sorted(log.order.begin(), log.order.end());
  if (log.max_in_use == 2 && in_order && log.order.size() == 10)
    std::printf("at most 2 tasks used the resource at once, in the order they asked\n");
  else
    std::printf("unexpected: %d at once, %s\n", log.max_in_use,
                in_order ? "in order" : "reordered");
}

anyio::task<> waiter(int n, anyio::event& event, int& notified) {
  co_await event.wait();
  std::printf("waiter %d received the notification\n", n);
  ++notified;
}

anyio::task<> event_demo() {
  anyio::event event;
  int notified = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int n = 0; n < 3; ++n) tg.start_soon(waiter, n, std::ref(event), std::ref(notified));
    co_await anyio::sleep(50ms);
    std::printf("%zu tasks wait for the event; setting it\n", event.statistics().tasks_waiting);
    event.set();  // wakes every waiter; an event cannot be cleared, only replaced
  });
  if (notified == 3) std::printf("all 3 waiters were notified by one set()\n");
}

anyio::task<> amain() {
  co_await limiter_demo();
  co_await event_demo();
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
