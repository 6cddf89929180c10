// SPDX-License-Identifier: MIT
// Conformance: run_process's wait after the child's output has ended. On
// realio a child whose stdout and stderr both reached end of stream is
// polled briefly (it is usually exiting) before wait parks on a pidfd that
// is opened only then; these cases cover a child that closes its output
// and lives on past that window, and signals sent before any pidfd exists.
// On sim the same bodies run against fake programs.
#include "tests/conformance/process_test_support.hpp"

#include <csignal>
#include <string>

using namespace std::chrono_literals;

namespace {

const bool fakes_registered = [] {
  process_test::register_fakes();
  // sim's stand-in for the `sh -c` script of the first case below.
  anyio::sim::programs().add(
      "anyio-test-linger", [](anyio::sim::program_context& io) -> anyio::task<int> {
        co_await io.out->send(std::string_view("before\n"));
        co_await io.out->aclose();
        co_await io.err->aclose();
        co_await anyio::sleep(200ms);
        co_return 5;
      });
  return true;
}();

std::vector<std::string> linger_argv() {
  if (anyio::sim::running()) return process_test::cmd("anyio-test-linger");
  return process_test::cmd("sh", "-c", "echo before; exec >/dev/null 2>&1; sleep 0.2; exit 5");
}

}  // namespace

ANYIO_TEST_CASE("process wait: a child that ends its output and lives on is still waited for",
                "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  anyio::process_options unchecked;
  unchecked.check = false;
  const auto r = co_await anyio::run_process(linger_argv(), unchecked);
  CHECK(r.out == "before\n");
  CHECK(r.err.empty());
  CHECK(r.returncode == 5);
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process wait: a signal before the first wait ends the child", "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  auto p = co_await anyio::open_process(process_test::cmd("sleep", "30"));
  p.send_signal(SIGTERM);
  const int code = co_await p.wait();
  CHECK(code == -SIGTERM);
  // Reaped: a second signal is ignored, the code stays.
  p.send_signal(SIGKILL);
  CHECK(p.returncode() == -SIGTERM);
  co_await p.aclose();
  CHECK(process_test::open_fds() == fds);  // the pidfd, if one was opened, went with the reap
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process wait: many short children in a row, none left behind", "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  for (int i = 0; i < 20; ++i) {
    const auto r = co_await anyio::run_process(process_test::cmd("echo", std::to_string(i)));
    CHECK(r.returncode == 0);
    CHECK(r.out == std::to_string(i) + "\n");
  }
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}
