// SPDX-License-Identifier: MIT
// Injected faults of the simulated filesystem: EIO on read, write and sync,
// ENOSPC past the capacity or as a fault, short writes (write() repeats
// them, write_some shows them), slow operations. Each fault is a fault
// decision "fault:fs_<kind>:<path>" (sim/faults_api.hpp) and an `fs` trace
// line, so a replay of the trace serves the same faults — byte for byte —
// and two runs of a seed agree; a world's fault plan carries the same
// kinds as fs_ rates.
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/sim_world.hpp>
#include <anyio/testing/catch.hpp>

#include "temp_files.hpp"

#include <map>
#include <string>

using namespace std::chrono_literals;

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
    if (e->kind == "draw" && e->purpose == "fault:fs_write_error:/tmp/r") ++fault_draws;
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

namespace {

// Every kind of fault, often, over reads, writes, syncs of two files and a
// directory; failures are counted, not raised.
anyio::task<> busy_faulty_disk() {
  anyio::sim::filesystem_options fo;
  fo.read_error = fo.write_error = fo.sync_error = fo.no_space = 0.2;
  fo.short_write = fo.slow = 0.3;
  anyio::sim::configure_filesystem(fo);
  auto a = co_await anyio::open_file("/tmp/a", "w+");
  auto b = co_await anyio::open_file("/tmp/b", "w+");
  int failures = 0;
  for (int i = 0; i < 30; ++i) {
    auto& f = i % 2 == 0 ? a : b;
    const int e = co_await error_of([&]() -> anyio::task<> {
      (void)co_await f.write(std::string(50 + i, 'w'));
      co_await f.sync();
      (void)co_await f.seek(0);
      (void)co_await f.read(10);
      co_await anyio::path("/tmp").sync();
    });
    failures += e != 0 ? 1 : 0;
  }
  anyio::sim::configure_filesystem({});
  co_await a.aclose();
  co_await b.aclose();
  if (failures == 0) throw std::runtime_error("no fault was injected");
}

}  // namespace

TEST_CASE("sim files: every fault is a decision fault:fs_<kind>:<path>, replayed byte for byte",
          "[sim][file][faults]") {
  const std::string trace = anyio_test::temp_path("anyio-file-sim-test", "kinds.jsonl");
  const std::string again = anyio_test::temp_path("anyio-file-sim-test", "kinds-again.jsonl");
  anyio::sim::options o = seed(5);
  o.trace_path = trace;
  REQUIRE(anyio::sim::run_body(busy_faulty_disk, o).passed());
  std::map<std::string, int> injected;  // kind -> faults injected
  int old_style = 0, bad_sites = 0;
  anyio::sim::trace_reader reader(trace);
  while (const anyio::sim::trace_event* e = reader.next()) {
    if (e->kind != "draw") continue;
    if (e->purpose.rfind("fs.fault", 0) == 0 || e->purpose == "fs.short_write.length") ++old_style;
    if (e->purpose.rfind("fault:", 0) != 0) continue;
    const std::size_t colon = e->purpose.find(':', 6);
    const std::string site = e->purpose.substr(colon + 1);
    bad_sites += site == "/tmp/a" || site == "/tmp/b" || site == "/tmp" ? 0 : 1;
    if (e->value != 0) ++injected[e->purpose.substr(6, colon - 6)];
  }
  CHECK(old_style == 0);
  CHECK(bad_sites == 0);
  for (const char* kind : {"fs_read_error", "fs_write_error", "fs_sync_error", "fs_short_write",
                           "fs_no_space", "fs_slow"}) {
    INFO(kind);
    CHECK(injected[kind] > 0);
  }
  // The replay follows every decision and writes the same bytes.
  anyio::sim::replay(busy_faulty_disk, trace, again);
  CHECK(anyio_test::slurp(again) == anyio_test::slurp(trace));
}

