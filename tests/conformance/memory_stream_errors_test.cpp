// SPDX-License-Identifier: MIT
// Conformance: memory object stream errors and closing, on both backends —
// end_of_stream, broken_resource_error, closed_resource_error (also for
// tasks blocked on the handle being closed), RAII close, aclose as a
// checkpoint, and misuse of empty handles.
#include "tests/conformance/sync_test_support.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;
using sync_test::raises;
using sync_test::settle;

ANYIO_TEST_CASE("memory stream: structured bindings and end_of_stream", "[memory_stream]") {
  auto [tx, rx] = anyio::create_memory_object_stream<int>(4);
  co_await tx.send(1);
  co_await tx.send(2);
  tx.close();
  // Buffered values are still delivered after the sender closed.
  auto got21 = co_await rx.receive();
  REQUIRE(got21 == 1);
  auto got22 = co_await rx.receive();
  REQUIRE(got22 == 2);
  bool ended = false;
  try {
    (void)co_await rx.receive();
  } catch (const anyio::end_of_stream& e) {
    ended = true;
    CHECK_THAT(e.what(), Catch::Contains("every send stream is closed"));
    REQUIRE(e.code() == anyio::errc::end_of_stream);
  }
  REQUIRE(ended);
  REQUIRE_THROWS_AS((void)rx.try_receive(), anyio::end_of_stream);
}

ANYIO_TEST_CASE("memory stream: a blocked receiver gets end_of_stream when the last sender "
                "closes",
                "[memory_stream]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& rx = streams.receive;
  bool ended = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      ended = co_await raises<anyio::end_of_stream>([&] { return rx.receive(); });
    });
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_receive == 1);
    streams.send.close();
  });
  REQUIRE(ended);
}

ANYIO_TEST_CASE("memory stream: sending with every receiver closed is broken_resource_error",
                "[memory_stream]") {
  auto [tx, rx] = anyio::create_memory_object_stream<int>(5);
  rx.close();
  bool broken = false;
  try {
    co_await tx.send(1);
  } catch (const anyio::broken_resource_error& e) {
    broken = true;
    REQUIRE(e.code() == anyio::errc::broken_resource);
  }
  REQUIRE(broken);
  REQUIRE_THROWS_AS((void)tx.try_send(1), anyio::broken_resource_error);
  REQUIRE_THROWS_AS(tx.send_nowait(1), anyio::broken_resource_error);
  REQUIRE(tx.statistics().current_buffer_used == 0);
}

ANYIO_TEST_CASE("memory stream: a blocked sender gets broken_resource_error", "[memory_stream]") {
  auto streams = anyio::create_memory_object_stream<int>(1);
  auto& tx = streams.send;
  bool broken = false;
  co_await tx.send(0);  // fills the buffer
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      broken = co_await raises<anyio::broken_resource_error>([&] { return tx.send(1); });
    });
    co_await settle();
    REQUIRE(tx.statistics().tasks_waiting_send == 1);
    streams.receive.close();
  });
  REQUIRE(broken);
  REQUIRE(tx.statistics().tasks_waiting_send == 0);
}

ANYIO_TEST_CASE("memory stream: using a closed handle is closed_resource_error",
                "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(1);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  auto rx_keep = rx.clone();
  auto tx_keep = tx.clone();
  tx.close();
  tx.close();  // closing twice does nothing
  rx.close();
  auto got96 = co_await raises<anyio::closed_resource_error>([&] { return tx.send(1); });
  REQUIRE(got96);
  auto got97 = co_await raises<anyio::closed_resource_error>([&] { return rx.receive(); });
  REQUIRE(got97);
  auto got98 = co_await raises<anyio::closed_resource_error>([&] { return rx.next(); });
  REQUIRE(got98);
  REQUIRE_THROWS_AS((void)tx.try_send(1), anyio::closed_resource_error);
  REQUIRE_THROWS_AS((void)rx.try_receive(), anyio::closed_resource_error);
  REQUIRE_THROWS_AS(tx.clone(), anyio::closed_resource_error);
  REQUIRE_THROWS_AS(rx.clone(), anyio::closed_resource_error);
  // The other clones are unaffected.
  co_await tx_keep.send(5);
  auto got105 = co_await rx_keep.receive();
  REQUIRE(got105 == 5);
}

