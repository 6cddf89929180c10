// SPDX-License-Identifier: MIT
// Liveness mode (issue 12): after options::liveness_after every fault heals
// (heal hooks run, faults_enabled() turns false, buggify stops) and the run
// must then finish, or meet its progress condition, within liveness_bound —
// or it fails as a liveness_error naming every blocked task and what it
// waits on; that failure is recorded, replays, counts in a sweep and
// shrinks. A run without liveness mode writes the header it always did.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "sim/sim_backend.hpp"
#include "tests/sim/temp_files.hpp"

#include <chrono>
#include <string>

namespace sim = anyio::sim;
using namespace std::chrono_literals;

namespace {

std::string temp(const std::string& name) {
  return anyio_test::temp_path("anyio-liveness-test", name);
}

// A client retries every second until three requests got through; while
// faults are on, buggify drops every request.
int delivered = 0;
anyio::task<> retrying_client() {
  delivered = 0;
  while (delivered < 3) {
    if (!sim::buggify("drop request")) ++delivered;
    co_await anyio::sleep(1s);
  }
}

const sim::options always_faulty{.buggify_site_probability = 1.0,
                                 .buggify_fire_probability = 1.0};

// A client that sends once and waits for the reply forever: a dropped
// request is never retried, which only liveness mode can tell from "slow".
// A heartbeat keeps time moving, so it is no deadlock.
anyio::task<> waits_forever() {
  anyio::event reply;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("heartbeat"), []() -> anyio::task<> {
      for (;;) co_await anyio::sleep(5s);
    });
    tg.start_soon(anyio::task_name("client"), [&]() -> anyio::task<> {
      co_await anyio::sleep(1s);
      if (!sim::buggify("drop request")) reply.set();
      co_await reply.wait();
      tg.cancel_scope().cancel();
    });
    co_return;
  });
}

}  // namespace

TEST_CASE("liveness: faults stop at liveness_after and the program then progresses",
          "[sim][liveness]") {
  // Without liveness mode the faults never stop: the client never finishes.
  sim::options faulty = always_faulty;
  faulty.max_virtual_time = 1h;
  const sim::run_result stuck = sim::run_body(retrying_client, faulty);
  CHECK(stuck.exception_type == "anyio::liveness_error");
  CHECK(delivered == 0);
  // With it, the requests go through right after t=10s.
  sim::options live = always_faulty;
  live.liveness_after = 10s;
  live.liveness_bound = 30s;
  const sim::run_result r = sim::run_body(retrying_client, live);
  INFO(r.message);
  REQUIRE(r.passed());
  CHECK(delivered == 3);
  CHECK(r.virtual_time_ns >= std::chrono::nanoseconds(10s).count());
  CHECK(r.virtual_time_ns <= std::chrono::nanoseconds(14s).count());
}

TEST_CASE("liveness: heal hooks run once and faults_enabled turns false", "[sim][liveness]") {
  int healed = 0;
  bool enabled_before = false;
  bool enabled_after = true;
  std::uint64_t fault_after = 1;
  sim::options o;
  o.liveness_after = 5s;
  sim::run(
      [&]() -> anyio::task<> {
        auto* b = sim::detail::current_sim_backend();
        REQUIRE(b != nullptr);
        b->on_heal([&] { ++healed; });
        enabled_before = b->faults_enabled();
        co_await anyio::sleep(4s);
        CHECK(healed == 0);
        co_await anyio::sleep(2s);
        enabled_after = b->faults_enabled();
        fault_after = b->fault("partition", "a|b", 1.0, 10);
        co_await anyio::sleep(20s);
      },
      o);
  CHECK(enabled_before);
  CHECK_FALSE(enabled_after);
  CHECK(healed == 1);
  CHECK(fault_after == 0);
}

