// SPDX-License-Identifier: MIT
// Tutorial, "Receiving operating system signals": a service that reloads its
// configuration on SIGHUP and shuts down gracefully on SIGTERM. So that the
// example ends by itself it sends itself the signals: with raise() on
// realio (from a shell you would `kill -HUP <pid>`), with sim::send_signal on
// sim, where they arrive at a scheduling point of the seeded run.
//
// test-expect: received SIGHUP: reloaded configuration \(version 2\)
// test-expect: received SIGTERM: shutting down gracefully
// test-expect: service stopped cleanly after [0-9]+ requests with configuration version 2
#include "example_main.hpp"

#include <anyio/signals.hpp>

#include <csignal>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

struct service_state {
  int config_version = 1;
  int requests = 0;
};

void send_self(int signal) {
  if (anyio::sim::running())
    anyio::sim::send_signal(signal);
  else
    ::raise(signal);
}

anyio::task<> amain() {
  service_state s;
  // Open the receiver first: from here on SIGTERM no longer ends the process.
  auto signals = anyio::open_signal_receiver({SIGTERM, SIGHUP});
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {  // the service's work
      for (;;) {
        co_await anyio::sleep(1ms);
        ++s.requests;
      }
    });
    tg.start_soon([&]() -> anyio::task<> {  // an operator, for the example
      co_await anyio::sleep(10ms);
      send_self(SIGHUP);
      co_await anyio::sleep(10ms);
      send_self(SIGTERM);
    });
    while (auto signal = co_await signals.next()) {
      if (*signal == SIGHUP) {
        ++s.config_version;  // re-read the configuration here
        std::printf("received SIGHUP: reloaded configuration (version %d)\n", s.config_version);
      } else {
        std::printf("received SIGTERM: shutting down gracefully\n");
        tg.cancel_scope().cancel();
        break;
      }
    }
  });
  signals.close();  // the default actions are back
  std::printf("service stopped cleanly after %d requests with configuration version %d\n",
              s.requests, s.config_version);
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