ANYIO_TEST_CASE("memory stream: closing a handle wakes the tasks blocked on it",
                "[memory_stream]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& rx = streams.receive;
  auto rx_other = rx.clone();
  bool closed_error = false;
  int other_got = -1;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      closed_error = co_await raises<anyio::closed_resource_error>([&] { return rx.receive(); });
    });
    tg.start_soon([&]() -> anyio::task<> { other_got = co_await rx_other.receive(); });
    co_await settle();
    REQUIRE(rx.statistics().tasks_waiting_receive == 2);
    rx.close();  // trio: only the tasks waiting on this handle are woken
    REQUIRE(rx_other.statistics().tasks_waiting_receive == 1);
    co_await streams.send.send(3);
  });
  REQUIRE(closed_error);
  REQUIRE(other_got == 3);
}

ANYIO_TEST_CASE("memory stream: closing the last receiver drops buffered values",
                "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<std::string>(3);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  co_await tx.send("a");
  co_await tx.send("b");
  REQUIRE(tx.statistics().current_buffer_used == 2);
  rx.close();
  REQUIRE(tx.statistics().open_receive_streams == 0);
  auto got140 = co_await raises<anyio::broken_resource_error>([&] { return tx.send("c"); });
  REQUIRE(got140);
}

ANYIO_TEST_CASE("memory stream: handles close themselves when destroyed", "[memory_stream]") {
  auto streams = anyio::create_memory_object_stream<int>(0);
  auto& rx = streams.receive;
  std::vector<int> got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto producer = [](anyio::memory_object_send_stream<int> tx) -> anyio::task<> {
      for (int i = 0; i < 3; ++i) co_await tx.send(i);
    };  // `tx` is destroyed, hence closed, when the producer returns
    tg.start_soon(producer, std::move(streams.send));
    while (auto v = co_await rx.next()) got.push_back(*v);
  });
  REQUIRE(got == std::vector<int>{0, 1, 2});
  REQUIRE(rx.statistics().open_send_streams == 0);
}

ANYIO_TEST_CASE("memory stream: aclose closes, then is a checkpoint", "[memory_stream]") {
  auto tx_rx = anyio::create_memory_object_stream<int>(1);
  auto& tx = tx_rx.send;
  auto& rx = tx_rx.receive;
  co_await tx.aclose();
  REQUIRE(rx.statistics().open_send_streams == 0);
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> { co_await rx.aclose(); });
  REQUIRE(scope.cancelled_caught());  // aclose raised cancelled...
  REQUIRE(tx.statistics().open_receive_streams == 0);  // ...after closing
}

ANYIO_TEST_CASE("memory stream: an empty handle is a usage_error", "[memory_stream]") {
  anyio::memory_object_send_stream<int> empty_tx;
  anyio::memory_object_receive_stream<int> empty_rx;
  empty_tx.close();  // closing an empty handle is fine
  auto msg = sync_test::sync_message_of<anyio::usage_error>([&] { (void)empty_tx.send(1); });
  REQUIRE(msg);
  CHECK_THAT(*msg, Catch::Contains("moved-from"));
  REQUIRE_THROWS_AS((void)empty_rx.receive(), anyio::usage_error);
  REQUIRE_THROWS_AS(empty_rx.statistics(), anyio::usage_error);
  auto [tx, rx] = anyio::create_memory_object_stream<int>(1);
  auto moved = std::move(tx);
  REQUIRE_THROWS_AS((void)tx.try_send(1), anyio::usage_error);
  REQUIRE(moved.try_send(1));
  REQUIRE(rx.statistics().open_send_streams == 1);
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("memory stream: move-assigning a handle closes the old one", "[memory_stream]") {
  auto [tx, rx] = anyio::create_memory_object_stream<int>(1);
  auto [tx2, rx2] = anyio::create_memory_object_stream<int>(1);
  tx = std::move(tx2);  // the first stream's only sender is closed
  REQUIRE(rx.statistics().open_send_streams == 0);
  REQUIRE_THROWS_AS((void)rx.try_receive(), anyio::end_of_stream);
  co_await tx.send(4);
  auto got195 = co_await rx2.receive();
  REQUIRE(got195 == 4);
}

ANYIO_TEST_CASE("memory stream: the stream outlives the handles' scope only through clones",
                "[memory_stream]") {
  anyio::memory_object_receive_stream<int> keep;
  {
    auto [tx, rx] = anyio::create_memory_object_stream<int>(2);
    co_await tx.send(1);
    keep = rx.clone();
  }  // tx and rx closed and destroyed; the state lives on through `keep`
  auto got206 = co_await keep.receive();
  REQUIRE(got206 == 1);
  auto got207 = co_await raises<anyio::end_of_stream>([&] { return keep.receive(); });
  REQUIRE(got207);
}
