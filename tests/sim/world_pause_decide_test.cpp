// SPDX-License-Identifier: MIT
// A paused host's tasks cannot run, so they are no choice of the scheduler:
// while a host is paused, no decide line of the trace lists its tasks
// among the ready ones (they are held at once, without a decision), and
// the run still replays.
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <set>
#include <string>

using namespace std::chrono_literals;

namespace {

// Two busy tasks on each of hosts p and q: they wake every 100 us.
anyio::task<> busy_host(std::string name) {
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int k = 0; k < 2; ++k)
      tg.start_soon(anyio::task_name(name + "-worker"), []() -> anyio::task<> {
        for (;;) co_await anyio::sleep(100us);
      });
    co_return;
  });
}

anyio::task<> pause_body() {
  anyio::sim::world w;
  w.add_host("p", "10.0.0.1", []() { return busy_host("p"); });
  w.add_host("q", "10.0.0.2", []() { return busy_host("q"); });
  co_await w.run([&]() -> anyio::task<> {
    co_await anyio::sleep(1ms);
    w.pause("p");
    co_await anyio::sleep(2ms);
    w.resume("p");
    co_await anyio::sleep(1ms);
  });
}

}  // namespace

TEST_CASE("world pause: a paused host's tasks are not in the scheduler's choices",
          "[sim][world]") {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const std::string path = anyio_test::temp_path("anyio-world-pause", "pause.jsonl");
    anyio::sim::options opts;
    opts.seed = seed;
    opts.trace_path = path;
    auto r = anyio::sim::run_body(pause_body, opts);
    INFO("seed " << seed << ": " << r.message);
    REQUIRE(r.passed());
    const auto t = anyio::sim::read_trace(path);
    std::set<std::uint64_t> on_p;
    bool paused = false;
    int decides_paused = 0, listing_p = 0, p_after = 0;
    for (const auto& e : t.events) {
      if (e.kind == "spawn" && e.name.rfind("p", 0) == 0) on_p.insert(e.task);
      if (e.kind == "net" && e.op == "fault" && e.dst == "p") paused = e.src == "pause";
      if (e.kind != "decide") continue;
      bool lists_p = false;
      for (auto id : e.ready) lists_p = lists_p || on_p.count(id) != 0;
      if (paused) {
        ++decides_paused;
        listing_p += lists_p ? 1 : 0;
      } else {
        p_after += lists_p ? 1 : 0;
      }
    }
    CHECK(on_p.size() == 3);  // p:main and its two workers
    CHECK(decides_paused > 0);   // q's tasks still contend while p is paused
    CHECK(listing_p == 0);
    CHECK(p_after > 0);  // unpaused, p's tasks are choices
    anyio::sim::replay(pause_body, path);  // throws replay_divergence if it differs
  }
}
