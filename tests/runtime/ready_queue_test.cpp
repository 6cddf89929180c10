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
