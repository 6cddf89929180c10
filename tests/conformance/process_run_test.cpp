// SPDX-License-Identifier: MIT
// Conformance: run_process on realio (real /bin programs) and on sim (the
// fakes of process_test_support.hpp): output, input, the exit status and
// process_error, a missing program, env and cwd, cancellation killing and
// reaping the child — and after each, no zombie and no leaked descriptor.
#include "tests/conformance/process_test_support.hpp"

#include <csignal>
#include <string>

using namespace std::chrono_literals;

namespace {
const bool fakes_registered = (process_test::register_fakes(), true);
}

ANYIO_TEST_CASE("process run: output, input and the exit status", "[process]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  auto r = co_await anyio::run_process(process_test::cmd("echo", "hello", "world"));
  CHECK(r.returncode == 0);
  CHECK(r.out == "hello world\n");
  CHECK(r.err.empty());
  CHECK(r.args == std::vector<std::string>{"echo", "hello", "world"});

  // More than a pipe holds (64 KiB) both ways: input is fed while output is
  // drained, or this would deadlock.
  std::string big;
  for (int i = 0; big.size() < 300'000; ++i) big += "line " + std::to_string(i) + "\n";
  anyio::process_options feed;
  feed.input = big;
  auto cat = co_await anyio::run_process(process_test::cmd("cat"), feed);
  CHECK(cat.returncode == 0);
  CHECK(cat.out.size() == big.size());
  CHECK(cat.out == big);

  anyio::process_options empty_input;
  empty_input.input = "";
  auto nothing = co_await anyio::run_process(process_test::cmd("cat"), empty_input);
  CHECK(nothing.out.empty());

  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process run: a non-zero exit is process_error naming the command and its stderr",
                "[process][errors]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  int code = 0;
  std::string what;
  try {
    auto argv = process_test::cmd("sh", "-c", "echo first >&2; echo oops >&2; exit 3");
    (void)co_await anyio::run_process(argv);
  } catch (const anyio::process_error& e) {
    code = e.returncode();
    what = e.what();
  }
  CHECK(code == 3);
  CHECK(what.find("'sh'") != std::string::npos);
  CHECK(what.find("status 3") != std::string::npos);
  CHECK(what.find("oops") != std::string::npos);

  anyio::process_options unchecked;
  unchecked.check = false;
  auto r = co_await anyio::run_process(process_test::cmd("false"), unchecked);
  CHECK(r.returncode == 1);
  bool threw = false;
  try {
    r.check_returncode();
  } catch (const anyio::process_error& e) {
    threw = true;
    CHECK(e.returncode() == 1);
  }
  CHECK(threw);
  auto ok = co_await anyio::run_process(process_test::cmd("true"));
  CHECK(ok.returncode == 0);
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process run: a missing program is a system_error naming it", "[process][errors]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  std::error_code code;
  std::string what;
  try {
    (void)co_await anyio::run_process(process_test::cmd("anyio-no-such-program", "x"));
  } catch (const std::system_error& e) {
    code = e.code();
    what = e.what();
  }
  CHECK(code == std::errc::no_such_file_or_directory);
  CHECK(what.find("anyio-no-such-program") != std::string::npos);
  CHECK(what.find("cannot run") != std::string::npos);
  auto empty = co_await process_test::message_of<std::invalid_argument>(
      [] { return anyio::run_process({}); });
  REQUIRE(empty.has_value());
  CHECK(empty->find("argv is empty") != std::string::npos);
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process run: env replaces the environment, cwd sets the directory",
                "[process]") {
  REQUIRE(fakes_registered);
  anyio::process_options with_env;
  with_env.env = std::map<std::string, std::string>{{"ANYIO_TEST_VALUE", "forty two"},
                                                     {"PATH", "/usr/bin:/bin"}};
  auto r = co_await anyio::run_process(process_test::cmd("printenv", "ANYIO_TEST_VALUE"), with_env);
  CHECK(r.out == "forty two\n");
  with_env.check = false;
  auto missing = co_await anyio::run_process(process_test::cmd("printenv", "HOME"), with_env);
  CHECK(missing.returncode == 1);  // not inherited: env replaces
  anyio::process_options in_root;
  in_root.cwd = "/";
  auto pwd = co_await anyio::run_process(process_test::cmd("pwd"), in_root);
  CHECK(pwd.out == "/\n");
}

ANYIO_TEST_CASE("process run: cancellation kills and reaps the child", "[process][cancel]") {
  REQUIRE(fakes_registered);
  const std::size_t fds = process_test::open_fds();
  const auto start = anyio::current_time();
  auto scope = anyio::move_on_after(50ms);
  co_await scope.run([&]() -> anyio::task<> {
    (void)co_await anyio::run_process(process_test::cmd("sleep", "30"));
    FAIL("run_process returned although it was cancelled");
  });
  CHECK(scope.cancelled_caught());
  CHECK(anyio::current_time() - start < 20s);
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}
