// SPDX-License-Identifier: MIT
// Conformance: cloned memory object stream handles on both backends — a side
// is open while any clone is, every value goes to exactly one consumer, and
// several producers keep their own order (the tutorial's "multiple producers
// and/or multiple consumers").
#include "tests/conformance/sync_test_support.hpp"

#include <algorithm>
#include <map>
#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("memory stream: the originals stay open until every clone closes",
                "[memory_stream][clone]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& tx = streams.send;
  auto& rx = streams.receive;
  bool ended = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      while (co_await rx.next()) {
      }
      ended = true;
    });
    auto c1 = tx.clone();
    auto c2 = c1.clone();
    REQUIRE(tx.statistics().open_send_streams == 3);
    tx.close();
    c1.close();
    co_await settle();
    REQUIRE_FALSE(ended);  // c2 still open: no end of stream yet
    REQUIRE(rx.statistics().open_send_streams == 1);
    co_await c2.send(1);
    c2.close();
    co_await settle();
    REQUIRE(ended);
  });
}

ANYIO_TEST_CASE("memory stream: each value goes to exactly one consumer",
                "[memory_stream][clone]") {
  auto streams = anyio::create_memory_object_stream<int>(2);
  std::vector<std::vector<int>> got(3);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int c = 0; c < 3; ++c) {
      auto consumer = [&got](anyio::memory_object_receive_stream<int> rx, int id)
          -> anyio::task<> {
        while (auto v = co_await rx.next()) {
          got[id].push_back(*v);
          co_await anyio::sleep(std::chrono::microseconds(100 * (id + 1)));
        }
      };
      tg.start_soon(consumer, streams.receive.clone(), c);
    }
    streams.receive.close();
    for (int i = 0; i < 60; ++i) co_await streams.send.send(i);
    streams.send.close();
  });
  std::vector<int> all;
  for (auto& g : got) {
    REQUIRE(std::is_sorted(g.begin(), g.end()));  // each consumer sees values in order
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == 60);
  for (int i = 0; i < 60; ++i) REQUIRE(all[i] == i);
}

ANYIO_TEST_CASE("memory stream: several producers keep their own order",
                "[memory_stream][clone]") {
  auto streams = anyio::create_memory_object_stream<std::pair<int, int>>(1);
  std::map<int, std::vector<int>> by_producer;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int p = 0; p < 4; ++p) {
      auto producer = [](anyio::memory_object_send_stream<std::pair<int, int>> tx,
                         int id) -> anyio::task<> {
        for (int i = 0; i < 20; ++i) co_await tx.send({id, i});
      };
      tg.start_soon(producer, streams.send.clone(), p);
    }
    streams.send.close();
    while (auto v = co_await streams.receive.next()) by_producer[v->first].push_back(v->second);
  });
  REQUIRE(by_producer.size() == 4);
  for (auto& [id, seq] : by_producer) {
    REQUIRE(seq.size() == 20);
    for (int i = 0; i < 20; ++i) REQUIRE(seq[i] == i);
  }
}

ANYIO_TEST_CASE("memory stream: receivers see end of stream only after the last clone",
                "[memory_stream][clone]") {
  auto streams = anyio::create_memory_object_stream<int>(anyio::unbounded);
  auto tx2 = streams.send.clone();
  auto rx2 = streams.receive.clone();
  co_await streams.send.send(1);
  streams.send.close();
  co_await tx2.send(2);
  auto got101 = co_await rx2.receive();
  REQUIRE(got101 == 1);
  auto got102 = co_await streams.receive.receive();
  REQUIRE(got102 == 2);
  REQUIRE_FALSE(rx2.try_receive());  // empty, but not at end: tx2 is open
  tx2.close();
  REQUIRE_THROWS_AS((void)rx2.try_receive(), anyio::end_of_stream);
  auto got106 = co_await streams.receive.next();
  REQUIRE_FALSE(got106);
  // Closing one receive clone leaves the stream usable for senders.
  auto [tx3, rx3] = anyio::create_memory_object_stream<int>(1);
  auto rx3b = rx3.clone();
  rx3.close();
  REQUIRE(tx3.try_send(1));
  REQUIRE(rx3b.try_receive() == std::optional<int>(1));
}
