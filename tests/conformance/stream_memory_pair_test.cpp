// SPDX-License-Identifier: MIT
// Conformance: the in-memory byte stream pair (trio's memory_stream_pair),
// on realio and on many sim seeds. Bytes flow both ways in pieces of any
// size; a send larger than the buffer completes as the reader drains; EOF
// and close reach the peer after the buffered bytes; use after close,
// concurrent use and cancellation follow the rules every byte stream keeps.
#include "tests/conformance/stream_test_support.hpp"

#include <string>

using namespace std::chrono_literals;
using sync_test::message_of;
using sync_test::raises;
using sync_test::settle;
using stream_test::drain;
using stream_test::receive_n;

namespace {

/// `n` bytes of a pattern that shows misordering or loss.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

}  // namespace

ANYIO_TEST_CASE("memory byte stream: bytes flow both ways", "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await a->send("hello");
  co_await b->send(std::string_view("world!"));
  std::string got_b = co_await b->receive();
  REQUIRE(got_b == "hello");
  char buf[4];
  std::size_t n = co_await a->receive(std::span<char>(buf));
  REQUIRE(n == 4);  // at most the caller's buffer
  REQUIRE(std::string(buf, n) == "worl");
  std::string rest = co_await a->receive(100);
  REQUIRE(rest == "d!");  // whatever is buffered, no more
}

ANYIO_TEST_CASE("memory byte stream: receive waits for at least one byte",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await b->receive(); });
    co_await settle();  // b waits: nothing is buffered
    REQUIRE(got.empty());
    co_await a->send("x");
  });
  REQUIRE(got == "x");
}

ANYIO_TEST_CASE("memory byte stream: a send larger than the buffer completes as the reader drains",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(100);
  auto& a = ab_.first;
  auto& b = ab_.second;
  const std::string data = pattern(10000);
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await a->send(data);
      co_await a->send_eof();
    });
    got = co_await drain(*b, 37);
  });
  REQUIRE(got.size() == data.size());
  REQUIRE(got == data);
}

ANYIO_TEST_CASE("memory byte stream: send waits while the peer's buffer is full",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(10);
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool sent = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await a->send(pattern(25));
      sent = true;
    });
    co_await settle();
    REQUIRE_FALSE(sent);
    std::string first = co_await b->receive();
    REQUIRE(first == pattern(10));  // the buffer held exactly max_buffer bytes
    co_await settle();
    REQUIRE_FALSE(sent);
    std::string second = co_await b->receive();
    REQUIRE(second.size() == 10);
    co_await settle();
    REQUIRE(sent);  // the last 5 bytes fit
    std::string third = co_await b->receive();
    REQUIRE(first + second + third == pattern(25));
  });
}

ANYIO_TEST_CASE("memory byte stream: send_eof is end_of_stream after the buffered bytes",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await a->send("last words");
  co_await a->send_eof();
  co_await a->send_eof();  // again: nothing more to do
  std::string got = co_await b->receive();
  REQUIRE(got == "last words");
  bool eof = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
  REQUIRE(eof);
  bool eof_again = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
  REQUIRE(eof_again);
  // The other direction still works.
  co_await b->send("reply");
  std::string reply = co_await a->receive();
  REQUIRE(reply == "reply");
  auto msg = co_await message_of<anyio::closed_resource_error>([&] { return a->send("more"); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("send_eof") != std::string::npos);
}

ANYIO_TEST_CASE("memory byte stream: send_eof wakes a waiting receiver",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool eof = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      eof = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
    });
    co_await settle();
    co_await a->send_eof();
  });
  REQUIRE(eof);
}

ANYIO_TEST_CASE("memory byte stream: aclose is EOF for the peer's receive and broken for its send",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await a->send("buffered");
  co_await b->send("lost");  // a never reads it
  co_await a->aclose();
  co_await a->aclose();  // idempotent
  std::string got = co_await b->receive();
  REQUIRE(got == "buffered");
  bool eof = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
  REQUIRE(eof);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return b->send("x"); });
  REQUIRE(broken);
  // b can still shut its side and close.
  co_await b->send_eof();
  co_await b->aclose();
}

