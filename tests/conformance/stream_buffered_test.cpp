// SPDX-License-Identifier: MIT
// Conformance: buffered_byte_receive_stream over an in-memory byte stream,
// on realio and on many sim seeds. receive_exactly and receive_until gather
// bytes over several receives (a delimiter split between two receives is
// found), fail with incomplete_read at EOF and delimiter_not_found past
// max_bytes, and a cancellation never loses what was buffered.
#include "tests/conformance/stream_test_support.hpp"

#include <string>

using namespace std::chrono_literals;
using sync_test::message_of;
using sync_test::raises;
using sync_test::settle;

namespace {

/// A buffered stream over one end of a pair; the other end is returned too.
struct buffered_pair {
  std::unique_ptr<anyio::byte_stream> peer;
  anyio::buffered_byte_receive_stream stream;
};

buffered_pair make_buffered(std::size_t max_buffer = 65536) {
  auto ab_ = anyio::create_memory_byte_stream_pair(max_buffer);
  auto& a = ab_.first;
  auto& b = ab_.second;
  return {std::move(a), anyio::buffered_byte_receive_stream(std::move(b))};
}

}  // namespace

ANYIO_TEST_CASE("buffered stream: receive_exactly gathers several receives and keeps the rest",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await s.receive_exactly(8); });
    co_await peer->send("abc");
    co_await settle();  // the reader took "abc" and waits for more
    REQUIRE(got.empty());
    co_await peer->send("defghijk");
  });
  REQUIRE(got == "abcdefgh");
  REQUIRE(s.buffer() == "ijk");
  std::string rest = co_await s.receive(100);  // buffered bytes first
  REQUIRE(rest == "ijk");
  REQUIRE(s.buffer().empty());
  std::string none = co_await s.receive_exactly(0);
  REQUIRE(none.empty());
}

ANYIO_TEST_CASE("buffered stream: receive_exactly at EOF is incomplete_read",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("short");
  co_await peer->send_eof();
  auto msg = co_await message_of<anyio::incomplete_read>([&] { return s.receive_exactly(10); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("after 5 bytes") != std::string::npos);
  REQUIRE(s.buffer() == "short");  // nothing thrown away
  std::string got = co_await s.receive_exactly(5);
  REQUIRE(got == "short");
  bool eof = co_await raises<anyio::end_of_stream>([&] { return s.receive(); });
  REQUIRE(eof);
}

ANYIO_TEST_CASE("buffered stream: receive_until splits records", "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("one\ntwo\n\nthree");
  std::string r1 = co_await s.receive_until("\n", 100);
  std::string r2 = co_await s.receive_until("\n", 100);
  std::string r3 = co_await s.receive_until("\n", 100);
  REQUIRE(r1 == "one");
  REQUIRE(r2 == "two");
  REQUIRE(r3.empty());
  REQUIRE(s.buffer() == "three");
}

ANYIO_TEST_CASE("buffered stream: a delimiter split across receives is found",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await s.receive_until("\r\n\r\n", 100); });
    co_await peer->send("GET / HTTP/1.1\r\n");
    co_await settle();  // read: two of the delimiter's four bytes
    REQUIRE(got.empty());
    co_await peer->send("\r");
    co_await settle();  // three of its four bytes
    REQUIRE(got.empty());
    co_await peer->send("\nbody");
  });
  REQUIRE(got == "GET / HTTP/1.1");
  REQUIRE(s.buffer() == "body");
}

ANYIO_TEST_CASE("buffered stream: receive_until past max_bytes is delimiter_not_found",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("12345|rest");
  // A record of exactly max_bytes is fine.
  std::string fits = co_await s.receive_until("|", 5);
  REQUIRE(fits == "12345");
  co_await peer->send("toolongrecord|");
  auto msg = co_await message_of<anyio::delimiter_not_found>(
      [&] { return s.receive_until("|", 6); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("first 6 bytes") != std::string::npos);
  REQUIRE(s.buffer() == "resttoolongrecord|");  // still there for the caller
}

ANYIO_TEST_CASE("buffered stream: delimiter_not_found while more keeps arriving",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  bool not_found = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      not_found = co_await raises<anyio::delimiter_not_found>(
          [&] { return s.receive_until("\n", 10); });
    });
    for (int i = 0; i < 4 && !not_found; ++i) {
      co_await peer->send("abcd");
      co_await settle();
    }
  });
  REQUIRE(not_found);
}

