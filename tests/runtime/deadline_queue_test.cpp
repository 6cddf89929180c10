// SPDX-License-Identifier: MIT
// Unit tests for the kernel's deadline heap (runtime/deadline_queue.hpp):
// pops come out in (when, seq) order — ties by registration order, which is
// what makes deadline expiry deterministic — removal from any position keeps
// the heap valid, and every node always knows whether and where it is queued.
#include "runtime/deadline_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <vector>

using anyio::detail::deadline_queue;
using anyio::detail::not_in_heap;
using anyio::detail::timer_node;

namespace {
std::vector<std::pair<std::int64_t, std::uint64_t>> drain(deadline_queue& q) {
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  while (!q.empty()) {
    timer_node* n = q.pop();
    REQUIRE(n->heap_index == not_in_heap);
    out.emplace_back(n->when, n->seq);
  }
  return out;
}
}  // namespace

TEST_CASE("deadline_queue: pops by time, ties by sequence", "[deadline_queue]") {
  std::deque<timer_node> nodes;
  deadline_queue q;
  const std::vector<std::pair<std::int64_t, std::uint64_t>> pushes{
      {30, 1}, {10, 2}, {20, 3}, {10, 4}, {30, 5}, {5, 6}, {10, 7}};
  for (auto [when, seq] : pushes) {
    timer_node& n = nodes.emplace_back();
    n.when = when;
    n.seq = seq;
    q.push(&n);
  }
  REQUIRE(q.size() == 7);
  REQUIRE(q.top()->when == 5);
  const std::vector<std::pair<std::int64_t, std::uint64_t>> expected{
      {5, 6}, {10, 2}, {10, 4}, {10, 7}, {20, 3}, {30, 1}, {30, 5}};
  REQUIRE(drain(q) == expected);
}

TEST_CASE("deadline_queue: removal from the middle keeps the order", "[deadline_queue]") {
  std::deque<timer_node> nodes;
  deadline_queue q;
  for (std::uint64_t i = 0; i < 15; ++i) {
    timer_node& n = nodes.emplace_back();
    n.when = static_cast<std::int64_t>((i * 7) % 15);  // 0..14, shuffled
    n.seq = i;
    q.push(&n);
  }
  // Remove a leaf, an inner node, and the root, by identity.
  for (std::int64_t victim : {14, 6, 0}) {
    auto it = std::find_if(nodes.begin(), nodes.end(),
                           [&](const timer_node& n) { return n.when == victim; });
    REQUIRE(it->heap_index != not_in_heap);
    q.remove(&*it);
    REQUIRE(it->heap_index == not_in_heap);
  }
  for (const timer_node& n : nodes)
    if (n.heap_index != not_in_heap) REQUIRE(q.size() > n.heap_index);
  std::vector<std::int64_t> whens;
  for (auto [when, seq] : drain(q)) whens.push_back(when);
  REQUIRE(whens == std::vector<std::int64_t>{1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13});
}

TEST_CASE("deadline_queue: random pushes and removals match a sorted model",
          "[deadline_queue]") {
  std::mt19937_64 rng(20240601);  // the test's own fixed seed; not the simulator's prng
  std::deque<timer_node> nodes;
  std::vector<timer_node*> queued;
  deadline_queue q;
  std::uint64_t seq = 0;
  for (int round = 0; round < 2000; ++round) {
    if (queued.empty() || rng() % 3 != 0) {
      timer_node& n = nodes.emplace_back();
      n.when = static_cast<std::int64_t>(rng() % 50);  // many ties
      n.seq = seq++;
      q.push(&n);
      queued.push_back(&n);
    } else {
      std::size_t i = rng() % queued.size();
      q.remove(queued[i]);
      queued.erase(queued.begin() + static_cast<std::ptrdiff_t>(i));
    }
    REQUIRE(q.size() == queued.size());
  }
  std::vector<std::pair<std::int64_t, std::uint64_t>> model;
  for (timer_node* n : queued) model.emplace_back(n->when, n->seq);
  std::sort(model.begin(), model.end());
  REQUIRE(drain(q) == model);
}

TEST_CASE("deadline_queue: clear forgets every node", "[deadline_queue]") {
  timer_node a, b;
  a.when = 1;
  b.when = 2;
  deadline_queue q;
  q.push(&a);
  q.push(&b);
  q.clear();
  REQUIRE(q.empty());
  REQUIRE(a.heap_index == not_in_heap);
  REQUIRE(b.heap_index == not_in_heap);
  q.push(&b);  // a cleared node can be queued again
  REQUIRE(q.top() == &b);
}
