// SPDX-License-Identifier: MIT
// Writes real simulator traces on demand, for the anyio-sim tool's tests,
// the schema check (tests/tool/schema_check.cpp) and the fuzz corpus
// (tests/fuzz/run.sh). Each scenario is a small program chosen so that
// its trace shows something specific — every event kind, a failure, a
// deadlock, forty ready tasks, a large run — and every trace comes from anyio::sim::run_body,
// never from hand-written JSON, so the tests see exactly what users see.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

int shared_counter = 0;
long checkpoints_per_task = 0;

anyio::task<> sleeper() {
  auto scope = anyio::move_on_after(1s);  // fires: deadline, cancel, cancelled, wake(error)
  co_await scope.run([]() -> anyio::task<> { co_await anyio::sleep(5s); });
}

anyio::task<> racer() {
  int seen = shared_counter;
  co_await anyio::checkpoint();  // decisions between the racers
  shared_counter = seen + 1;
}

// Every event kind the simulator writes: spawn, step, park, wake, cancel,
// cancelled, deadline, exit, decide, draw and clock.
anyio::task<> every_kind() {
  shared_counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("sleeper"), sleeper);
    tg.start_soon(anyio::task_name("racer-a"), racer);
    tg.start_soon(anyio::task_name("racer-b"), racer);
    (void)anyio::random_below(6, "dice");
    co_await anyio::sleep(2s);
  });
}

// A lost update that fails on some seeds.
anyio::task<> lost_update() {
  shared_counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("left"), racer);
    tg.start_soon(anyio::task_name("right"), racer);
    co_return;
  });
  if (shared_counter != 2)
    throw std::logic_error("lost update: counter is " + std::to_string(shared_counter));
}

// Two tasks wait for each other forever: a deadlock with a blocked list.
anyio::task<> deadlock() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("waiter"), []() -> anyio::task<> {
      co_await anyio::sleep(250ms);
      co_await anyio::sleep_forever();
    });
    co_return;
  });
}

// An explicit cancel of a task group: the cancel event carries "cancel()".
anyio::task<> cancelled_group() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i) tg.start_soon([]() -> anyio::task<> {
      co_await anyio::sleep_forever();
    });
    co_await anyio::sleep(1500ms);
    tg.cancel_scope().cancel();
  });
}

// Forty tasks ready at once: decide lines list 32 and give "ready_total".
anyio::task<> crowd() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 40; ++i) tg.start_soon(racer);
    co_return;
  });
}

anyio::task<> spinner() {
  for (long i = 0; i < checkpoints_per_task; ++i) co_await anyio::checkpoint();
}

// Many checkpoints in four tasks: about two events (decide, step) each.
anyio::task<> big() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i) tg.start_soon(anyio::task_name("spin-" + std::to_string(i)),
                                              spinner);
    co_return;
  });
}

anyio::sim::body_fn scenario(const std::string& name) {
  if (name == "kinds") return every_kind;
  if (name == "lost-update") return lost_update;
  if (name == "deadlock") return deadlock;
  if (name == "cancel") return cancelled_group;
  if (name == "crowd") return crowd;
  if (name == "big") return big;
  throw std::invalid_argument("unknown scenario '" + name +
                              "': expected kinds, lost-update, deadlock, cancel, crowd or big");
}

int usage() {
  std::fprintf(stderr,
               "usage: anyio_trace_gen SCENARIO OUT.jsonl [--seed N] [--strategy S] "
               "[--events N]\n  scenarios: kinds lost-update deadlock cancel crowd big\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  try {
    anyio::sim::options opts;
    opts.trace_path = argv[2];
    opts.test_name = std::string("gen: ") + argv[1];
    long events = 1000;
    for (int i = 3; i + 1 < argc; i += 2) {
      std::string flag = argv[i];
      std::string value = argv[i + 1];
      if (flag == "--seed") opts.seed = std::stoull(value);
      else if (flag == "--strategy") opts.strategy = anyio::sim::strategy_from_string(value);
      else if (flag == "--events") events = std::stol(value);
      else return usage();
    }
    if ((argc - 3) % 2 != 0) return usage();
    checkpoints_per_task = events / 8;
    anyio::sim::run_result r = anyio::sim::run_body(scenario(argv[1]), opts);
    std::printf("%s: %s after %llu steps\n", opts.trace_path.c_str(), r.outcome.c_str(),
                static_cast<unsigned long long>(r.steps));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anyio_trace_gen: %s\n", e.what());
    return 2;
  }
}
