// SPDX-License-Identifier: MIT
// Conformance: memory object streams on both backends — rendezvous, bounded
// and unbounded buffers, FIFO order of values, senders and receivers,
// move-only values, the non-blocking forms, next() draining, statistics and
// the stapled stream.
#include "tests/conformance/sync_test_support.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sync_test::settle;

ANYIO_TEST_CASE("memory stream: rendezvous send waits for a receiver", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(0);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  bool sent = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await tx.send(7);
      sent = true;
    });
    co_await settle();
    REQUIRE_FALSE(sent);
    auto s = tx.statistics();
    REQUIRE(s.tasks_waiting_send == 1);
    REQUIRE(s.current_buffer_used == 0);
    auto got30 = co_await rx.receive();
    REQUIRE(got30 == 7);
    co_await settle();
    REQUIRE(sent);
  });
  REQUIRE(rx.statistics().tasks_waiting_send == 0);
}

ANYIO_TEST_CASE("memory stream: rendezvous receive waits for a sender", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<std::string>();
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await rx.receive(); });
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_receive == 1);
    REQUIRE(tx.try_send(std::string("hello")));  // straight into the waiting receiver
    REQUIRE(rx.statistics().tasks_waiting_receive == 0);
  });
  REQUIRE(got == "hello");
}

ANYIO_TEST_CASE("memory stream: a bounded buffer holds max_buffer_size items",
                "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(3);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  for (int i = 0; i < 3; ++i) co_await tx.send(i);
  REQUIRE(tx.statistics().current_buffer_used == 3);
  REQUIRE(tx.statistics().max_buffer_size == 3);
  REQUIRE_FALSE(tx.try_send(99));
  bool fourth_sent = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await tx.send(3);
      fourth_sent = true;
    });
    co_await settle();
    REQUIRE_FALSE(fourth_sent);
    auto got69 = co_await rx.receive();
    REQUIRE(got69 == 0);
    // The waiting sender's value moved into the freed slot at once.
    REQUIRE(rx.statistics().current_buffer_used == 3);
    REQUIRE(rx.statistics().tasks_waiting_send == 0);
  });
  REQUIRE(fourth_sent);
  for (int i = 1; i <= 3; ++i) {
    auto got75 = co_await rx.receive();
    REQUIRE(got75 == i);
  }
}

ANYIO_TEST_CASE("memory stream: unbounded never blocks a sender", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(anyio::unbounded);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  for (int i = 0; i < 1000; ++i) co_await tx.send(i);
  REQUIRE(tx.statistics().current_buffer_used == 1000);
  REQUIRE(tx.statistics().max_buffer_size == anyio::unbounded);
  for (int i = 0; i < 1000; ++i) {
    auto got85 = co_await rx.receive();
    REQUIRE(got85 == i);
  }
}

ANYIO_TEST_CASE("memory stream: values arrive in the order sent", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(2);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  std::vector<int> got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (int i = 0; i < 50; ++i) co_await tx.send(i);
      tx.close();
    });
    while (auto v = co_await rx.next()) got.push_back(*v);
  });
  REQUIRE(got.size() == 50);
  for (int i = 0; i < 50; ++i) REQUIRE(got[i] == i);
}

ANYIO_TEST_CASE("memory stream: blocked senders deliver in FIFO order", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(0);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> { co_await tx.send(k); }, i);
      co_await settle();
    }
    REQUIRE(tx.statistics().tasks_waiting_send == 4);
    for (int i = 0; i < 4; ++i) {
      auto got114 = co_await rx.receive();
      REQUIRE(got114 == i);
    }
  });
}

ANYIO_TEST_CASE("memory stream: blocked receivers are served in FIFO order", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(0);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  std::vector<int> got(4, -1);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 4; ++i) {
      tg.start_soon([&](int k) -> anyio::task<> { got[k] = co_await rx.receive(); }, i);
      co_await settle();
    }
    REQUIRE(rx.statistics().tasks_waiting_receive == 4);
    for (int i = 0; i < 4; ++i) co_await tx.send(100 + i);
  });
  REQUIRE(got == std::vector<int>{100, 101, 102, 103});
}

ANYIO_TEST_CASE("memory stream: move-only values", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<std::unique_ptr<int>>(1);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (int i = 0; i < 5; ++i) co_await tx.send(std::make_unique<int>(i));
      tx.close();
    });
    int expect = 0;
    while (auto p = co_await rx.next()) {
      REQUIRE(*p != nullptr);
      REQUIRE(**p == expect++);
    }
    REQUIRE(expect == 5);
  });
  auto [tx2, rx2] = anyio::create_memory_object_stream<std::unique_ptr<int>>(0);
  REQUIRE(rx2.statistics().max_buffer_size == 0);
  auto value = std::make_unique<int>(9);
  REQUIRE_FALSE(tx2.try_send(std::move(value)));
  REQUIRE(value != nullptr);  // a failed try_send leaves the value with the caller
  REQUIRE(*value == 9);
}

