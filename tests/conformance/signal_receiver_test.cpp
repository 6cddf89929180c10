// SPDX-License-Identifier: MIT
// Conformance: open_signal_receiver on both backends. On realio the test
// process sends itself real signals (raise); on sim, sim::send_signal. A
// receiver gets the signals it watches in order, a cancelled receive takes
// nothing, closing restores the previous handler (realio: the process's own
// sigaction comes back), and bad arguments are usage errors.
#include "tests/conformance/sync_test_support.hpp"

#include <anyio/signals.hpp>

#include <atomic>
#include <csignal>
#include <string>

using namespace std::chrono_literals;

namespace {

/// Send `signal` to this process the way the backend supports.
void send_self(int signal) {
  if (anyio::sim::running())
    anyio::sim::send_signal(signal);
  else
    ::raise(signal);
}

std::atomic<int> handler_calls{0};
extern "C" void count_signal(int) { ++handler_calls; }

}  // namespace

ANYIO_TEST_CASE("signals: a receiver gets the signals it watches", "[signal]") {
  auto rx = anyio::open_signal_receiver({SIGUSR1, SIGUSR2});
  REQUIRE(rx.signals() == std::vector<int>{SIGUSR1, SIGUSR2});
  send_self(SIGUSR1);
  const int first = co_await rx.receive();
  REQUIRE(first == SIGUSR1);
  send_self(SIGUSR2);
  const std::optional<int> second = co_await rx.next();
  REQUIRE(second == SIGUSR2);
}

ANYIO_TEST_CASE("signals: a task waiting for a signal wakes when it arrives", "[signal]") {
  auto rx = anyio::open_signal_receiver({SIGHUP});
  int got = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { got = co_await rx.receive(); });
    co_await anyio::testing::wait_all_tasks_blocked();
    REQUIRE(got == 0);
    send_self(SIGHUP);
  });
  REQUIRE(got == SIGHUP);
}

ANYIO_TEST_CASE("signals: a cancelled receive takes nothing", "[signal][cancel]") {
  auto rx = anyio::open_signal_receiver({SIGUSR1});
  auto scope = anyio::move_on_after(1ms);
  co_await scope.run([&]() -> anyio::task<> { (void)co_await rx.receive(); });
  REQUIRE(scope.cancelled_caught());
  send_self(SIGUSR1);
  const int n = co_await rx.receive();
  REQUIRE(n == SIGUSR1);
}

ANYIO_TEST_CASE("signals: after close, receive is closed_resource_error and next ends",
                "[signal]") {
  auto rx = anyio::open_signal_receiver({SIGUSR1});
  rx.close();
  REQUIRE(rx.closed());
  const bool raised =
      co_await sync_test::raises<anyio::closed_resource_error>([&] { return rx.receive(); });
  REQUIRE(raised);
  const std::optional<int> none = co_await rx.next();
  REQUIRE_FALSE(none.has_value());
}

ANYIO_TEST_CASE("signals: closing the receiver restores the previous handler", "[signal]") {
  struct sigaction mine {};
  struct sigaction before {};
  mine.sa_handler = count_signal;
  sigemptyset(&mine.sa_mask);
  ::sigaction(SIGUSR2, &mine, &before);
  handler_calls = 0;
  {
    auto rx = anyio::open_signal_receiver({SIGUSR2});
    send_self(SIGUSR2);
    const int n = co_await rx.receive();
    REQUIRE(n == SIGUSR2);
    REQUIRE(handler_calls.load() == 0);  // the receiver had it, not our handler
  }
  struct sigaction now {};
  ::sigaction(SIGUSR2, nullptr, &now);
  REQUIRE(now.sa_handler == count_signal);
  if (!anyio::sim::running()) {
    ::raise(SIGUSR2);
    REQUIRE(handler_calls.load() == 1);
  }
  ::sigaction(SIGUSR2, &before, nullptr);
}

ANYIO_TEST_CASE("signals: bad signal lists are usage errors", "[signal]") {
  const auto message = [](std::vector<int> list) {
    try {
      auto rx = anyio::open_signal_receiver(std::move(list));
    } catch (const anyio::usage_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  REQUIRE(message({}).find("no signals given") != std::string::npos);
  REQUIRE(message({SIGKILL}).find("cannot be caught") != std::string::npos);
  REQUIRE(message({0}).find("is not a signal number") != std::string::npos);
  co_return;
}
