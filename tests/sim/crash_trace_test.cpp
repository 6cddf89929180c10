// SPDX-License-Identifier: MIT
// A run that crashes keeps its trace: every line committed before the fatal
// signal reaches the file (the trace file's signal handler writes out the
// pending buffer), the reader accepts it as unfinished, and a replay follows
// it to the same crash, writing the same bytes. The crashing runs happen in
// forked children so the test process survives them. One test crashes a
// thread other than the run's while the run is still tracing and the file's
// writer thread is stuck in a write: under TSan (scripts/test.sh, stage
// tsan) the handler's reading of another thread's buffer must be race-free.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>

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

namespace {

// The run's steps, for a thread that watches it from outside.
std::atomic<std::uint64_t> progress{0};

anyio::task<> endless_body() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 3; ++i)
      tg.start_soon([]() -> anyio::task<> {
        for (;;) {
          co_await anyio::checkpoint();
          progress.fetch_add(1, std::memory_order_release);
        }
      });
    co_return;
  });
}

// Reads what the child writes into `fifo` until the child is gone. After
// `stall_after` bytes it stops reading until `notify` says the child is
// about to crash, so the child's writer thread is blocked in write(2) at
// that moment; then, after a pause that lets the crash handler start
// waiting for that writer, it reads the rest.
struct fifo_capture {
  std::string bytes;
  int status = 0;
};
fifo_capture capture(pid_t child, const std::string& fifo, int notify, std::size_t stall_after) {
  fifo_capture out;
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(fd >= 0);
  bool notified = false, exited = false;
  char buf[4096];
  for (;;) {
    if (!notified && out.bytes.size() >= stall_after) {
      pollfd p{notify, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        notified = true;
        ::usleep(200'000);
      }
    } else {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.bytes.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 && exited) break;  // every writer gone, and the pipe empty
      pollfd p{fd, POLLIN, 0};
      (void)::poll(&p, 1, 10);
    }
    if (!exited && ::waitpid(child, &out.status, WNOHANG) == child) exited = true;
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("crash: another thread aborts while the run traces and the writer is busy: clean prefix",
          "[sim][trace][crash]") {
  const std::string fifo = temp_path("busy-writer.fifo");
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  int notify[2];
  REQUIRE(::pipe(notify) == 0);
  // About 80 bytes of trace per step: the run fills its first 1 MiB buffer
  // (which the writer cannot finish while the reader stalls) and is well
  // into the second when the other thread aborts.
  constexpr std::uint64_t abort_at = 20'000;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);
    ::close(notify[0]);
    std::thread killer([fd = notify[1]] {
      while (progress.load(std::memory_order_acquire) < abort_at) std::this_thread::yield();
      (void)::write(fd, "x", 1);
      std::abort();
    });
    anyio::sim::options opts;
    opts.seed = 5;
    opts.trace_path = fifo;
    try {
      (void)anyio::sim::run_body(endless_body, opts);
    } catch (...) {
    }
    ::_exit(3);  // the run never ends by itself
  }
  ::close(notify[1]);
  const fifo_capture got = capture(pid, fifo, notify[0], std::size_t{256} << 10);
  ::close(notify[0]);
  ::unlink(fifo.c_str());
  // Killed by the abort, not ended by a sanitizer report (exit 66 under TSan).
  INFO("child status " << got.status);
  REQUIRE(WIFSIGNALED(got.status));
  REQUIRE(WTERMSIG(got.status) == SIGABRT);

  // Both buffers arrived, once each and in order, and only whole lines.
  REQUIRE(got.bytes.size() > (std::size_t{1} << 20));
  REQUIRE(got.bytes.back() == '\n');
  anyio::sim::trace_reader r(got.bytes, "busy-writer", anyio::sim::unfinished_trace::accept);
  std::uint64_t steps = 0, last_step = 0;
  while (const anyio::sim::trace_event* e = r.next()) {
    REQUIRE(e->step >= last_step);
    steps += e->kind == "step" || e->kind == "decide";
    last_step = e->step;
  }
  REQUIRE_FALSE(r.finished());
  REQUIRE(steps == last_step);
  REQUIRE(last_step >= abort_at);
}
