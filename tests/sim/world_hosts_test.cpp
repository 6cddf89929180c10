// SPDX-License-Identifier: MIT
// sim::world: named hosts with addresses reach each other by name through
// getaddrinfo, each has its own loopback and ports, tasks belong to the
// host of their spawner, and a world run is deterministic and replays.
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "read_line.hpp"

#include "temp_files.hpp"

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using anyio_test::read_line;

// The same server code as on one host: a listener on every interface of
// port 7000, answering one line per connection with who it is and who
// called.
anyio::task<> serve(std::string* seen_peer) {
  anyio::tcp_listener_options options;
  options.local_port = 7000;
  auto listener = co_await anyio::create_tcp_listener(options);
  for (;;) {
    auto s = co_await listener->accept();
    auto peer = s->extra(anyio::socket_attribute::remote_address);
    *seen_peer = peer.host;
    std::string line = co_await read_line(*s);
    std::string reply = anyio::sim::world::current_host() + " got " + line;
    co_await s->send(reply);
    co_await s->aclose();
  }
}

anyio::task<std::string> ask(std::string host, std::string what) {
  anyio::tcp_connect_options options;
  auto c = co_await anyio::connect_tcp(host, 7000, options);
  co_await c->send(what + "\n");
  std::string got;
  char buf[64];
  try {
    for (;;) {
      const std::size_t n = co_await c->receive(std::span<char>(buf));
      got.append(buf, n);
    }
  } catch (const anyio::end_of_stream&) {
  }
  co_return got;
}

struct outcome {
  std::string db_peer, cache_peer, from_db, from_app, app_host_in_child;
};

anyio::task<> two_hosts_body(outcome* out) {
  anyio::sim::world w;
  w.add_host("db", "10.0.0.1", [out]() { return serve(&out->db_peer); });
  w.add_host("cache", "10.0.0.3", [out]() { return serve(&out->cache_peer); });
  w.add_host("app", "10.0.0.2", [out]() -> anyio::task<> {
    co_await anyio::sleep(1ms);
    out->from_db = co_await ask("db", "hello");
    // Its own loopback: nothing listens on port 7000 of app.
    try {
      (void)co_await ask("127.0.0.1", "self");
      out->from_app = "connected";
    } catch (const anyio::connection_failed&) {
      out->from_app = "refused";
    }
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([out]() -> anyio::task<> {
        out->app_host_in_child = anyio::sim::world::current_host();
        co_return;
      });
      co_return;
    });
  });
  co_await w.run([out]() -> anyio::task<> {
    // The controller is localhost: it reaches hosts by name too.
    while (out->from_app.empty()) co_await anyio::sleep(1ms);
    std::string r = co_await ask("cache", "ping");
    if (r != "cache got ping") throw std::logic_error("controller got '" + r + "'");
  });
}

anyio::sim::run_result run_seed(const anyio::sim::body_fn& body, std::uint64_t seed,
                                const std::string& trace = {}) {
  anyio::sim::options opts;
  opts.seed = seed;
  opts.trace_path = trace;
  opts.test_name = "world";
  return anyio::sim::run_body(body, opts);
}

}  // namespace

TEST_CASE("world: hosts talk by name, each with its own loopback and ports", "[sim][world]") {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    outcome out;
    auto r = run_seed([&]() { return two_hosts_body(&out); }, seed);
    INFO("seed " << seed << ": " << r.outcome << " " << r.message);
    REQUIRE(r.passed());
    CHECK(out.from_db == "db got hello");
    CHECK(out.db_peer == "10.0.0.2");      // app's address, not a loopback
    CHECK(out.cache_peer == "192.0.2.1");  // the controller's address in a world
    CHECK(out.from_app == "refused");
    CHECK(out.app_host_in_child == "app");  // a child belongs to its spawner's host
  }
}

TEST_CASE("world: getaddrinfo resolves host names to their addresses", "[sim][world]") {
  std::string found, back;
  auto body = [&]() -> anyio::task<> {
    anyio::sim::world w;
    w.add_host("db1", "10.0.0.1", []() -> anyio::task<> { co_return; });
    co_await w.run([&]() -> anyio::task<> {
      auto entries = co_await anyio::getaddrinfo("db1", 80);
      found = entries.at(0).address.host;
      auto names = co_await anyio::getnameinfo(entries.at(0).address, false);
      back = names.first;
      bool unknown = false;
      try {
        (void)co_await anyio::getaddrinfo("db2", 80);
      } catch (const std::system_error&) {
        unknown = true;
      }
      if (!unknown) throw std::logic_error("db2 resolved");
    });
  };
  REQUIRE(run_seed(body, 1).passed());
  CHECK(found == "10.0.0.1");
  CHECK(back == "db1");
}

TEST_CASE("world: a world run is deterministic and replays from its trace", "[sim][world]") {
  const std::string a = anyio_test::temp_path("anyio-world-test", "a.jsonl");
  const std::string b = anyio_test::temp_path("anyio-world-test", "b.jsonl");
  outcome out;
  auto body = [&]() {
    out = outcome{};
    return two_hosts_body(&out);
  };
  REQUIRE(run_seed(body, 7, a).passed());
  REQUIRE(run_seed(body, 7, b).passed());
  CHECK(anyio_test::slurp(a) == anyio_test::slurp(b));
  anyio::sim::replay(body, a);  // throws replay_divergence if it differs
}

TEST_CASE("world: bad hosts and calls outside a run are clear errors", "[sim][world]") {
  anyio::sim::world w;
  CHECK_THROWS_AS(w.add_host("x", "127.0.0.5", []() -> anyio::task<> { co_return; }),
                  anyio::usage_error);
  CHECK_THROWS_AS(w.add_host("localhost", "10.0.0.9", []() -> anyio::task<> { co_return; }),
                  anyio::usage_error);
  w.add_host("a", "10.0.0.1", []() -> anyio::task<> { co_return; });
  CHECK_THROWS_AS(w.add_host("a", "10.0.0.2", []() -> anyio::task<> { co_return; }),
                  anyio::usage_error);
  auto r = run_seed([&]() -> anyio::task<> {
    w.crash("nobody");
    co_return;
  }, 1);
  CHECK(r.outcome == "failed");
  CHECK(r.message.find("call it from a task of this world's run()") != std::string::npos);
}
