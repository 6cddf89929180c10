// SPDX-License-Identifier: MIT
// Conformance (sim side of signals): sim::send_signal delivers at a
// scheduling point, to every receiver watching the signal, coalescing a
// signal already pending; a run waiting only for a signal nobody sends is a
// deadlock on sim; on realio sim::send_signal is a usage_error.
#include "tests/conformance/sync_test_support.hpp"

#include <anyio/signals.hpp>

#include <csignal>
#include <string>

using namespace std::chrono_literals;

ANYIO_SIM_TEST_CASE("signals (sim): every receiver watching a signal gets it, once",
                    "[signal][sim]") {
  auto a = anyio::open_signal_receiver({SIGTERM});
  auto b = anyio::open_signal_receiver({SIGTERM, SIGHUP});
  auto c = anyio::open_signal_receiver({SIGHUP});
  anyio::sim::send_signal(SIGTERM);
  anyio::sim::send_signal(SIGTERM);  // pending already: coalesced
  anyio::sim::send_signal(SIGHUP);
  co_await anyio::sleep(1ms);  // all three arrive while nobody receives
  const int a1 = co_await a.receive();
  const int b1 = co_await b.receive();
  const int b2 = co_await b.receive();
  const int c1 = co_await c.receive();
  REQUIRE(a1 == SIGTERM);
  REQUIRE(b1 == SIGTERM);
  REQUIRE(b2 == SIGHUP);
  REQUIRE(c1 == SIGHUP);
  // Nothing more is pending at `a`: a short wait times out.
  auto scope = anyio::move_on_after(1s);
  co_await scope.run([&]() -> anyio::task<> { (void)co_await a.receive(); });
  REQUIRE(scope.cancelled_caught());
}

ANYIO_SIM_TEST_CASE("signals (sim): a signal nobody watches is dropped", "[signal][sim]") {
  anyio::sim::send_signal(SIGTERM);
  co_await anyio::sleep(1ms);
  auto rx = anyio::open_signal_receiver({SIGTERM});
  auto scope = anyio::move_on_after(1s);
  co_await scope.run([&]() -> anyio::task<> { (void)co_await rx.receive(); });
  REQUIRE(scope.cancelled_caught());
}

ANYIO_TEST_CASE("signals: sim::send_signal only works on sim", "[signal]") {
  std::string message;
  try {
    anyio::sim::send_signal(SIGTERM);
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  if (anyio::sim::running()) {
    REQUIRE(message.empty());
    auto rx = anyio::open_signal_receiver({SIGTERM});  // the sent one was dropped
    co_await anyio::sleep(1ms);
  } else {
    REQUIRE(message.find("only on the sim backend") != std::string::npos);
  }
}
