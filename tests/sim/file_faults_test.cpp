// SPDX-License-Identifier: MIT
// Injected faults of the simulated filesystem: EIO on read, write and sync,
// ENOSPC past the capacity, short writes (write() repeats them, write_some
// shows them). Each fault is a recorded draw and an `fs` trace line, so a
// replay of the trace serves the same faults, and two runs of a seed agree.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <string>

namespace {

anyio::sim::options seed(std::uint64_t s) {
  anyio::sim::options o;
  o.seed = s;
  return o;
}

template <class F> anyio::task<int> error_of(F f) {
  try {
    co_await f();
  } catch (const std::system_error& e) {
    co_return e.code().value();
  }
  co_return 0;
}

}  // namespace

TEST_CASE("sim files: EIO on read, write and sync, each naming the path", "[sim][file][faults]") {
  auto body = []() -> anyio::task<> {
    co_await anyio::path("/tmp/f").write_text("data");
    auto f = co_await anyio::open_file("/tmp/f", "r+");
    anyio::sim::filesystem_options fo;
    fo.read_error = 1;
    fo.write_error = 1;
    fo.sync_error = 1;
    anyio::sim::configure_filesystem(fo);
    const int r = co_await error_of([&]() -> anyio::task<> { (void)co_await f.read(); });
    const int w = co_await error_of([&]() -> anyio::task<> { (void)co_await f.write("x"); });
    const int s = co_await error_of([&]() -> anyio::task<> { co_await f.sync(); });
    const anyio::path tmp("/tmp");
    const int d = co_await error_of([&]() -> anyio::task<> { co_await tmp.sync(); });
    CHECK(r == EIO);
    CHECK(w == EIO);
    CHECK(s == EIO);
    CHECK(d == EIO);
    anyio::sim::configure_filesystem({});
    const std::string still = co_await f.read();
    CHECK(still == "data");  // the failed write wrote nothing
    co_await f.aclose();
  };
  anyio::sim::run(body, seed(3));
}

TEST_CASE("sim files: ENOSPC past the capacity, after a short write", "[sim][file][faults]") {
  auto body = []() -> anyio::task<> {
    anyio::sim::filesystem_options fo;
    fo.capacity = 10;
    anyio::sim::configure_filesystem(fo);
    auto f = co_await anyio::open_file("/tmp/big", "w");
    const std::string eight(8, 'x');
    const std::size_t first = co_await f.write_some(std::as_bytes(std::span(eight)));
    CHECK(first == 8);
    const std::size_t second = co_await f.write_some(std::as_bytes(std::span(eight)));
    CHECK(second == 2);  // what fits
    std::string what;
    try {
      (void)co_await f.write("more");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == ENOSPC);
      what = e.what();
    }
    CHECK(what == "write /tmp/big: No space left on device");
    // Truncating frees the space again.
    co_await f.truncate(0);
    (void)co_await f.seek(0);  // truncate leaves the position where it was
    (void)co_await f.write("0123456789");
    co_await f.aclose();
  };
  anyio::sim::run(body, seed(0));
}

TEST_CASE("sim files: short writes are seeded, write() repeats them", "[sim][file][faults]") {
  int shorts = 0;
  for (std::uint64_t s = 0; s < 10; ++s) {
    auto body = [&shorts]() -> anyio::task<> {
      anyio::sim::filesystem_options fo;
      fo.short_write = 0.5;
      anyio::sim::configure_filesystem(fo);
      auto f = co_await anyio::open_file("/tmp/s", "w+");
      const std::string data(1000, 'q');
      const std::size_t one = co_await f.write_some(std::as_bytes(std::span(data)));
      CHECK(one >= 1);
      CHECK(one <= 1000);
      if (one < 1000) ++shorts;
      co_await f.truncate(0);
      (void)co_await f.seek(0);
      const std::size_t all = co_await f.write(data);
      CHECK(all == 1000);
      (void)co_await f.seek(0);
      const std::string back = co_await f.read();
      CHECK(back == data);
      co_await f.aclose();
    };
    anyio::sim::run(body, seed(s));
  }
  CHECK(shorts > 0);
  CHECK(shorts < 10);
}

TEST_CASE("sim files: faults are trace lines and draws, the trace replays", "[sim][file][faults]") {
  auto body = []() -> anyio::task<> {
    anyio::sim::filesystem_options fo;
    fo.write_error = 0.5;
    anyio::sim::configure_filesystem(fo);
    auto f = co_await anyio::open_file("/tmp/r", "w");
    int failed = 0;
    for (int i = 0; i < 20; ++i) {
      try {
        (void)co_await f.write("x");
      } catch (const std::system_error&) {
        ++failed;
      }
    }
    // The count depends on the seed: a replay must serve the same faults.
    anyio::sim::crash_options co;
    co.tear = true;
    (void)anyio::sim::crash_filesystem(co);
    CHECK(failed > 0);
  };
  const std::string trace = anyio_test::temp_path("anyio-file-sim-test", "faults.jsonl");
  anyio::sim::options o = seed(11);
  o.trace_path = trace;
  o.check_determinism = true;
  const anyio::sim::run_result r = anyio::sim::run_body(body, o);
  REQUIRE(r.passed());
  int eio_lines = 0, fault_draws = 0, crash_lines = 0;
  anyio::sim::trace_reader reader(trace);
  while (const anyio::sim::trace_event* e = reader.next()) {
    if (e->kind == "fs" && e->op == "write" && e->result == "EIO") ++eio_lines;
    if (e->kind == "fs" && e->op == "crash") ++crash_lines;
    if (e->kind == "draw" && e->purpose == "fs.fault.write") ++fault_draws;
  }
  CHECK(eio_lines > 0);
  CHECK(fault_draws == 20);
  CHECK(crash_lines >= 1);
  anyio::sim::options replay;
  replay.strategy = anyio::sim::strategy::replay;
  replay.replay_path = trace;
  const anyio::sim::run_result again = anyio::sim::run_body(body, replay);
  CHECK(again.passed());
}
