// SPDX-License-Identifier: MIT
// sim::world clocks: each host reads its own monotonic clock (the virtual
// time with the host's drift), its sleeps and deadlines are set in that
// clock and fire when it reads them, and only its wall clock jumps. The
// lease test is what the feature is for: a lease holder whose clock runs
// slow keeps acting after the lessor (whose clock runs fast) has given the
// lease away; without skew the same protocol is safe.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

anyio::sim::run_result run_seed(const anyio::sim::body_fn& body, std::uint64_t seed) {
  anyio::sim::options opts;
  opts.seed = seed;
  opts.test_name = "world_clock";
  return anyio::sim::run_body(body, opts);
}

std::int64_t ns(anyio::clock::time_point t) { return t.time_since_epoch().count(); }

struct sleep_seen {
  std::int64_t host_elapsed = 0;     // on the host's clock
  std::int64_t virtual_elapsed = 0;  // on the controller's (undrifted) clock
  std::int64_t deadline_error = -1;  // |scope.deadline() - what was set|
  std::int64_t timeout_at = 0;       // virtual time the fail_after fired
  bool timed_out = false;
};

// A host with `drift_ppm` sleeps 1 s on its clock, then runs fail_after(1s).
anyio::task<> drifting_sleep(double drift_ppm, sleep_seen* out) {
  anyio::sim::world w;
  anyio::event go, slept, failed;
  w.add_host("h", "10.0.0.1", [&]() -> anyio::task<> {
    co_await go.wait();
    const auto t0 = anyio::current_time();
    co_await anyio::sleep(1s);
    out->host_elapsed = ns(anyio::current_time()) - ns(t0);
    slept.set();
    try {
      co_await anyio::fail_after(1s).run([&]() -> anyio::task<> {
        co_await anyio::sleep_forever();
      });
    } catch (const anyio::timeout_error&) {
      out->timed_out = true;
    }
    anyio::cancel_scope s;
    const auto want = anyio::current_time() + 5s;
    s.set_deadline(want);
    co_await s.run([&]() -> anyio::task<> {
      const std::int64_t d = ns(s.deadline()) - ns(want);
      out->deadline_error = d < 0 ? -d : d;
      co_return;
    });
    failed.set();
  });
  co_await w.run([&]() -> anyio::task<> {
    w.set_clock("h", 0s, drift_ppm);
    const auto v0 = anyio::current_time();
    go.set();
    co_await slept.wait();
    out->virtual_elapsed = ns(anyio::current_time()) - ns(v0);
    const auto v1 = anyio::current_time();
    co_await failed.wait();
    out->timeout_at = ns(anyio::current_time()) - ns(v1);
  });
}

// The lease protocol: the holder notes its clock before asking, so that by
// its own clock its lease ends no later than the lessor's; it writes every
// 100 ms until then. The lessor grants the lease for 10 s on its clock,
// then grants it to someone else. Returns the holder's writes made after
// that (a safe protocol makes none).
anyio::task<> lease(double holder_ppm, double lessor_ppm, int* late_writes) {
  anyio::sim::world w;
  anyio::event asked, granted, go;
  bool given_away = false;
  constexpr auto term = 10s;
  w.add_host("lessor", "10.0.0.1", [&]() -> anyio::task<> {
    co_await asked.wait();
    const auto granted_at = anyio::current_time();
    granted.set();
    co_await anyio::sleep_until(granted_at + term);
    given_away = true;
  });
  w.add_host("holder", "10.0.0.2", [&]() -> anyio::task<> {
    co_await go.wait();
    const auto asked_at = anyio::current_time();
    asked.set();
    co_await granted.wait();
    (void)co_await anyio::move_on_at(asked_at + term).run([&]() -> anyio::task<> {
      for (;;) {
        if (given_away) ++*late_writes;
        co_await anyio::sleep(100ms);
      }
    });
  });
  co_await w.run([&]() -> anyio::task<> {
    w.set_clock("holder", 0s, holder_ppm);
    w.set_clock("lessor", 0s, lessor_ppm);
    go.set();
    co_await anyio::sleep(30s);
  });
}

}  // namespace

