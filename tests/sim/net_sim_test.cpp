// SPDX-License-Identifier: MIT
// The simulated network as the simulator's own machinery sees it: a
// networked run is deterministic (two runs, and a replay of its trace file,
// give the same trace), piece sizes come from the seed, the trace shows
// sizes and endpoints but never payload, an accept no one can satisfy is a
// deadlock naming the wait, and a failing networked test shrinks to a run
// that fails the same way. Behaviour shared with realio is in
// tests/conformance/net_*_test.cpp.
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

[[maybe_unused]] std::string temp_path(const std::string& name) {
  return anyio_test::temp_path("anyio-net-sim-test", name);
}

// The sizes of the pieces the echo server received, in order.
std::vector<std::size_t> pieces;
constexpr std::string_view marker = "PAYLOAD-MARKER-";

// Options are built in named variables: g++ 12 miscompiles a braced or
// defaulted option struct passed by value to a coroutine (it copies the
// temporary bitwise, so its strings are freed twice).
anyio::task<std::unique_ptr<anyio::socket_listener>> listen_local() {
  anyio::tcp_listener_options options;
  options.local_host = "127.0.0.1";
  co_return co_await anyio::create_tcp_listener(options);
}

anyio::task<std::unique_ptr<anyio::byte_stream>> connect_local(std::uint16_t port) {
  anyio::tcp_connect_options options;
  std::string host = "127.0.0.1";
  co_return co_await anyio::connect_tcp(host, port, options);
}

std::string make_payload(std::size_t n) {
  std::string s;
  while (s.size() < n) s += std::string(marker) + std::to_string(s.size()) + ";";
  s.resize(n);
  return s;
}

// Echo: the server reads until EOF, recording piece sizes, then sends it all back.
anyio::task<> echo_body() {
  pieces.clear();
  auto listener = co_await listen_local();
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  const std::string payload = make_payload(20000);
  std::string echoed;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("server"), [&]() -> anyio::task<> {
      auto s = co_await listener->accept();
      std::string got;
      char buf[4096];
      for (bool eof = false; !eof;) {
        try {
          const std::size_t n = co_await s->receive(std::span<char>(buf));
          pieces.push_back(n);
          got.append(buf, n);
        } catch (const anyio::end_of_stream&) {
          eof = true;
        }
      }
      co_await s->send(got);
      co_await s->aclose();
    });
    auto c = co_await connect_local(port);
    co_await c->send(payload);
    co_await c->send_eof();
    char buf[8192];
    for (bool eof = false; !eof;) {
      try {
        const std::size_t n = co_await c->receive(std::span<char>(buf));
        echoed.append(buf, n);
      } catch (const anyio::end_of_stream&) {
        eof = true;
      }
    }
    co_await c->aclose();
  });
  if (echoed != payload)
    throw std::logic_error("echo: got " + std::to_string(echoed.size()) + " bytes back");
}

anyio::sim::run_result run_seed(const anyio::sim::body_fn& body, std::uint64_t seed,
                           const std::string& trace = {}) {
  anyio::sim::options opts;
  opts.seed = seed;
  opts.trace_path = trace;
  opts.test_name = "net";
  return anyio::sim::run_body(body, opts);
}

}  // namespace

TEST_CASE("net sim: an echo over TCP passes on many seeds", "[sim][net]") {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto r = run_seed(echo_body, seed);
    INFO("seed " << seed << ": " << r.outcome << " " << r.message);
    REQUIRE(r.passed());
    std::size_t total = 0;
    for (std::size_t n : pieces) total += n;
    CHECK(total == 20000);
    CHECK(r.virtual_time_ns > 0);  // deliveries take virtual time
  }
}

TEST_CASE("net sim: piece sizes vary by seed", "[sim][net]") {
  std::set<std::vector<std::size_t>> seen;
  bool split = false;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    REQUIRE(run_seed(echo_body, seed).passed());
    seen.insert(pieces);
    // 20000 bytes never fit one 4096-byte receive, but the splits differ.
    split = split || pieces.size() > 5;
  }
  CHECK(seen.size() > 1);
  CHECK(split);
  // The same seed splits the same way.
  REQUIRE(run_seed(echo_body, 3).passed());
  const auto first = pieces;
  REQUIRE(run_seed(echo_body, 3).passed());
  CHECK(pieces == first);
}

TEST_CASE("net sim: a networked run is deterministic and replays from its trace", "[sim][net]") {
  const std::string a = temp_path("determinism-a.jsonl");
  const std::string b = temp_path("determinism-b.jsonl");
  REQUIRE(run_seed(echo_body, 11, a).passed());
  REQUIRE(run_seed(echo_body, 11, b).passed());
  const std::string text = anyio_test::slurp(a);
  CHECK(text.find("\"ev\":\"net\"") != std::string::npos);
  CHECK(text == anyio_test::slurp(b));
  // The determinism check runs it twice and compares line by line.
  anyio::sim::options opts;
  opts.seed = 11;
  opts.test_name = "net";
  opts.check_determinism = true;
  CHECK(anyio::sim::run_body(echo_body, opts).passed());
  // A strict replay reproduces every line, deliveries and draws included.
  CHECK_NOTHROW(anyio::sim::replay(echo_body, a));
  // A program that sends one byte more diverges at a net or draw line.
  const auto changed = []() -> anyio::task<> {
    auto listener = co_await listen_local();
    const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
    auto c = co_await connect_local(port);
    co_await c->send("x");
  };
  CHECK_THROWS_AS(anyio::sim::replay(changed, a), anyio::sim::replay_divergence);
}