ANYIO_TEST_CASE("memory byte stream: own use after aclose is closed_resource_error",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await b->send("unread");
  co_await a->aclose();
  auto on_receive = co_await message_of<anyio::closed_resource_error>([&] { return a->receive(); });
  REQUIRE(on_receive.has_value());
  REQUIRE(on_receive->find("closed") != std::string::npos);
  bool on_send = co_await raises<anyio::closed_resource_error>([&] { return a->send("x"); });
  REQUIRE(on_send);
  bool on_eof = co_await raises<anyio::closed_resource_error>([&] { return a->send_eof(); });
  REQUIRE(on_eof);
}

ANYIO_TEST_CASE("memory byte stream: closing wakes the stream's own parked tasks",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(4);
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool receive_closed = false;
  bool send_closed = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      receive_closed = co_await raises<anyio::closed_resource_error>([&] { return a->receive(); });
    });
    tg.start_soon([&]() -> anyio::task<> {
      send_closed =
          co_await raises<anyio::closed_resource_error>([&] { return a->send("123456"); });
    });
    co_await settle();  // both parked: nothing to read, the peer's buffer full
    co_await a->aclose();
  });
  REQUIRE(receive_closed);
  REQUIRE(send_closed);
  std::string got = co_await b->receive();
  REQUIRE(got == "1234");  // what fit before the close still arrives
  bool eof = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
  REQUIRE(eof);
}

ANYIO_TEST_CASE("memory byte stream: the peer closing wakes a blocked sender with broken",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(4);
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool broken = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      broken = co_await raises<anyio::broken_resource_error>([&] { return a->send("123456"); });
    });
    co_await settle();
    co_await b->aclose();
  });
  REQUIRE(broken);
}

ANYIO_TEST_CASE("memory byte stream: two receivers at once is busy_resource_error",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  std::string first;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { first = co_await b->receive(); });
    co_await settle();
    auto msg = co_await message_of<anyio::busy_resource_error>([&] { return b->receive(); });
    REQUIRE(msg.has_value());
    REQUIRE(msg->find("receiving") != std::string::npos);
    co_await a->send("one");
  });
  REQUIRE(first == "one");
  // The stream is free again once the first receive returned.
  co_await a->send("two");
  std::string second = co_await b->receive();
  REQUIRE(second == "two");
}

ANYIO_TEST_CASE("memory byte stream: two senders at once is busy_resource_error",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(2);
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await a->send("abcd"); });
    co_await settle();
    auto msg = co_await message_of<anyio::busy_resource_error>([&] { return a->send("x"); });
    REQUIRE(msg.has_value());
    REQUIRE(msg->find("sending") != std::string::npos);
    std::string got = co_await receive_n(*b, 4);
    REQUIRE(got == "abcd");
  });
}

ANYIO_TEST_CASE("memory byte stream: a cancelled receive consumes nothing",
                "[streams][memory_pair][cancel]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  anyio::cancel_scope parked;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await parked.run([&]() -> anyio::task<> { (void)co_await b->receive(); });
    });
    co_await settle();
    parked.cancel();
  });
  REQUIRE(parked.cancelled_caught());
  co_await a->send("kept");
  anyio::cancel_scope early;
  early.cancel();
  // Bytes are buffered, yet the receive is a cancel point first.
  co_await early.run([&]() -> anyio::task<> { (void)co_await b->receive(); });
  REQUIRE(early.cancelled_caught());
  std::string got = co_await b->receive();
  REQUIRE(got == "kept");
}

ANYIO_TEST_CASE("memory byte stream: fail_after around a blocked receive leaves it usable",
                "[streams][memory_pair][cancel]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool timed_out = false;
  try {
    co_await anyio::fail_after(10ms).run(
        [&]() -> anyio::task<std::string> { co_return co_await b->receive(); });
  } catch (const anyio::timeout_error&) {
    timed_out = true;
  }
  REQUIRE(timed_out);
  co_await a->send("after");
  std::string got = co_await b->receive();  // not busy: the cancelled receive left
  REQUIRE(got == "after");
}

