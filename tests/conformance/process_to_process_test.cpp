// SPDX-License-Identifier: MIT
// Conformance: to_process::run_sync on realio (worker processes: this test
// program re-executed) and on sim (inline, through JSON): results, errors
// raised by the function, an unregistered name, workers reused, a limiter.
// realio only (plain TEST_CASEs): a worker that dies is broken_worker_process,
// and cancellation kills a busy worker. The functions are registered, and the
// worker hook runs, at static initialisation of this file (in that order),
// so the worker serves before Catch2's main starts.
#include "tests/conformance/process_test_support.hpp"

#include <nlohmann/json.hpp>
// After nlohmann/json.hpp: the typed to_process calls convert through it.
#include <anyio/to_process.hpp>

#include <cstdlib>
#include <map>
#include <string>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

long long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

std::map<std::string, int> count_words(const std::string& text) {
  std::map<std::string, int> counts;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ') {
      if (!word.empty()) ++counts[word];
      word.clear();
    } else {
      word += c;
    }
  }
  return counts;
}

int register_all() {
  anyio::to_process::register_function("fib", fib);
  anyio::to_process::register_function("count_words", count_words);
  anyio::to_process::register_function("pid", []() { return static_cast<long>(::getpid()); });
  anyio::to_process::register_function("fail", [](std::string why) -> int {
    throw std::runtime_error("failed: " + why);
  });
  anyio::to_process::register_function("die", [](int status) -> int { std::_Exit(status); });
  anyio::to_process::register_function("spin", [](int seconds) -> int {
    ::sleep(static_cast<unsigned>(seconds));
    return seconds;
  });
  anyio::to_process::serve_if_worker(0, nullptr);  // a worker never returns from here
  return 1;
}

const int registered = register_all();

}  // namespace

ANYIO_TEST_CASE("process to_process: results through JSON, errors, workers reused",
                "[process][to_process]") {
  REQUIRE(registered == 1);
  const long long f = co_await anyio::to_process::run_sync<long long>("fib", 20);
  CHECK(f == 6765);
  const long long by_pointer = co_await anyio::to_process::run_sync(fib, 10);
  CHECK(by_pointer == 55);
  const auto counts =
      co_await anyio::to_process::run_sync<std::map<std::string, int>>("count_words",
                                                                       std::string("a b a"));
  CHECK(counts == std::map<std::string, int>{{"a", 2}, {"b", 1}});
  const nlohmann::json as_json = co_await anyio::to_process::run_sync("fib", 5);
  CHECK(as_json == 5);

  std::string raised;
  try {
    (void)co_await anyio::to_process::run_sync<int>("fail", std::string("on purpose"));
  } catch (const anyio::to_process::worker_error& e) {
    raised = e.what();
    CHECK(e.function() == "fail");
  }
  CHECK(raised.find("failed: on purpose") != std::string::npos);

  std::string unregistered;
  try {
    (void)co_await anyio::to_process::run_sync<int>("no-such-function", 1);
  } catch (const anyio::usage_error& e) {
    unregistered = e.what();
  }
  CHECK(unregistered.find("no-such-function") != std::string::npos);

  // One caller at a time: the same (idle) worker serves every call. On sim
  // the function runs in this process.
  const long first = co_await anyio::to_process::run_sync<long>("pid");
  const long second = co_await anyio::to_process::run_sync<long>("pid");
  CHECK(first == second);
  CHECK(anyio::to_process::current_default_process_limiter().total_tokens() >= 1);

  // Several at once, bounded by a limiter of two.
  anyio::capacity_limiter two(2);
  std::vector<long long> results(5);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 5; ++i)
      tg.start_soon([&, i]() -> anyio::task<> {
        anyio::to_process::options opts;
        opts.limiter = &two;
        results[static_cast<std::size_t>(i)] =
            co_await anyio::to_process::run_sync_with<long long>(opts, "fib", 15 + i);
      });
    co_return;
  });
  CHECK(results == std::vector<long long>{610, 987, 1597, 2584, 4181});
  CHECK(two.borrowed_tokens() == 0);
  CHECK_FALSE(process_test::has_zombie());
}

TEST_CASE("process to_process: a worker that dies is broken_worker_process (realio)",
          "[process][to_process]") {
  REQUIRE(registered == 1);
  const std::size_t fds = process_test::open_fds();
  std::string what;
  anyio::run([&]() -> anyio::task<> {
    try {
      (void)co_await anyio::to_process::run_sync<int>("die", 7);
    } catch (const anyio::to_process::broken_worker_process& e) {
      what = e.what();
    }
    // The pool goes on with a new worker.
    const long long f = co_await anyio::to_process::run_sync<long long>("fib", 12);
    CHECK(f == 144);
  });
  CHECK(what.find("'die'") != std::string::npos);
  CHECK(what.find("exit status 7") != std::string::npos);
  // The run is over: its idle workers were killed and reaped.
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

TEST_CASE("process to_process: cancellation kills a busy worker (realio)",
          "[process][to_process][cancel]") {
  REQUIRE(registered == 1);
  const std::size_t fds = process_test::open_fds();
  const auto wall = std::chrono::steady_clock::now();
  anyio::run([&]() -> anyio::task<> {
    auto scope = anyio::move_on_after(100ms);
    co_await scope.run([&]() -> anyio::task<> {
      (void)co_await anyio::to_process::run_sync<int>("spin", 60);
    });
    CHECK(scope.cancelled_caught());
    CHECK_FALSE(process_test::has_zombie());
  });
  // Not a timing assertion: a worker left running would hold the run for 60 s.
  CHECK(std::chrono::steady_clock::now() - wall < 50s);
  CHECK(process_test::open_fds() == fds);
  CHECK_FALSE(process_test::has_zombie());
}

ANYIO_TEST_CASE("process to_process: a value JSON cannot carry fails on both backends",
                "[process][to_process]") {
  REQUIRE(registered == 1);
  // Invalid UTF-8 cannot be JSON text: the argument fails to serialise.
  bool failed = false;
  try {
    (void)co_await anyio::to_process::run_sync<int>("count_words", std::string("\xff\xfe"));
  } catch (const nlohmann::json::exception&) {
    failed = true;
  }
  CHECK(failed);
}