TEST_CASE("world clock: a drifting host's sleeps and deadlines are in its own time",
          "[sim][world]") {
  for (const double ppm : {1000.0, -1000.0}) {
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      sleep_seen out;
      auto r = run_seed([&]() { return drifting_sleep(ppm, &out); }, seed);
      INFO("drift " << ppm << " ppm, seed " << seed << ": " << r.outcome << " " << r.message);
      REQUIRE(r.passed());
      // By its clock the host slept its second (to a nanosecond of rounding).
      CHECK(out.host_elapsed >= 1'000'000'000);
      CHECK(out.host_elapsed <= 1'000'000'002);
      // In virtual time that took 1 s / (1 + drift).
      const double want = 1e9 / (1 + ppm / 1e6);
      CHECK(static_cast<double>(out.virtual_elapsed) > want - 3);
      CHECK(static_cast<double>(out.virtual_elapsed) < want + 3);
      CHECK(out.timed_out);
      CHECK(static_cast<double>(out.timeout_at) > want - 3);
      CHECK(static_cast<double>(out.timeout_at) < want + 3);
      CHECK(out.deadline_error >= 0);
      CHECK(out.deadline_error <= 1);
    }
  }
}

TEST_CASE("world clock: jumps move only the wall clock, current_time stays monotonic",
          "[sim][world]") {
  std::vector<std::int64_t> mono, wall;
  auto body = [&]() -> anyio::task<> {
    anyio::sim::world w;
    anyio::event go, jumped;
    w.add_host("h", "10.0.0.1", [&]() -> anyio::task<> {
      co_await go.wait();
      for (int i = 0; i < 3; ++i) {
        mono.push_back(ns(anyio::current_time()));
        wall.push_back(anyio::wall_clock_now().time_since_epoch().count());
        if (i == 0) co_await jumped.wait();
        co_await anyio::sleep(1s);
      }
    });
    co_await w.run([&]() -> anyio::task<> {
      w.set_clock("h", 1h, 500);
      go.set();
      co_await anyio::sleep(1ms);
      w.jump_clock("h", -2h);
      jumped.set();
      co_await anyio::sleep(10s);
    });
  };
  REQUIRE(run_seed(body, 3).passed());
  REQUIRE(mono.size() == 3);
  CHECK(mono[1] > mono[0]);
  CHECK(mono[2] - mono[1] >= 1'000'000'000);
  // The wall clock started an hour ahead of the virtual time, then went back two.
  CHECK(wall[0] - anyio::sim::wall_clock_start_ns - mono[0] == 3'600'000'000'000);
  CHECK(wall[1] < wall[0]);
  CHECK(wall[1] - mono[1] == wall[0] - mono[0] - 7'200'000'000'000);
}

TEST_CASE("world clock: a lease meets clock skew", "[sim][world]") {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    int late_even = 0, late_skewed = 0;
    auto even = run_seed([&]() { return lease(0, 0, &late_even); }, seed);
    auto skewed = run_seed([&]() { return lease(-50'000, 50'000, &late_skewed); }, seed);
    INFO("seed " << seed << ": " << even.message << " / " << skewed.message);
    REQUIRE(even.passed());
    REQUIRE(skewed.passed());
    CHECK(late_even == 0);
    // Holder ends at 10 s / 0.95, the lessor at 10 s / 1.05: about 1 s apart.
    CHECK(late_skewed >= 9);
    CHECK(late_skewed <= 11);
  }
}

TEST_CASE("world clock: a drift of 10% or more is a clear error", "[sim][world]") {
  auto r = run_seed([&]() -> anyio::task<> {
    anyio::sim::world w;
    w.add_host("h", "10.0.0.1", []() -> anyio::task<> { co_return; });
    co_await w.run([&]() -> anyio::task<> {
      w.set_clock("h", 0s, -1e6);
      co_return;
    });
  }, 1);
  CHECK(r.outcome == "failed");
  CHECK(r.message.find("drift_ppm must be in") != std::string::npos);
}