ANYIO_TEST_CASE("buffered stream: receive_until at EOF is incomplete_read",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("no newline");
  co_await peer->aclose();
  auto msg = co_await message_of<anyio::incomplete_read>(
      [&] { return s.receive_until("\n", 100); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("without the delimiter") != std::string::npos);
  REQUIRE(s.buffer() == "no newline");
}

ANYIO_TEST_CASE("buffered stream: a cancelled receive_exactly keeps what arrived",
                "[streams][buffered][cancel]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  anyio::cancel_scope scope;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await scope.run([&]() -> anyio::task<> { (void)co_await s.receive_exactly(10); });
    });
    co_await peer->send("1234");
    co_await settle();
    scope.cancel();
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(s.buffer() == "1234");
  co_await peer->send("567890");
  std::string got = co_await s.receive_exactly(10);
  REQUIRE(got == "1234567890");
}

ANYIO_TEST_CASE("buffered stream: a cancelled receive_until keeps what arrived",
                "[streams][buffered][cancel]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  bool timed_out = false;
  co_await peer->send("partial re");
  try {
    co_await anyio::fail_after(10ms).run(
        [&]() -> anyio::task<std::string> { co_return co_await s.receive_until("\n", 100); });
  } catch (const anyio::timeout_error&) {
    timed_out = true;
  }
  REQUIRE(timed_out);
  co_await peer->send("cord\n");
  std::string got = co_await s.receive_until("\n", 100);
  REQUIRE(got == "partial record");
}

ANYIO_TEST_CASE("buffered stream: answering from the buffer is still a checkpoint",
                "[streams][buffered][cancel]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("abcdef");
  std::string first = co_await s.receive_exactly(1);
  REQUIRE(first == "a");
  anyio::cancel_scope scope;
  scope.cancel();
  co_await scope.run([&]() -> anyio::task<> {
    (void)co_await s.receive(10);
    (void)co_await s.receive_exactly(2);
    (void)co_await s.receive_until("e", 10);
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE(s.buffer() == "bcdef");  // the cancelled call consumed nothing
  std::string rec = co_await s.receive_until("e", 10);
  REQUIRE(rec == "bcd");
}

ANYIO_TEST_CASE("buffered stream: aclose drops the buffer and closes the wrapped stream",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("abc");
  std::string one = co_await s.receive_exactly(1);
  REQUIRE(one == "a");
  co_await s.aclose();
  REQUIRE(s.buffer().empty());
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return s.receive(); });
  REQUIRE(closed);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return peer->send("x"); });
  REQUIRE(broken);
}

ANYIO_TEST_CASE("buffered stream: bad arguments are usage errors", "[streams][buffered]") {
  auto null_inner = sync_test::sync_message_of<anyio::usage_error>(
      [] { anyio::buffered_byte_receive_stream s(nullptr); });
  REQUIRE(null_inner.has_value());
  REQUIRE(null_inner->find("null") != std::string::npos);
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("x");
  auto empty = co_await message_of<anyio::usage_error>([&] { return s.receive_until("", 10); });
  REQUIRE(empty.has_value());
  REQUIRE(empty->find("delimiter is empty") != std::string::npos);
  std::string got = co_await s.receive_exactly(1);
  REQUIRE(got == "x");
}

ANYIO_TEST_CASE("buffered stream: two receivers at once is busy_resource_error",
                "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("abc");
  std::string got;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await s.receive_exactly(5); });
    co_await settle();  // "abc" buffered, waiting for two more
    auto on_exactly = co_await message_of<anyio::busy_resource_error>(
        [&] { return s.receive_exactly(1); });
    REQUIRE(on_exactly.has_value());
    REQUIRE(on_exactly->find("receive_exactly") != std::string::npos);
    bool on_until = co_await raises<anyio::busy_resource_error>(
        [&] { return s.receive_until("c", 10); });
    REQUIRE(on_until);
    bool on_receive = co_await raises<anyio::busy_resource_error>([&] { return s.receive(); });
    REQUIRE(on_receive);
    REQUIRE(s.buffer() == "abc");  // the refused calls took nothing
    co_await peer->send("de");
  });
  REQUIRE(got == "abcde");
}

ANYIO_TEST_CASE("buffered stream: aclose while a receive waits", "[streams][buffered]") {
  auto peers_ = make_buffered();
  auto& peer = peers_.peer;
  auto& s = peers_.stream;
  co_await peer->send("ab");
  bool closed = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      closed = co_await raises<anyio::closed_resource_error>([&] { return s.receive_exactly(4); });
    });
    co_await settle();
    co_await s.aclose();
  });
  REQUIRE(closed);
  REQUIRE(s.buffer().empty());
}