TEST_CASE("liveness: no progress after healing fails, naming every blocked task",
          "[sim][liveness]") {
  sim::options o = always_faulty;
  o.liveness_after = 10s;
  o.liveness_bound = 20s;
  o.test_name = "liveness: waits forever";
  o.trace_path = temp("waits-forever.jsonl");
  const sim::run_result r = sim::run_body(waits_forever, o);
  INFO(r.message);
  CHECK(r.outcome == "error");
  CHECK(r.exception_type == "anyio::liveness_error");
  CHECK(r.message.find("liveness: no progress within 20s after every fault healed at t=10s") ==
        0);
  CHECK(r.message.find("the run has not finished") != std::string::npos);
  CHECK(r.message.find("'client' waits on") != std::string::npos);
  CHECK(r.message.find("'heartbeat' waits on sleep") != std::string::npos);
  // The trace records the mode and the blocked tasks, and replays to the failure.
  const auto t = sim::read_trace(o.trace_path);
  CHECK(t.header.liveness_after_ns == std::chrono::nanoseconds(10s).count());
  CHECK(t.header.liveness_bound_ns == std::chrono::nanoseconds(20s).count());
  CHECK(t.outcome.blocked.size() >= 2);
  std::string replayed;
  try {
    sim::replay(waits_forever, o.trace_path);
  } catch (const anyio::liveness_error& e) {
    replayed = e.what();
  }
  CHECK(replayed == r.message);
  // sim::run throws it.
  sim::options plain = o;
  plain.trace_path.clear();
  CHECK_THROWS_AS(sim::run(waits_forever, plain), anyio::liveness_error);
  // A sweep counts it (a quarter of the sites, a quarter of the calls: some
  // seeds drop the request), and it shrinks to the one fault it needs.
  sim::sweep_options so;
  so.seeds = {0, 200};
  so.liveness_after = 10s;
  so.liveness_bound = 20s;
  so.test_name = "liveness-sweep";
  so.trace_dir = anyio_test::temp_path("anyio-liveness-test", "");
  so.max_traces = 1;
  so.progress = false;
  const sim::sweep_summary s = sim::sweep(waits_forever, so);
  REQUIRE_FALSE(s.failures.empty());
  CHECK(s.failures.size() < 200);
  CHECK(s.failures[0].exception_type == "anyio::liveness_error");
  const sim::shrink_result sr =
      sim::shrink(waits_forever, s.failures[0].trace_path, temp("waits-min.jsonl"),
                  {.progress = false});
  INFO(sr.summary());
  CHECK(sr.exception_type == "anyio::liveness_error");
  CHECK(sr.faults == std::vector<std::string>{"buggify:drop request"});
}

TEST_CASE("liveness: a progress condition replaces 'the run finishes'", "[sim][liveness]") {
  // Three requests get through soon after healing; the program then keeps
  // working for a long while, past the bound.
  auto body = []() -> anyio::task<> {
    co_await retrying_client();
    co_await anyio::sleep(10min);
  };
  sim::options o = always_faulty;
  o.liveness_after = 10s;
  o.liveness_bound = 30s;
  const sim::run_result unfinished = sim::run_body(body, o);
  CHECK(unfinished.exception_type == "anyio::liveness_error");
  o.liveness_progress = [] { return delivered >= 3; };
  const sim::run_result r = sim::run_body(body, o);
  INFO(r.message);
  CHECK(r.passed());
  // A condition that never holds fails even though the run would finish.
  o.liveness_progress = [] { return false; };
  const sim::run_result never = sim::run_body(body, o);
  CHECK(never.message.find("the progress condition is still false") != std::string::npos);
}

TEST_CASE("liveness: a run without it writes the header it always did", "[sim][liveness]") {
  const std::string path = temp("no-liveness.jsonl");
  REQUIRE(sim::run_body([]() -> anyio::task<> { co_await anyio::sleep(1s); },
                        {.trace_path = path})
              .passed());
  CHECK(sim::read_trace(path).header.text.find("liveness") == std::string::npos);
  CHECK_THROWS_AS(sim::run([]() -> anyio::task<> { co_return; },
                           sim::options{.liveness_after = -1s}),
                  anyio::usage_error);
}
