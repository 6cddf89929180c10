// SPDX-License-Identifier: MIT
// Conformance: stapled_byte_stream and typed attributes through wrappers, on
// realio and on many sim seeds. A stapled stream sends on one stream and
// receives on another; its send_eof half-closes a byte_stream and closes any
// other send stream (as anyio does); its aclose closes both. extra() on any
// wrapper finds an attribute that a wrapped stream answers, and a missing
// attribute is typed_attribute_lookup_error naming it.
#include "tests/conformance/stream_test_support.hpp"

#include <string>

using sync_test::message_of;
using sync_test::raises;
using stream_test::drain;
using stream_test::missing_attribute;
using stream_test::tag_attribute;
using stream_test::tagged_stream;

ANYIO_TEST_CASE("stapled stream: sends on one stream and receives on the other",
                "[streams][stapled]") {
  auto out = anyio::create_memory_byte_stream_pair();
  auto in = anyio::create_memory_byte_stream_pair();
  anyio::stapled_byte_stream s(std::move(out.first), std::move(in.first));
  co_await s.send("to out");
  std::string got = co_await out.second->receive();
  REQUIRE(got == "to out");
  co_await in.second->send("from in");
  std::string recv = co_await s.receive();
  REQUIRE(recv == "from in");
}

ANYIO_TEST_CASE("stapled stream: send_eof half-closes a byte_stream send side",
                "[streams][stapled]") {
  auto out = anyio::create_memory_byte_stream_pair();
  auto in = anyio::create_memory_byte_stream_pair();
  anyio::byte_stream* out_end = out.first.get();
  anyio::stapled_byte_stream s(std::move(out.first), std::move(in.first));
  co_await s.send("last");
  co_await s.send_eof();
  std::string all = co_await drain(*out.second);
  REQUIRE(all == "last");
  // Only half-closed: the send stream still receives.
  co_await out.second->send("back");
  std::string back = co_await out_end->receive();
  REQUIRE(back == "back");
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return s.send("x"); });
  REQUIRE(closed);
}

ANYIO_TEST_CASE("stapled stream: send_eof closes a send-only stream", "[streams][stapled]") {
  auto out = anyio::create_memory_byte_stream_pair();
  auto in = anyio::create_memory_byte_stream_pair();
  auto send_only = std::make_unique<stream_test::send_only_stream>(std::move(out.first));
  auto* send_end = send_only.get();
  anyio::stapled_byte_stream s(std::move(send_only), std::move(in.first));
  co_await s.send("data");
  co_await s.send_eof();
  REQUIRE(send_end->closed);
  std::string all = co_await drain(*out.second);
  REQUIRE(all == "data");
  // The receive side is untouched.
  co_await in.second->send("more");
  std::string more = co_await s.receive();
  REQUIRE(more == "more");
}

ANYIO_TEST_CASE("stapled stream: aclose closes both streams", "[streams][stapled]") {
  auto out = anyio::create_memory_byte_stream_pair();
  auto in = anyio::create_memory_byte_stream_pair();
  anyio::stapled_byte_stream s(std::move(out.first), std::move(in.first));
  co_await s.aclose();
  bool eof = co_await raises<anyio::end_of_stream>([&] { return out.second->receive(); });
  REQUIRE(eof);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return in.second->send("x"); });
  REQUIRE(broken);
  bool closed = co_await raises<anyio::closed_resource_error>([&] { return s.receive(); });
  REQUIRE(closed);
}

ANYIO_TEST_CASE("stapled stream: aclose closes the receive side even if the send side fails",
                "[streams][stapled]") {
  auto out = anyio::create_memory_byte_stream_pair();
  auto in = anyio::create_memory_byte_stream_pair();
  auto failing = std::make_unique<stream_test::send_only_stream>(std::move(out.first), true);
  anyio::stapled_byte_stream s(std::move(failing), std::move(in.first));
  auto msg = co_await message_of<anyio::broken_resource_error>([&] { return s.aclose(); });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("close failed") != std::string::npos);
  bool broken = co_await raises<anyio::broken_resource_error>([&] { return in.second->send("x"); });
  REQUIRE(broken);  // the receive stream was closed
}

