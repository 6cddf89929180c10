// SPDX-License-Identifier: MIT
// The smallest real concurrency bug, shared by the sim tests that need one
// failing program: two tasks read a counter, checkpoint, and write it back
// plus one, so an update is lost when the other task runs in between (one
// preemption). The body resets the counter, so every run starts alike.
#pragma once
#include <anyio/anyio.hpp>

#include <stdexcept>
#include <string>

namespace lost_update_fixture {

inline int counter = 0;

inline anyio::task<> increment() {
  int seen = counter;
  co_await anyio::checkpoint();
  counter = seen + 1;
}

inline anyio::task<> run() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(increment);
    tg.start_soon(increment);
    co_return;
  });
  if (counter != 2) throw std::logic_error("lost update: counter is " + std::to_string(counter));
}

}  // namespace lost_update_fixture