ANYIO_TEST_CASE("memory stream: try_send and try_receive never block", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(1);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  REQUIRE_FALSE(rx.try_receive());
  REQUIRE(tx.try_send(1));
  REQUIRE_FALSE(tx.try_send(2));
  const int three = 3;
  REQUIRE_FALSE(tx.try_send(three));
  auto v = rx.try_receive();
  REQUIRE(v == std::optional<int>(1));
  REQUIRE(tx.try_send(three));
  REQUIRE(rx.try_receive() == std::optional<int>(3));
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("memory stream: send_nowait and receive_nowait raise would_block",
                "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(1);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  REQUIRE_THROWS_AS(rx.receive_nowait(), anyio::would_block);
  tx.send_nowait(5);
  REQUIRE_THROWS_AS(tx.send_nowait(6), anyio::would_block);
  REQUIRE(rx.receive_nowait() == 5);
  tx.close();
  REQUIRE_THROWS_AS(rx.receive_nowait(), anyio::end_of_stream);
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("memory stream: try_receive takes from a blocked sender", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(0);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  bool sent = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await tx.send(11);
      sent = true;
    });
    co_await settle();
    REQUIRE(rx.try_receive() == std::optional<int>(11));
    REQUIRE_FALSE(rx.try_receive());
  });
  REQUIRE(sent);
}

ANYIO_TEST_CASE("memory stream: next() drains buffered values then ends", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(10);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  for (int i = 0; i < 5; ++i) co_await tx.send(i);
  tx.close();
  std::vector<int> got;
  while (auto v = co_await rx.next()) got.push_back(*v);
  REQUIRE(got == std::vector<int>{0, 1, 2, 3, 4});
  auto got214 = co_await rx.next();
  REQUIRE_FALSE(got214);  // stays at end of stream
}

ANYIO_TEST_CASE("memory stream: statistics", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(2);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  auto s = rx.statistics();
  REQUIRE(s.current_buffer_used == 0);
  REQUIRE(s.max_buffer_size == 2);
  REQUIRE(s.open_send_streams == 1);
  REQUIRE(s.open_receive_streams == 1);
  REQUIRE(s.tasks_waiting_send == 0);
  REQUIRE(s.tasks_waiting_receive == 0);
  auto tx2 = tx.clone();
  auto rx2 = rx.clone();
  co_await tx.send(1);
  s = tx2.statistics();
  REQUIRE(s.current_buffer_used == 1);
  REQUIRE(s.open_send_streams == 2);
  REQUIRE(s.open_receive_streams == 2);
  rx2.close();
  tx.close();
  s = tx.statistics();  // statistics still work on a closed handle
  REQUIRE(s.open_send_streams == 1);
  REQUIRE(s.open_receive_streams == 1);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await tx2.send(2);
      co_await tx2.send(3);
    });
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_send == 1);
    REQUIRE(rx.statistics().current_buffer_used == 2);
    (void)co_await rx.receive();
  });
  REQUIRE(rx.statistics().current_buffer_used == 2);
}

ANYIO_TEST_CASE("memory stream: stapled_object_stream sends one way, receives the other",
                "[memory_stream]") {
  auto a_tx_b_rx = anyio::create_memory_object_stream<std::string>(1);
  auto& a_tx = a_tx_b_rx.send;
  auto& b_rx = a_tx_b_rx.receive;
  auto b_tx_a_rx = anyio::create_memory_object_stream<std::string>(1);
  auto& b_tx = b_tx_a_rx.send;
  auto& a_rx = b_tx_a_rx.receive;
  anyio::stapled_object_stream<std::string> a(std::move(a_tx), std::move(a_rx));
  anyio::stapled_object_stream<std::string> b(std::move(b_tx), std::move(b_rx));
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      while (auto msg = co_await b.next()) co_await b.send("echo " + *msg);
      b.send_eof();
    });
    co_await a.send("one");
    auto got269 = co_await a.receive();
    REQUIRE(got269 == "echo one");
    co_await a.send("two");
    auto got271 = co_await a.receive();
    REQUIRE(got271 == "echo two");
    a.send_eof();
    auto got273 = co_await a.next();
    REQUIRE_FALSE(got273);  // b saw our end of stream and sent its own
  });
  REQUIRE(a.send_stream().statistics().open_send_streams == 0);
  a.close();
  REQUIRE_THROWS_AS((void)a.try_receive(), anyio::closed_resource_error);
}
