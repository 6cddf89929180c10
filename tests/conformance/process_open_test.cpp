// SPDX-License-Identifier: MIT
// Conformance: open_process on realio and sim — a conversation over the
// pipes, end of stream when the child exits, terminate/kill/send_signal and
// returncode, a destroyed process object killing and reaping its child,
// pipes not inherited by a second child, and aclose.
#include "tests/conformance/process_test_support.hpp"

#include <csignal>
#include <string>

using namespace std::chrono_literals;
using process_test::cmd;

namespace {
const bool fakes_registered = (process_test::register_fakes(), true);

anyio::task<std::string> read_until_eof(anyio::byte_receive_stream& s) {
  std::string all;
  for (;;) {
    try {
      all += co_await s.receive();
    } catch (const anyio::end_of_stream&) {
      co_return all;
    }
  }
}

anyio::task<std::string> read_exactly(anyio::byte_receive_stream& s, std::size_t n) {
  std::string got;
  while (got.size() < n) got += co_await s.receive(n - got.size());
  co_return got;
}
}  // namespace

ANYIO_TEST_CASE("process open: a conversation with cat over its pipes", "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  {
    auto p = co_await anyio::open_process(cmd("cat"));
    REQUIRE(p.stdin_stream() != nullptr);
    REQUIRE(p.stdout_stream() != nullptr);
    REQUIRE(p.stderr_stream() != nullptr);
    CHECK(p.pid() > 0);
    CHECK_FALSE(p.returncode().has_value());
    for (int i = 0; i < 3; ++i) {
      const std::string line = "round " + std::to_string(i) + "\n";
      co_await p.stdin_stream()->send(line);
      const auto got1 = co_await read_exactly(*p.stdout_stream(), line.size());
      CHECK(got1 == line);
    }
    co_await p.stdin_stream()->aclose();  // cat sees end of input and exits
    const auto got2 = co_await read_until_eof(*p.stdout_stream());
    CHECK(got2 == "");
    const auto got3 = co_await p.wait();
    CHECK(got3 == 0);
    CHECK(p.returncode() == 0);
    const auto got4 = co_await p.wait();  // again: the same status
    CHECK(got4 == 0);
    co_await p.aclose();
  }
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process open: terminate, kill and send_signal end the child", "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  {
    auto p = co_await anyio::open_process(cmd("sleep", "30"));
    p.terminate();
    const auto got5 = co_await p.wait();
    CHECK(got5 == -SIGTERM);
    p.kill();  // after the exit: no effect, no error
    CHECK(p.returncode() == -SIGTERM);

    auto q = co_await anyio::open_process(cmd("sleep", "30"));
    q.kill();
    const auto got6 = co_await q.wait();
    CHECK(got6 == -SIGKILL);

    auto r = co_await anyio::open_process(cmd("sleep", "30"));
    r.send_signal(SIGINT);
    const auto got7 = co_await r.wait();
    CHECK(got7 == -SIGINT);
    const auto got8 = co_await read_until_eof(*r.stdout_stream());
    CHECK(got8 == "");
  }
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process open: destroying a running process kills and reaps it",
                "[process][cancel]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  {
    auto p = co_await anyio::open_process(cmd("sleep", "30"));
    co_await p.stdin_stream()->send("ignored\n");
  }
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
  // A cancelled wait leaves the child running; kill ends it.
  auto p = co_await anyio::open_process(cmd("sleep", "30"));
  auto scope = anyio::move_on_after(20ms);
  co_await scope.run([&]() -> anyio::task<> { (void)co_await p.wait(); });
  CHECK(scope.cancelled_caught());
  CHECK_FALSE(p.returncode().has_value());
  p.kill();
  const auto got9 = co_await p.wait();
  CHECK(got9 == -SIGKILL);
}

ANYIO_TEST_CASE("process open: a child does not inherit another child's pipes", "[process]") {
  REQUIRE(fakes_registered);
  // If the second cat held the first one's stdin open, the first would never
  // see end of input and this would hang.
  auto first = co_await anyio::open_process(cmd("cat"));
  auto second = co_await anyio::open_process(cmd("cat"));
  co_await first.stdin_stream()->send("one\n");
  co_await first.stdin_stream()->aclose();
  const auto got10 = co_await read_until_eof(*first.stdout_stream());
  CHECK(got10 == "one\n");
  const auto got11 = co_await first.wait();
  CHECK(got11 == 0);
  CHECK_FALSE(second.returncode().has_value());
  co_await second.stdin_stream()->aclose();
  const auto got12 = co_await second.wait();
  CHECK(got12 == 0);
}

ANYIO_TEST_CASE("process open: stderr apart, devnull, and a broken stdin", "[process]") {
  REQUIRE(fakes_registered);
  auto p = co_await anyio::open_process(cmd("sh", "-c", "echo out; echo err >&2; exit 4"));
  const auto got13 = co_await read_until_eof(*p.stdout_stream());
  CHECK(got13 == "out\n");
  const auto got14 = co_await read_until_eof(*p.stderr_stream());
  CHECK(got14 == "err\n");
  const auto got15 = co_await p.wait();
  CHECK(got15 == 4);

  anyio::process_options quiet;
  quiet.stdin_mode = anyio::redirect::devnull;
  quiet.stdout_mode = anyio::redirect::devnull;
  auto q = co_await anyio::open_process(cmd("cat"), quiet);
  CHECK(q.stdin_stream() == nullptr);
  CHECK(q.stdout_stream() == nullptr);
  const auto got16 = co_await q.wait();  // stdin was /dev/null: cat ends at once
  CHECK(got16 == 0);

  // Writing to a child that has exited is broken_resource_error.
  auto t = co_await anyio::open_process(cmd("true"));
  const auto got17 = co_await t.wait();
  CHECK(got17 == 0);
  bool broken = false;
  try {
    for (int i = 0; i < 100; ++i) co_await t.stdin_stream()->send(std::string(65536, 'x'));
  } catch (const anyio::broken_resource_error&) {
    broken = true;
  }
  CHECK(broken);

  anyio::process_options bad;
  bad.input = "x";
  auto rejected = co_await process_test::message_of<std::invalid_argument>(
      [&] { return anyio::open_process(cmd("cat"), bad); });
  REQUIRE(rejected.has_value());
  CHECK(rejected->find("run_process") != std::string::npos);
}