ANYIO_TEST_CASE("memory byte stream: a cancelled send may deliver part and the stream stays usable",
                "[streams][memory_pair][cancel]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(4);
  auto& a = ab_.first;
  auto& b = ab_.second;
  anyio::cancel_scope scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> { co_await a->send("0123456789"); });
    });
    co_await settle();  // the first 4 bytes are in, the sender waits for room
    scope.cancel();
  });
  REQUIRE(scope.cancelled_caught());
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await drain(*b, 100); });
    co_await a->send("XY");  // not busy: the cancelled send left
    co_await a->send_eof();
  });
  REQUIRE(got == "0123XY");  // a prefix of the cancelled send, then the next one
}

ANYIO_TEST_CASE("memory byte stream: send and receive are schedule points",
                "[streams][memory_pair][cancel]") {
  auto ab_ = anyio::create_memory_byte_stream_pair(1 << 20);
  auto& a = ab_.first;
  auto& b = ab_.second;
  int other_steps = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (;;) {
        ++other_steps;
        co_await anyio::checkpoint();
      }
    });
    // Neither call ever blocks here, yet each lets the other task run.
    for (int i = 0; i < 1000 && other_steps == 0; ++i) co_await a->send("z");
    REQUIRE(other_steps > 0);
    co_await a->send(std::string(1000, 'z'));  // enough for every receive below
    int before = other_steps;
    for (int i = 0; i < 1000 && other_steps == before; ++i) (void)co_await b->receive(1);
    REQUIRE(other_steps > before);
    tg.cancel_scope().cancel();
  });
}

ANYIO_TEST_CASE("memory byte stream: bad arguments are usage errors naming the problem",
                "[streams][memory_pair]") {
  auto msg = sync_test::sync_message_of<anyio::usage_error>(
      [] { (void)anyio::create_memory_byte_stream_pair(0); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("max_buffer") != std::string::npos);
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await a->send("x");
  auto empty = co_await message_of<anyio::usage_error>(
      [&] { return b->receive(std::span<std::byte>()); });
  REQUIRE(empty.has_value());
  REQUIRE(empty->find("buffer is empty") != std::string::npos);
  std::string got = co_await b->receive();
  REQUIRE(got == "x");
}

ANYIO_TEST_CASE("memory byte stream: an empty send is a checkpoint that sends nothing",
                "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  co_await a->send("");
  co_await a->send("y");
  std::string got = co_await b->receive();
  REQUIRE(got == "y");
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> { co_await a->send(""); });
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("memory byte stream: destroying an end closes it", "[streams][memory_pair]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  bool eof = false;
  co_await a->send("sent before");
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      std::string got = co_await b->receive();
      REQUIRE(got == "sent before");
      eof = co_await raises<anyio::end_of_stream>([&] { return b->receive(); });
    });
    co_await settle();  // b read the bytes and waits for more
    a.reset();
  });
  REQUIRE(eof);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return b->send("x"); });
  REQUIRE(broken);
}

namespace {

/// Tasks wait forever on streams that live in the frames a failed run tears
/// down (in any order): the teardown must neither crash nor touch freed state.
anyio::task<> stuck_on_streams() {
  auto ab_ = anyio::create_memory_byte_stream_pair(2);
  auto& a = ab_.first;
  auto& b = ab_.second;
  auto unread = anyio::create_memory_byte_stream_pair(2);
  anyio::buffered_byte_receive_stream buffered(std::move(b));
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("reader"), [&]() -> anyio::task<> {
      (void)co_await buffered.receive_until("\n", 100);
    });
    tg.start_soon(anyio::task_name("writer"), [&]() -> anyio::task<> {
      co_await a->send("no newline here");  // the reader drains it all
      co_await unread.first->send("nobody reads this");  // waits forever
    });
    co_return;
  });
}

std::optional<std::string> stuck_message(bool sim) {
  try {
    if (sim)
      anyio::sim::run(stuck_on_streams, {.seed = 3});
    else
      anyio::run(stuck_on_streams);
  } catch (const anyio::deadlock_error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("memory byte stream: a deadlock names the stream waits and tears down cleanly",
          "[streams][memory_pair]") {
  for (bool sim : {false, true}) {
    INFO((sim ? "sim" : "realio"));
    auto message = stuck_message(sim);
    REQUIRE(message.has_value());
    CHECK_THAT(*message, Catch::Contains("'writer' waits on anyio::memory byte stream send"));
    CHECK_THAT(*message, Catch::Contains("'reader' waits on anyio::memory byte stream receive"));
  }
}
