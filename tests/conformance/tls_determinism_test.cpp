// SPDX-License-Identifier: MIT
// Determinism of TLS on sim: the same seed gives the same trace and the very
// same bytes on the wire (keys, nonces and signatures come from the run's
// seeded generator, one recorded draw per connection), another seed gives
// other bytes, and sim's own determinism check (run twice, compare event by
// event) passes on a TLS run. Plain Catch2 cases: they drive sim::run_body.
#include "tests/conformance/tls_test_certs.hpp"

#include <anyio/sim.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

/// Passes bytes through and keeps a copy of everything sent.
class recording_stream final : public anyio::byte_stream {
 public:
  recording_stream(std::unique_ptr<anyio::byte_stream> inner, std::string* log)
      : inner_(std::move(inner)), log_(log) {}

 protected:
  anyio::task<std::size_t> do_receive(std::span<std::byte> b) override {
    co_return co_await inner_->receive(b);
  }
  anyio::task<> do_send(std::span<const std::byte> d) override {
    log_->append(reinterpret_cast<const char*>(d.data()), d.size());
    co_await inner_->send(d);
  }
  anyio::task<> do_send_eof() override { co_await inner_->send_eof(); }
  anyio::task<> do_aclose() override { co_await inner_->aclose(); }
  std::any find_attribute(const void* key) const override { return inner_->lookup_attribute(key); }

 private:
  std::unique_ptr<anyio::byte_stream> inner_;
  std::string* log_;
};

struct wire {
  std::string from_client;
  std::string from_server;
};

wire g_wire;

anyio::task<> handshake_and_talk() {
  g_wire = {};
  auto transports = anyio::create_memory_byte_stream_pair(2048);
  auto client_side =
      std::make_unique<recording_stream>(std::move(transports.first), &g_wire.from_client);
  auto server_side =
      std::make_unique<recording_stream>(std::move(transports.second), &g_wire.from_server);
  auto server_ctx = tls_test::server_context(tls_test::certs().server);
  auto client_ctx = tls_test::client_context();
  std::unique_ptr<anyio::tls_stream> server;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      server = co_await anyio::tls_stream::wrap(std::move(server_side), server_ctx);
      auto got = co_await server->receive();
      co_await server->send(got);
      co_await server->aclose();
    });
    anyio::tls_wrap_options options{.hostname = "localhost"};
    auto client = co_await anyio::tls_stream::wrap(std::move(client_side), client_ctx, options);
    co_await client->send("ping");
    auto echo = co_await client->receive();
    if (echo != "ping") throw std::runtime_error("echo came back as \"" + echo + "\"");
    co_await client->aclose();
  });
}

anyio::sim::run_result run_seed(std::uint64_t seed, const std::string& trace = {},
                                bool check = false) {
  anyio::sim::options o;
  o.seed = seed;
  o.trace_path = trace;
  o.test_name = "tls determinism";
  o.check_determinism = check;
  return anyio::sim::run_body(handshake_and_talk, o);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("tls determinism: same seed, same trace and same bytes on the wire", "[tls]") {
  const auto dir = std::filesystem::temp_directory_path() / "anyio-tls-determinism";
  std::filesystem::create_directories(dir);
  const std::string first_trace = (dir / "first.jsonl").string();
  const std::string second_trace = (dir / "second.jsonl").string();
  auto first = run_seed(7, first_trace);
  INFO(first.exception_type << ": " << first.message);
  REQUIRE(first.passed());
  const wire a = g_wire;
  auto second = run_seed(7, second_trace);
  REQUIRE(second.passed());
  const wire b = g_wire;
  REQUIRE(a.from_client.size() > 200);  // a ClientHello and more
  REQUIRE(a.from_server.size() > 500);  // the certificate and more
  REQUIRE(a.from_client == b.from_client);
  REQUIRE(a.from_server == b.from_server);
  const std::string t1 = slurp(first_trace);
  REQUIRE_FALSE(t1.empty());
  CHECK_THAT(t1, Catch::Contains("\"purpose\":\"tls\""));  // the one draw per connection
  REQUIRE(t1 == slurp(second_trace));
  // Another seed: other keys and randoms, so other bytes.
  REQUIRE(run_seed(8).passed());
  REQUIRE(g_wire.from_client != a.from_client);
  REQUIRE(g_wire.from_server != a.from_server);
  std::filesystem::remove_all(dir);
}

TEST_CASE("tls determinism: sim's determinism check passes on a TLS run", "[tls]") {
  for (std::uint64_t seed : {1, 2, 3}) {
    anyio::sim::run_result r;
    REQUIRE_NOTHROW(r = run_seed(seed, {}, true));
    INFO(r.exception_type << ": " << r.message);
    REQUIRE(r.passed());
  }
}
