// SPDX-License-Identifier: MIT
// A run that crashes keeps its trace: every line committed before the fatal
// signal reaches the file (the trace file's signal handler writes out the
// pending buffer), the reader accepts it as unfinished, and a replay follows
// it to the same crash, writing the same bytes. The crashing runs happen in
// forked children so the test process survives them.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <functional>

namespace {

std::string temp_path(const std::string& name) {
  return anyio_test::temp_path("anyio-crash-test", name);
}
using anyio_test::slurp;

// Three tasks share a counter; the 40,000th increment aborts, well after
// the first 1 MiB buffer has gone to the writer thread.
constexpr int crash_at = 40'000;
int counter = 0;

anyio::task<> crashing_body() {
  counter = 0;
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        for (;;) {
          co_await anyio::checkpoint();
          if (++counter == crash_at) std::abort();
        }
      });
    co_return;
  });
}

// The signal that ended `fn` run in a child process (0: it exited).
int signal_of_child(const std::function<void()>& fn) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // the default action, not Catch2's reporter
    try {
      fn();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

}  // namespace

TEST_CASE("crash: an aborted run leaves every committed line, and replay reaches the crash again",
          "[sim][trace][crash]") {
  const std::string path = temp_path("aborted.jsonl"), again = temp_path("aborted-again.jsonl");
  anyio::sim::options opts;
  opts.seed = 3;
  opts.trace_path = path;
  REQUIRE(signal_of_child([&] { (void)anyio::sim::run_body(crashing_body, opts); }) == SIGABRT);

  const std::string bytes = slurp(path);
  REQUIRE(bytes.size() > (std::size_t{3} << 20));
  REQUIRE(bytes.back() == '\n');  // whole lines only
  REQUIRE_THROWS_WITH(anyio::sim::read_trace(path), Catch::Contains("truncated: no outcome line"));
  anyio::sim::trace_reader r(path, anyio::sim::unfinished_trace::accept);
  std::uint64_t steps = 0, last_step = 0;
  while (const anyio::sim::trace_event* e = r.next()) {
    steps += e->kind == "step" || e->kind == "decide";
    last_step = e->step;
  }
  REQUIRE_FALSE(r.finished());
  REQUIRE(r.outcome().kind == "unfinished");
  // Every step up to the crashing one is there: the main task's one step,
  // each worker's first (to its first checkpoint), then one per increment.
  REQUIRE(last_step == 1 + 3 + crash_at);
  REQUIRE(steps == last_step);

  REQUIRE(signal_of_child([&] { anyio::sim::replay(crashing_body, path, again); }) == SIGABRT);
  REQUIRE(slurp(again) == bytes);
}

TEST_CASE("crash: an unfinished trace replayed by a fixed program says where it went past",
          "[sim][trace][crash]") {
  const std::string path = temp_path("aborted-2.jsonl");
  anyio::sim::options opts;
  opts.seed = 4;
  opts.trace_path = path;
  REQUIRE(signal_of_child([&] { (void)anyio::sim::run_body(crashing_body, opts); }) == SIGABRT);
  // The same schedule without the abort: the run goes on past the trace.
  auto fixed = []() -> anyio::task<> {
    counter = 0;
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < 3; ++i)
        tg.start_soon([]() -> anyio::task<> {
          while (++counter < crash_at + 10) co_await anyio::checkpoint();
        });
      co_return;
    });
  };
  REQUIRE_THROWS_WITH(anyio::sim::replay(fixed, path),
                      Catch::Contains("went on past the end of " + path) &&
                          Catch::Contains("stopped there without an outcome line"));
}