ANYIO_TEST_CASE("stapled stream: a null stream is a usage error", "[streams][stapled]") {
  auto pair = anyio::create_memory_byte_stream_pair();
  auto msg = sync_test::sync_message_of<anyio::usage_error>([&] {
    anyio::stapled_byte_stream s(nullptr, std::move(pair.second));
  });
  REQUIRE(msg.has_value());
  REQUIRE(msg->find("send stream") != std::string::npos);
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("typed attributes: extra() sees through every wrapper", "[streams][attributes]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  auto cd_ = anyio::create_memory_byte_stream_pair();
  auto& c = cd_.first;
  auto& d = cd_.second;
  std::string via_buffered;
  std::string via_text;
  {
    anyio::buffered_byte_receive_stream buffered(
        std::make_unique<tagged_stream>(std::move(a), "buffered"));
    via_buffered = buffered.extra(tag_attribute);
    anyio::text_stream text(std::make_unique<tagged_stream>(std::move(b), "text"));
    via_text = text.extra(tag_attribute);
  }
  REQUIRE(via_buffered == "buffered");
  REQUIRE(via_text == "text");
  // Stapled: the receive stream's answer wins, the send stream's is next.
  auto tagged_send = std::make_unique<tagged_stream>(std::move(c), "send");
  auto plain_receive = std::make_unique<anyio::buffered_byte_receive_stream>(std::move(d));
  anyio::stapled_byte_stream send_tagged(std::move(tagged_send), std::move(plain_receive));
  REQUIRE(send_tagged.extra(tag_attribute) == "send");
  auto ef_ = anyio::create_memory_byte_stream_pair();
  auto& e = ef_.first;
  auto& f = ef_.second;
  auto gh_ = anyio::create_memory_byte_stream_pair();
  auto& g = gh_.first;
  auto& h = gh_.second;
  anyio::stapled_byte_stream both(
      std::make_unique<tagged_stream>(std::move(e), "send"),
      std::make_unique<anyio::buffered_byte_receive_stream>(
          std::make_unique<tagged_stream>(std::move(g), "receive")));
  REQUIRE(both.extra(tag_attribute) == "receive");
  // Three wrappers deep.
  anyio::text_stream deep(std::make_unique<anyio::stapled_byte_stream>(
      std::make_unique<tagged_stream>(std::move(f), "deep"),
      std::make_unique<anyio::buffered_byte_receive_stream>(std::move(h))));
  REQUIRE(deep.extra(tag_attribute) == "deep");
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("typed attributes: a missing attribute is an error naming it",
                "[streams][attributes]") {
  auto ab_ = anyio::create_memory_byte_stream_pair();
  auto& a = ab_.first;
  auto& b = ab_.second;
  auto plain = sync_test::sync_message_of<anyio::typed_attribute_lookup_error>(
      [&] { (void)a->extra(tag_attribute); });
  REQUIRE(plain.has_value());
  REQUIRE(plain->find("stream_test.tag") != std::string::npos);
  anyio::buffered_byte_receive_stream wrapped(std::make_unique<tagged_stream>(std::move(b), "x"));
  auto missing = sync_test::sync_message_of<anyio::typed_attribute_lookup_error>(
      [&] { (void)wrapped.extra(missing_attribute); });
  REQUIRE(missing.has_value());
  REQUIRE(missing->find("stream_test.missing") != std::string::npos);
  REQUIRE(wrapped.extra(missing_attribute, 42) == 42);
  REQUIRE(wrapped.extra(tag_attribute, std::string("fallback")) == "x");
  REQUIRE(a->extra(tag_attribute, std::string("fallback")) == "fallback");
  co_await anyio::checkpoint();
}
