// SPDX-License-Identifier: MIT
// Host crash, restart, pause and resume in a sim::world: a crash stops every
// task of the host at once without running its cleanup (not even a
// shielded scope), resets its connections at the peers and removes its
// listeners; restart runs its main again; a paused host's tasks do not run
// until it is resumed. Run under ASan too: crashed frames are destroyed at
// the end of the run, after the simulation.
#include <anyio/anyio.hpp>
#include <anyio/net.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "read_line.hpp"

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using anyio_test::read_line;

struct state {
  int starts = 0;
  int cleanups = 0;
  std::string client_saw;
  std::string after_restart;
  int ticks = 0;
};

anyio::task<> server_main(state* st) {
  ++st->starts;
  anyio::tcp_listener_options options;
  options.local_port = 7000;
  auto listener = co_await anyio::create_tcp_listener(options);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (;;) {
      auto s = co_await listener->accept();
      tg.start_soon([st](std::unique_ptr<anyio::socket_stream> s) -> anyio::task<> {
        bool ended = false;
        try {
          std::string line = co_await read_line(*s);
          co_await s->send(line + "\n");
          co_await anyio::sleep_forever();
        } catch (...) {
          ended = true;
        }
        if (ended) {
          // Cleanup that a power loss must never run.
          anyio::cancel_scope shield{{.shield = true}};
          co_await shield.run([&]() -> anyio::task<> {
            ++st->cleanups;
            co_await anyio::checkpoint();
          });
        }
      }, std::move(s));
    }
  });
}

anyio::task<std::unique_ptr<anyio::byte_stream>> connect_db() {
  anyio::tcp_connect_options options;
  co_return co_await anyio::connect_tcp("db", 7000, options);
}

anyio::task<> crash_body(state* st) {
  anyio::sim::world w;
  w.add_host("db", "10.0.0.1", [st]() { return server_main(st); });
  co_await w.run([st, &w]() -> anyio::task<> {
    co_await anyio::sleep(1ms);
    auto c = co_await connect_db();
    co_await c->send("one\n");
    if (co_await read_line(*c) != "one") throw std::logic_error("no echo");
    char buf[64];
    w.crash("db");
    try {
      (void)co_await c->receive(std::span<char>(buf));
      st->client_saw = "data";
    } catch (const anyio::end_of_stream&) {
      st->client_saw = "eof";
    } catch (const std::exception& e) {
      const std::string what = e.what();
      st->client_saw = what.find("reset by peer") != std::string::npos ? "reset" : what;
    }
    // The listener vanished with the host: a connection attempt finds no one.
    auto attempt = anyio::move_on_after(5s);
    bool refused = false;
    co_await attempt.run([&]() -> anyio::task<> {
      try {
        (void)co_await connect_db();
      } catch (const anyio::connection_failed&) {
        refused = true;
      }
    });
    if (refused) throw std::logic_error("a crashed host answered a connection attempt");
    w.restart("db");
    co_await anyio::sleep(1ms);
    auto again = co_await connect_db();
    co_await again->send("two\n");
    st->after_restart = co_await read_line(*again);
  });
}

}  // namespace

TEST_CASE("world: a crash stops the host without cleanup, restart runs main again",
          "[sim][world]") {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    state st;
    anyio::sim::options opts;
    opts.seed = seed;
    auto r = anyio::sim::run_body([&]() { return crash_body(&st); }, opts);
    INFO("seed " << seed << ": " << r.outcome << " " << r.message);
    REQUIRE(r.passed());
    CHECK(st.client_saw == "reset");
    CHECK(st.starts == 2);
    CHECK(st.after_restart == "two");
    // Only the second incarnation's handler is cancelled at the end (its
    // cleanup runs once); the crashed one's never ran.
    CHECK(st.cleanups == 1);
  }
}

TEST_CASE("world: a paused host does not run until resumed", "[sim][world]") {
  state st;
  int seen_paused = -1, seen_after = -1;
  auto body = [&]() -> anyio::task<> {
    anyio::sim::world w;
    w.add_host("ticker", "10.0.0.5", [&]() -> anyio::task<> {
      for (;;) {
        co_await anyio::sleep(10ms);
        ++st.ticks;
      }
    });
    co_await w.run([&]() -> anyio::task<> {
      co_await anyio::sleep(55ms);
      w.pause("ticker");
      const int at_pause = st.ticks;
      co_await anyio::sleep(100ms);
      seen_paused = st.ticks - at_pause;
      w.resume("ticker");
      co_await anyio::sleep(55ms);
      seen_after = st.ticks - at_pause;
    });
  };
  anyio::sim::options opts;
  opts.seed = 3;
  auto r = anyio::sim::run_body(body, opts);
  INFO(r.message);
  REQUIRE(r.passed());
  CHECK(seen_paused == 0);
  CHECK(seen_after >= 5);
}

TEST_CASE("world: a host cannot crash itself from its own task", "[sim][world]") {
  auto body = []() -> anyio::task<> {
    anyio::sim::world w;
    w.add_host("db", "10.0.0.1", [&w]() -> anyio::task<> {
      w.crash("db");
      co_return;
    });
    co_await w.run();
  };
  anyio::sim::options opts;
  auto r = anyio::sim::run_body(body, opts);
  CHECK(r.outcome == "failed");
  CHECK(r.message.find("cannot crash itself") != std::string::npos);
}
