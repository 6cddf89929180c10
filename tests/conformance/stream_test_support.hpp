// SPDX-License-Identifier: MIT
// Helpers shared by the stream_* conformance tests: reading a byte stream to
// its end or to a byte count, and a pass-through byte stream that answers one
// typed attribute of its own (to show that extra() sees through wrappers)
// and records whether it was closed.
#pragma once
#include "tests/conformance/sync_test_support.hpp"

#include <anyio/streams.hpp>

#include <memory>
#include <string>

namespace stream_test {

/// Everything until end_of_stream, in receives of at most `chunk` bytes.
inline anyio::task<std::string> drain(anyio::byte_receive_stream& s, std::size_t chunk = 65536) {
  std::string all;
  try {
    for (;;) all += co_await s.receive(chunk);
  } catch (const anyio::end_of_stream&) {
  }
  co_return all;
}

/// Exactly `n` bytes, in as many receives as it takes.
inline anyio::task<std::string> receive_n(anyio::byte_receive_stream& s, std::size_t n) {
  std::string all;
  while (all.size() < n) all += co_await s.receive(n - all.size());
  co_return all;
}

inline constexpr anyio::typed_attribute<std::string> tag_attribute{"stream_test.tag"};
inline constexpr anyio::typed_attribute<int> missing_attribute{"stream_test.missing"};

/// Forwards everything to a wrapped byte stream; answers tag_attribute
/// itself. `closed` reports that aclose() reached it.
class tagged_stream final : public anyio::byte_stream {
 public:
  tagged_stream(std::unique_ptr<anyio::byte_stream> inner, std::string tag,
                std::shared_ptr<bool> closed = std::make_shared<bool>(false))
      : inner_(std::move(inner)), tag_(std::move(tag)), closed_(std::move(closed)) {}

 protected:
  anyio::task<std::size_t> do_receive(std::span<std::byte> buffer) override {
    co_return co_await inner_->receive(buffer);
  }
  anyio::task<> do_send(std::span<const std::byte> data) override { co_await inner_->send(data); }
  anyio::task<> do_send_eof() override { co_await inner_->send_eof(); }
  anyio::task<> do_aclose() override {
    *closed_ = true;
    co_await inner_->aclose();
  }
  std::any find_attribute(const void* key) const override {
    if (anyio::is_attribute(key, tag_attribute)) return tag_;
    return inner_->lookup_attribute(key);
  }

 private:
  std::unique_ptr<anyio::byte_stream> inner_;
  std::string tag_;
  std::shared_ptr<bool> closed_;
};

/// A send-only stream (not a byte_stream) over a byte stream's sending side.
class send_only_stream final : public anyio::byte_send_stream {
 public:
  explicit send_only_stream(std::unique_ptr<anyio::byte_stream> inner, bool fail_close = false)
      : inner_(std::move(inner)), fail_close_(fail_close) {}
  bool closed = false;

 protected:
  anyio::task<> do_send(std::span<const std::byte> data) override { co_await inner_->send(data); }
  anyio::task<> do_aclose() override {
    closed = true;
    co_await inner_->aclose();
    if (fail_close_) throw anyio::broken_resource_error("send_only_stream: close failed");
  }

 private:
  std::unique_ptr<anyio::byte_stream> inner_;
  bool fail_close_;
};

}  // namespace stream_test
