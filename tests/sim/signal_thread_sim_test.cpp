// SPDX-License-Identifier: MIT
// Threads and signals as the simulator's own machinery sees them: a run
// that sends itself signals and runs to_thread calls (with from_thread
// callbacks) is deterministic — two runs give the same trace, a strict
// replay reproduces it — and each signal is one traced `net` line with op
// `signal` that the trace reader accepts. Behaviour shared with realio is in
// tests/conformance/thread_*_test.cpp and signal_*_test.cpp.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <csignal>
#include <string>

using namespace std::chrono_literals;

namespace {

anyio::task<> body() {
  auto rx = anyio::open_signal_receiver({SIGTERM, SIGHUP});
  int total = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 1; i <= 3; ++i)
      tg.start_soon([&, i]() -> anyio::task<> {
        auto work = [&, i] {
          return anyio::from_thread::run([i]() -> anyio::task<int> {
            co_await anyio::sleep(1ms * i);
            co_return i;
          });
        };
        const anyio::to_thread::options opts{.sim_duration = 2ms};
        total += co_await anyio::to_thread::run_sync(work, opts);
      });
    anyio::sim::send_signal(SIGHUP);
    const int first = co_await rx.receive();
    anyio::sim::send_signal(SIGTERM);
    const int second = co_await rx.receive();
    if (first != SIGHUP || second != SIGTERM) throw std::logic_error("signals out of order");
  });
  if (total != 6) throw std::logic_error("to_thread results lost");
}

anyio::sim::run_result run_seed(std::uint64_t seed, const std::string& trace) {
  anyio::sim::options opts;
  opts.seed = seed;
  opts.trace_path = trace;
  opts.test_name = "signal_thread";
  return anyio::sim::run_body(body, opts);
}

}  // namespace

TEST_CASE("sim: threads and signals are deterministic and traced", "[sim][thread][signal]") {
  const std::string a = anyio_test::temp_path("anyio-signal-thread-sim", "a.jsonl");
  const std::string b = anyio_test::temp_path("anyio-signal-thread-sim", "b.jsonl");
  for (std::uint64_t seed : {1, 2, 3}) {
    const anyio::sim::run_result ra = run_seed(seed, a);
    INFO("seed " << seed << ": " << ra.outcome << " " << ra.message);
    REQUIRE(ra.passed());
    REQUIRE(run_seed(seed, b).passed());
    CHECK(anyio_test::slurp(a) == anyio_test::slurp(b));
    CHECK_NOTHROW(anyio::sim::replay(body, a));
  }
  const anyio::sim::trace t = anyio::sim::read_trace(a);
  int signals = 0;
  for (const auto& e : t.events) {
    if (e.kind != "net" || e.op != "signal") continue;
    ++signals;
    CHECK(e.src == "world");
    CHECK(e.dst == "process");
    CHECK((e.bytes == SIGHUP || e.bytes == SIGTERM));
  }
  CHECK(signals == 2);
}