TEST_CASE("net sim: the trace shows sizes and endpoints, never payload", "[sim][net]") {
  const std::string path = temp_path("payload.jsonl");
  REQUIRE(run_seed(echo_body, 5, path).passed());
  CHECK(anyio_test::slurp(path).find(marker) == std::string::npos);
  const anyio::sim::trace t = anyio::sim::read_trace(path);
  std::uint64_t to_server = 0, to_client = 0;
  std::set<std::string> ops;
  std::string server;
  for (const auto& e : t.events) {
    if (e.kind != "net") continue;
    ops.insert(e.op);
    if (e.op == "syn") server = e.dst;
    if (e.op != "data") continue;
    CHECK(e.src.rfind("127.0.0.1:", 0) == 0);
    CHECK(e.dst.rfind("127.0.0.1:", 0) == 0);
    (e.dst == server ? to_server : to_client) += e.bytes;
  }
  CHECK(server.rfind("127.0.0.1:", 0) == 0);
  CHECK(to_server == 20000);
  CHECK(to_client == 20000);
  for (const char* op : {"syn", "synack", "data", "fin"}) CHECK(ops.count(op) == 1);
  // Piece sizes and latencies are recorded draws, so replay serves them.
  std::set<std::string> purposes;
  for (const auto& e : t.events)
    if (e.kind == "draw") purposes.insert(e.purpose);
  CHECK(purposes.count("net.piece") == 1);
  CHECK(purposes.count("net.latency") == 1);
  CHECK(purposes.count("net.rcvbuf") == 1);
}

TEST_CASE("net sim: an accept no client can satisfy is a deadlock naming the wait",
          "[sim][net]") {
  std::uint16_t port = 0;
  const auto body = [&]() -> anyio::task<> {
    auto listener = co_await listen_local();
    port = listener->extra(anyio::socket_attribute::local_port);
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("acceptor"), [&]() -> anyio::task<> {
        auto s = co_await listener->accept();
      });
      co_return;
    });
  };
  const std::string path = temp_path("deadlock.jsonl");
  auto r = run_seed(body, 1, path);
  REQUIRE(r.outcome == "deadlock");
  const std::string wait = "accept on tcp 127.0.0.1:" + std::to_string(port);
  INFO(r.message);
  CHECK(r.message.find("'acceptor' waits on " + wait) != std::string::npos);
  const anyio::sim::trace t = anyio::sim::read_trace(path);
  REQUIRE(t.outcome.blocked.size() >= 1);
  bool named = false;
  for (const auto& b : t.outcome.blocked) named = named || (b.name == "acceptor" && b.wait == wait);
  CHECK(named);
}

namespace {

// A protocol bug: the server assumes one receive gets the whole message.
anyio::task<> one_receive_body() {
  auto listener = co_await listen_local();
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("client"), [&]() -> anyio::task<> {
      auto c = co_await connect_local(port);
      co_await c->send("hello, world");
      co_await c->aclose();
    });
    auto s = co_await listener->accept();
    char buf[64];
    const std::size_t n = co_await s->receive(std::span<char>(buf));
    if (n != 12) throw std::logic_error("short message: " + std::to_string(n) + " of 12 bytes");
  });
}

}  // namespace

TEST_CASE("net sim: a failing networked test shrinks and still fails the same way",
          "[sim][net][shrink]") {
  std::string trace;
  for (std::uint64_t seed = 0; seed < 200 && trace.empty(); ++seed) {
    if (run_seed(one_receive_body, seed).passed()) continue;
    trace = temp_path("short-message-seed" + std::to_string(seed) + ".jsonl");
    REQUIRE(run_seed(one_receive_body, seed, trace).outcome == "failed");
  }
  REQUIRE_FALSE(trace.empty());
  const std::string out = temp_path("short-message-min.jsonl");
  auto r = anyio::sim::shrink(one_receive_body, trace, out, {.progress = false});
  CHECK(r.outcome == "failed");
  CHECK(r.message.find("short message") != std::string::npos);
  CHECK(r.after.steps <= r.before.steps);
  std::string replayed;
  try {
    anyio::sim::replay(one_receive_body, out);
  } catch (const std::exception& e) {
    replayed = e.what();
  }
  CHECK(replayed == r.message);
}

TEST_CASE("net sim: the reader checks net lines", "[sim][net][trace]") {
  const std::string header =
      R"({"format":"anyio-sim-trace","version":1,"test":"t","seed":0,"strategy":{"name":"random"},)"
      R"("options":{"max_steps":0,"max_virtual_time_ns":0}})";
  const std::string outcome = R"({"outcome":"passed","steps":0,"t":0})";
  const auto parse = [&](const std::string& line) {
    return anyio::sim::parse_trace(header + "\n" + line + "\n" + outcome + "\n", "net.jsonl");
  };
  const auto t = parse(R"({"i":0,"t":5,"ev":"net","op":"data","src":"127.0.0.1:1",)"
                       R"("dst":"[::1]:2","bytes":7})");
  REQUIRE(t.events.size() == 1);
  CHECK(t.events[0].op == "data");
  CHECK(t.events[0].src == "127.0.0.1:1");
  CHECK(t.events[0].dst == "[::1]:2");
  CHECK(t.events[0].bytes == 7);
  std::string field;
  try {
    (void)parse(R"({"i":0,"t":5,"ev":"net","op":"teleport","src":"a","dst":"b","bytes":1})");
  } catch (const anyio::sim::trace_error& e) {
    field = e.field();
  }
  CHECK(field == "op");
  field.clear();
  try {
    (void)parse(R"({"i":0,"t":5,"ev":"net","op":"data","src":"a","dst":"b"})");
  } catch (const anyio::sim::trace_error& e) {
    field = e.field();
  }
  CHECK(field == "bytes");
}
