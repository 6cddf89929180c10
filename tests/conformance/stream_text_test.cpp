// SPDX-License-Identifier: MIT
// Conformance: text_stream (UTF-8 over a byte stream), on realio and on many
// sim seeds. The raw peer sends bytes in chosen pieces, so a multi-byte
// sequence split across receives is held back until complete; invalid
// UTF-8 (received or sent) is a std::system_error naming the byte offset.
#include "tests/conformance/stream_test_support.hpp"

#include <string>
#include <system_error>

using namespace std::chrono_literals;
using sync_test::raises;
using sync_test::settle;

namespace {

struct text_pair {
  std::unique_ptr<anyio::byte_stream> peer;  ///< the raw byte end
  anyio::text_stream text;
};

text_pair make_text() {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  return {std::move(a), anyio::text_stream(std::move(b))};
}

/// The system_error (code and message) that receiving throws, if any.
anyio::task<std::optional<std::system_error>> receive_error(anyio::text_stream& t) {
  try {
    (void)co_await t.receive();
  } catch (const std::system_error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

bool names_offset(const std::optional<std::system_error>& e, const std::string& offset) {
  return e.has_value() && e->code() == std::errc::illegal_byte_sequence &&
         std::string(e->what()).find("byte offset " + offset) != std::string::npos;
}

}  // namespace

ANYIO_TEST_CASE("text stream: text goes both ways", "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  co_await t.send("héllo €");
  std::string raw = co_await stream_test::receive_n(*peer, 10);
  REQUIRE(raw == "h\xC3\xA9llo \xE2\x82\xAC");
  co_await peer->send("\xF0\x9F\x98\x80 ok");
  std::string got = co_await t.receive();
  REQUIRE(got == "\xF0\x9F\x98\x80 ok");
}

ANYIO_TEST_CASE("text stream: a sequence split across receives is held back",
                "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  std::vector<std::string> pieces;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      for (int i = 0; i < 3; ++i) pieces.push_back(co_await t.receive());
    });
    co_await peer->send("h\xC3");  // 'h' and half of 'é'
    co_await settle();
    co_await peer->send("\xA9\xF0\x9F");  // the rest of 'é', half of U+1F600
    co_await settle();
    co_await peer->send("\x98");  // still incomplete: nothing to return
    co_await settle();
    REQUIRE(pieces.size() == 2);
    co_await peer->send("\x80!");
  });
  REQUIRE(pieces.size() == 3);
  REQUIRE(pieces[0] == "h");
  REQUIRE(pieces[1] == "\xC3\xA9");
  REQUIRE(pieces[2] == "\xF0\x9F\x98\x80!");
}

ANYIO_TEST_CASE("text stream: invalid UTF-8 is a system_error naming the offset",
                "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  co_await peer->send("hello");
  std::string first = co_await t.receive();
  REQUIRE(first == "hello");
  co_await peer->send("ab\xFF" "cd");
  std::string valid = co_await t.receive();  // the text before the bad byte
  REQUIRE(valid == "ab");
  auto e = co_await receive_error(t);
  REQUIRE(names_offset(e, "7"));
  auto again = co_await receive_error(t);  // the same error, not a skipped byte
  REQUIRE(names_offset(again, "7"));
}

ANYIO_TEST_CASE("text stream: overlong forms, surrogates and too-large code points are invalid",
                "[streams][text]") {
  const char* bad[] = {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                       "\xF8\x88\x80\x80", "\x80", "\xE2\x28\xA1"};
  for (const char* b : bad) {
    auto peert_ = make_text();
    auto& peer = peert_.peer;
    auto& t = peert_.text;
    co_await peer->send(b);
    auto e = co_await receive_error(t);
    REQUIRE(names_offset(e, "0"));
  }
}

ANYIO_TEST_CASE("text stream: the stream ending inside a sequence is an error then EOF",
                "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  co_await peer->send("ok\xE2\x82");
  std::string ok = co_await t.receive();
  REQUIRE(ok == "ok");
  co_await peer->send_eof();
  auto e = co_await receive_error(t);
  REQUIRE(names_offset(e, "2"));
  REQUIRE(std::string(e->what()).find("ended inside") != std::string::npos);
  bool eof = co_await raises<anyio::end_of_stream>([&] { return t.receive(); });
  REQUIRE(eof);
}

ANYIO_TEST_CASE("text stream: sending invalid UTF-8 is an error and sends nothing",
                "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  std::optional<std::system_error> e;
  try {
    co_await t.send("fine\xC3(");
  } catch (const std::system_error& err) {
    e = err;
  }
  REQUIRE(names_offset(e, "4"));
  try {
    e.reset();
    co_await t.send("trail\xE2\x82");
  } catch (const std::system_error& err) {
    e = err;
  }
  REQUIRE(names_offset(e, "5"));
  co_await t.send_eof();
  std::string all = co_await stream_test::drain(*peer);
  REQUIRE(all.empty());
}

ANYIO_TEST_CASE("text stream: a cancelled receive keeps a held-back sequence",
                "[streams][text][cancel]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  co_await peer->send("\xE2\x82");
  bool timed_out = false;
  try {
    co_await anyio::fail_after(10ms).run(
        [&]() -> anyio::task<std::string> { co_return co_await t.receive(); });
  } catch (const anyio::timeout_error&) {
    timed_out = true;
  }
  REQUIRE(timed_out);
  co_await peer->send("\xAC");
  std::string euro = co_await t.receive();
  REQUIRE(euro == "\xE2\x82\xAC");
}

ANYIO_TEST_CASE("text stream: send_eof and aclose reach the peer", "[streams][text]") {
  auto peert_ = make_text();
  auto& peer = peert_.peer;
  auto& t = peert_.text;
  co_await t.send("bye");
  co_await t.send_eof();
  std::string all = co_await stream_test::drain(*peer);
  REQUIRE(all == "bye");
  co_await peer->send("still open");
  std::string got = co_await t.receive();
  REQUIRE(got == "still open");
  co_await t.aclose();
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return t.receive(); });
  REQUIRE(closed);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return peer->send("x"); });
  REQUIRE(broken);
}

ANYIO_TEST_CASE("text stream: a null stream is a usage error", "[streams][text]") {
  auto msg = sync_test::sync_message_of<anyio::usage_error>(
      [] { anyio::text_stream t(nullptr); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("text_stream") != std::string::npos);
  co_await anyio::checkpoint();
}
