// SPDX-License-Identifier: MIT
// Unit tests for the kernel's run queue (runtime/ready_queue.hpp): FIFO with
// take(0), and take(i) filling the hole with the front task — the exact
// permutation the sim's recorded decisions depend on — across the ring's
// wrap-around and growth past its initial 64 slots.
#include "runtime/ready_queue.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <vector>

using anyio::detail::ready_queue;
using anyio::detail::task_record;

namespace {
std::deque<task_record> make_tasks(std::uint64_t n) {
  std::deque<task_record> tasks(n);
  for (std::uint64_t i = 0; i < n; ++i) tasks[i].id = i + 1;
  return tasks;
}

std::vector<std::uint64_t> ids(const ready_queue& q) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < q.size(); ++i) out.push_back(q.task_id(i));
  return out;
}
}  // namespace

TEST_CASE("ready_queue: take(0) is FIFO", "[ready_queue]") {
  auto tasks = make_tasks(5);
  ready_queue q;
  for (auto& t : tasks) q.push_back(&t);
  std::vector<std::uint64_t> order;
  while (!q.empty()) order.push_back(q.take(0)->id);
  REQUIRE(order == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("ready_queue: take(i) moves the front task into the hole", "[ready_queue]") {
  auto tasks = make_tasks(5);
  ready_queue q;
  for (auto& t : tasks) q.push_back(&t);
  REQUIRE(q.take(3)->id == 4);
  REQUIRE(ids(q) == std::vector<std::uint64_t>{2, 3, 1, 5});
  REQUIRE(q.take(3)->id == 5);
  REQUIRE(ids(q) == std::vector<std::uint64_t>{3, 1, 2});
  REQUIRE(q.take(0)->id == 3);
  REQUIRE(ids(q) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("ready_queue: keeps order across wrap-around and growth", "[ready_queue]") {
  auto tasks = make_tasks(300);
  ready_queue q;
  std::deque<std::uint64_t> model;
  std::size_t next = 0;
  // Advance the head so the ring wraps, then grow it past 64 slots while wrapped.
  for (int i = 0; i < 50; ++i) {
    q.push_back(&tasks[next]);
    model.push_back(tasks[next++].id);
    REQUIRE(q.take(0)->id == model.front());
    model.pop_front();
  }
  while (next < tasks.size()) {
    q.push_back(&tasks[next]);
    model.push_back(tasks[next++].id);
  }
  REQUIRE(q.size() == 250);
  REQUIRE(ids(q) == std::vector<std::uint64_t>(model.begin(), model.end()));
  q.clear();
  REQUIRE(q.empty());
}

TEST_CASE("ready_queue: previous_index finds the task that yielded, exactly",
          "[ready_queue][preemption]") {
  auto tasks = make_tasks(200);
  ready_queue q;
  // Wrap the ring first, so the yielded slot is remapped by a wrapped grow().
  for (int i = 0; i < 40; ++i) {
    q.push_back(&tasks[0]);
    (void)q.take(0);
  }
  for (std::size_t i = 1; i < 60; ++i) q.push_back(&tasks[i]);
  REQUIRE(q.previous_index() == q.size());  // nothing yielded yet
  q.push_yielded(&tasks[0]);
  REQUIRE(q.previous_index() == 59);
  // Tasks woken after it (deadlines, I/O) queue behind it; the ring grows.
  for (std::size_t i = 60; i < 200; ++i) q.push_back(&tasks[i]);
  REQUIRE(q.size() == 200);
  REQUIRE(q.at(q.previous_index()) == &tasks[0]);
  // Whatever runs next is the new previous task: the mark is gone.
  task_record* running = q.take(7);
  REQUIRE(running->id == 9);
  REQUIRE(q.previous_index() == q.size());
  // It blocked and was woken: queued with push_back, so not marked.
  q.push_back(running);
  REQUIRE(q.previous_index() == q.size());
  // The next one yields at a checkpoint: marked.
  running = q.take(0);
  q.push_yielded(running);
  REQUIRE(q.at(q.previous_index()) == running);
  q.clear();
  REQUIRE(q.previous_index() == 0);
}
