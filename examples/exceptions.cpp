// SPDX-License-Identifier: MIT
// Tutorial, "Handling exceptions": when several tasks fail at about the same
// time, which error do you get? All of them. A task group always raises one
// anyio::exception_group holding every failure with the name of the task it
// came from (anyio 4 semantics: even a single failure arrives as a group, the
// same on both backends). The first failure cancels the rest of the group.
//
// test-expect: task 'fast' finished
// test-expect: task 'slow' was cancelled
// test-expect: caught: task group failed .2 sub-exceptions.
// test-expect: in task 'bad-value': std::invalid_argument: task 1 got a bad value
// test-expect: in task 'bad-type': std::runtime_error: task 2 got the wrong type
// test-expect: split: 1 invalid_argument from 'bad-value', 1 other from 'bad-type'
#include "example_main.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

anyio::task<> fast() {
  co_await anyio::sleep(50ms);
  std::printf("task 'fast' finished\n");
}

anyio::task<> slow() {
  try {
    co_await anyio::sleep(1s);
    std::printf("task 'slow' finished\n");  // never: a sibling fails first
  } catch (const anyio::cancelled&) {
    // A sibling failed, so the group cancelled this task. `cancelled` is not
    // a std::exception: catch it by name, and always rethrow it.
    std::printf("task 'slow' was cancelled\n");
    throw;
  }
}

// Both failing tasks wake at the same instant (an absolute time point, so
// neither wins a race against the other) and fail without another checkpoint:
// both failures are collected.
anyio::task<> fail_with_value(anyio::clock::time_point when) {
  co_await anyio::sleep_until(when);
  throw std::invalid_argument("task 1 got a bad value");
}

anyio::task<> fail_with_type(anyio::clock::time_point when) {
  co_await anyio::sleep_until(when);
  throw std::runtime_error("task 2 got the wrong type");
}

anyio::task<> amain() {
  try {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      auto when = anyio::current_time() + 100ms;
      tg.start_soon(anyio::task_name("fast"), fast);
      tg.start_soon(anyio::task_name("slow"), slow);
      tg.start_soon(anyio::task_name("bad-value"), fail_with_value, when);
      tg.start_soon(anyio::task_name("bad-type"), fail_with_type, when);
      co_return;
    });
  } catch (const anyio::exception_group& group) {
    // what() lists every member with its task name, nested groups indented.
    std::printf("caught: %s\n", group.what());

    // split<E>() separates the members that are E from the rest, keeping
    // nesting and task names: handle what you expect, re-raise the rest.
    auto [invalid, rest] = group.split<std::invalid_argument>();
    if (invalid && rest)
      std::printf("split: %zu invalid_argument from '%s', %zu other from '%s'\n", invalid->size(),
                  invalid->members()[0].task.c_str(), rest->size(),
                  rest->members()[0].task.c_str());
    // contains<E>() / find<E>() search every depth.
    if (const auto* e = group.find<std::runtime_error>())
      std::printf("find<std::runtime_error>: %s\n", e->what());
  }
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