TEST_CASE("sim files: a short write's strength is the bytes it leaves out, a slow one's its delay",
          "[sim][file][faults]") {
  auto body = []() -> anyio::task<> {
    anyio::sim::filesystem_options fo;
    fo.short_write = 1;
    fo.slow = 1;
    fo.slow_latency = 10ms;
    fo.min_latency = fo.max_latency = 1us;
    anyio::sim::configure_filesystem(fo);
    auto f = co_await anyio::open_file("/tmp/s", "w");
    const std::string data(100, 'd');
    const auto t0 = anyio::current_time();
    const std::size_t n = co_await f.write_some(std::as_bytes(std::span(data)));
    const auto took = anyio::current_time() - t0;
    anyio::sim::configure_filesystem({});
    co_await f.aclose();
    CHECK(n < 100);
    CHECK(n >= 1);
    CHECK(took > 1us);
    CHECK(took <= 10ms + 1us);
  };
  const std::string trace = anyio_test::temp_path("anyio-file-sim-test", "strength.jsonl");
  anyio::sim::options o = seed(2);
  o.trace_path = trace;
  REQUIRE(anyio::sim::run_body(body, o).passed());
  std::uint64_t cut = 0, slow = 0, written = 0;
  anyio::sim::trace_reader reader(trace);
  while (const anyio::sim::trace_event* e = reader.next()) {
    if (e->kind == "draw" && e->purpose == "fault:fs_short_write:/tmp/s") {
      cut = e->value;
      CHECK(e->bound == 100);  // strengths 1..99: at least one byte is written
    }
    if (e->kind == "draw" && e->purpose == "fault:fs_slow:/tmp/s") slow = std::max(slow, e->value);
    if (e->kind == "fs" && e->op == "write" && e->result == "short") written = e->bytes;
  }
  REQUIRE(cut >= 1);
  CHECK(written == 100 - cut);
  CHECK(slow >= 1);
  CHECK(slow <= 10);
}

TEST_CASE("fault plan: fs_ rates in JSON, only when set, with clear errors",
          "[sim][file][faults]") {
  anyio::sim::fault_plan p;
  p.crash = 0.1;
  const std::string without = p.to_json();
  CHECK(without.find("fs_") == std::string::npos);  // plans without disk faults read as before
  p.fs_read_error = 0.01;
  p.fs_write_error = 0.02;
  p.fs_sync_error = 0.03;
  p.fs_short_write = 0.25;
  p.fs_no_space = 0.04;
  p.fs_slow = 0.5;
  const auto q = anyio::sim::fault_plan::from_json(p.to_json());
  CHECK(q.fs_read_error == 0.01);
  CHECK(q.fs_write_error == 0.02);
  CHECK(q.fs_sync_error == 0.03);
  CHECK(q.fs_short_write == 0.25);
  CHECK(q.fs_no_space == 0.04);
  CHECK(q.fs_slow == 0.5);
  CHECK(q.to_json() == p.to_json());
  std::string message;
  try {
    (void)anyio::sim::fault_plan::from_json(R"({"fs_slow": 1.5})");
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  CHECK(message == "fault plan: 'fs_slow' must be a probability in [0, 1]");
  const auto all = anyio::sim::fault_plan::swarm_all();
  CHECK(all.fs_write_error > 0);
  CHECK(all.fs_short_write > 0);
}

TEST_CASE("fault plan: its fs_ rates fault the filesystem from its start", "[sim][file][faults]") {
  anyio::sim::fault_plan plan;
  plan.start = 1ms;
  plan.fs_write_error = 1;
  auto test = []() -> anyio::task<> {
    auto f = co_await anyio::open_file("/tmp/p", "w");
    (void)co_await f.write("before the plan's start");
    co_await anyio::sleep(2ms);
    const int e = co_await error_of([&]() -> anyio::task<> { (void)co_await f.write("x"); });
    CHECK(e == EIO);
    co_await f.aclose();
  };
  auto body = [plan, test]() -> anyio::task<> {
    anyio::sim::world w;
    w.set_plan(plan);
    anyio::sim::world::main_fn main = test;  // named: g++ 12's closure pitfall
    co_await w.run(std::move(main));
  };
  const std::string trace = anyio_test::temp_path("anyio-file-sim-test", "plan.jsonl");
  anyio::sim::options o = seed(1);
  o.trace_path = trace;
  REQUIRE(anyio::sim::run_body(body, o).passed());
  const std::string text = anyio_test::slurp(trace);
  CHECK(text.find(R"(\"fs_write_error\":1.0)") != std::string::npos);  // the plan line
  CHECK(text.find(R"("purpose":"fault:fs_write_error:/tmp/p","bound":2,"value":1)") !=
        std::string::npos);
  // The same plan, swarmed: a recorded draw decides whether the kind is on.
  plan.swarm = true;
  o.trace_path.clear();
  int on = 0;
  for (std::uint64_t s = 0; s < 20; ++s) {
    o.seed = s;
    auto swarmed = [plan]() -> anyio::task<> {
      anyio::sim::world w;
      w.set_plan(plan);
      auto probe = []() -> anyio::task<> {
        auto f = co_await anyio::open_file("/tmp/q", "w");
        co_await anyio::sleep(2ms);
        const int e = co_await error_of([&]() -> anyio::task<> { (void)co_await f.write("x"); });
        if (e == EIO) throw std::runtime_error("faulted");
        co_await f.aclose();
      };
      anyio::sim::world::main_fn main = probe;
      co_await w.run(std::move(main));
    };
    on += anyio::sim::run_body(swarmed, o).passed() ? 0 : 1;
  }
  CHECK(on > 0);
  CHECK(on < 20);
}
