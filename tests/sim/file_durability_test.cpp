// SPDX-License-Identifier: MIT
// The simulated filesystem's durability model and crash: synced data
// survives, unsynced data does not, a new name needs its directory synced
// (rename and unlink too), a torn crash keeps a prefix of the unsynced
// writes cut at a block boundary, and files opened before a crash are dead.
// Behaviour shared with realio is in tests/conformance/file_*_test.cpp.
#include <anyio/anyio.hpp>
#include <anyio/testing/catch.hpp>

#include <set>
#include <string>

namespace {


anyio::task<std::string> contents(const anyio::path& p) {
  const bool exists = co_await p.exists();  // (g++ 12: no co_await in an if's condition)
  if (!exists) co_return "<missing>";
  co_return co_await p.read_bytes();
}

anyio::sim::options seed(std::uint64_t s) {
  anyio::sim::options o;
  o.seed = s;
  return o;
}

}  // namespace

TEST_CASE("sim files: synced data survives a crash, unsynced data does not", "[sim][file]") {
  auto body = []() -> anyio::task<> {
    const anyio::path dir("/data");
    co_await dir.mkdir();
    co_await anyio::path("/").sync();  // "/data" itself is durable now
    auto f = co_await anyio::open_file("/data/log", "w");
    co_await dir.sync();               // and the name "log"
    (void)co_await f.write("synced;");
    co_await f.sync();
    (void)co_await f.write("not synced");
    const auto report = anyio::sim::crash_filesystem();
    CHECK(report.files_changed == 1);
    CHECK(report.torn_writes == 0);
    const auto after = co_await contents("/data/log");
    CHECK(after == "synced;");
    // The handle from before the crash is dead.
    bool dead = false;
    try {
      (void)co_await f.write("x");
    } catch (const std::system_error& e) {
      const std::string what = e.what();
      dead = e.code().value() == EIO && what.find("/data/log") != std::string::npos;
    }
    CHECK(dead);
  };
  for (std::uint64_t s = 0; s < 20; ++s) anyio::sim::run(body, seed(s));
}

TEST_CASE("sim files: a new name is durable only once its directory is synced",
          "[sim][file]") {
  auto body = []() -> anyio::task<> {
    co_await anyio::path("/tmp/a").write_text("a");  // data and name unsynced
    {
      auto f = co_await anyio::open_file("/tmp/b", "w");
      (void)co_await f.write("b");
      co_await f.sync();  // data synced, name not
      co_await f.aclose();
    }
    auto report = anyio::sim::crash_filesystem();
    CHECK(report.entries_lost == 2);
    const bool a = co_await anyio::path("/tmp/a").exists();
    const bool b = co_await anyio::path("/tmp/b").exists();
    CHECK_FALSE(a);
    CHECK_FALSE(b);

    co_await anyio::path("/tmp/c").write_text("c");
    co_await anyio::path("/tmp").sync();  // name synced, data not
    (void)anyio::sim::crash_filesystem();
    const auto c = co_await contents("/tmp/c");
    CHECK(c == "");  // the file is there, empty

    // rename and unlink are directory changes too.
    {
      auto f = co_await anyio::open_file("/tmp/c", "w");
      (void)co_await f.write("v1");
      co_await f.sync();
      co_await f.aclose();
    }
    (void)co_await anyio::path("/tmp/c").rename("/tmp/d");
    (void)anyio::sim::crash_filesystem();
    const auto c2 = co_await contents("/tmp/c");
    const auto d2 = co_await contents("/tmp/d");
    CHECK(c2 == "v1");
    CHECK(d2 == "<missing>");
    co_await anyio::path("/tmp/c").unlink();
    (void)anyio::sim::crash_filesystem();
    const auto c3 = co_await contents("/tmp/c");
    CHECK(c3 == "v1");
    co_await anyio::path("/tmp/c").unlink();
    co_await anyio::path("/tmp").sync();
    (void)anyio::sim::crash_filesystem();
    const bool c4 = co_await anyio::path("/tmp/c").exists();
    CHECK_FALSE(c4);
  };
  anyio::sim::run(body, seed(1));
}

TEST_CASE("sim files: a torn crash keeps a prefix of the unsynced writes at a block boundary",
          "[sim][file][crash]") {
  std::set<std::size_t> lengths;
  for (std::uint64_t s = 0; s < 60; ++s) {
    auto body = [&lengths]() -> anyio::task<> {
      anyio::sim::filesystem_options fo;
      fo.block_size = 16;
      anyio::sim::configure_filesystem(fo);
      auto f = co_await anyio::open_file("/tmp/t", "w");
      co_await anyio::path("/tmp").sync();
      const std::string synced = "0123456789";
      (void)co_await f.write(synced);
      co_await f.sync();
      std::string unsynced;
      for (int i = 0; i < 3; ++i) {
        const std::string piece(20, static_cast<char>('a' + i));
        (void)co_await f.write(piece);
        unsynced += piece;
      }
      anyio::sim::crash_options co;
      co.tear = true;
      const auto report = anyio::sim::crash_filesystem(co);
      const std::string after = co_await anyio::path("/tmp/t").read_bytes();
      // Never less than what was synced, never more than what was written,
      // and always a prefix of it.
      REQUIRE(after.size() >= synced.size());
      REQUIRE(after.size() <= synced.size() + unsynced.size());
      CHECK(after == (synced + unsynced).substr(0, after.size()));
      // A torn write ends at a block boundary.
      if (report.torn_writes != 0) CHECK(after.size() % 16 == 0);
      lengths.insert(after.size());
    };
    anyio::sim::run(body, seed(s));
  }
  // The seeds cover losing everything, keeping everything and tears between.
  CHECK(lengths.count(10) == 1);
  CHECK(lengths.count(70) == 1);
  CHECK(lengths.count(32) + lengths.count(48) + lengths.count(64) >= 2);
}

TEST_CASE("sim files: operations take seeded virtual time", "[sim][file]") {
  std::set<std::int64_t> took;
  for (std::uint64_t s = 0; s < 10; ++s) {
    auto body = [&took]() -> anyio::task<> {
      anyio::sim::filesystem_options fo;
      fo.min_latency = std::chrono::microseconds(5);
      fo.max_latency = std::chrono::microseconds(50);
      anyio::sim::configure_filesystem(fo);
      const auto t0 = anyio::current_time();
      co_await anyio::path("/tmp/x").write_text("x");  // open, write: two operations
      const auto dt = (anyio::current_time() - t0).count();
      CHECK(dt >= 10'000);
      CHECK(dt <= 100'000);
      took.insert(dt);
    };
    anyio::sim::run(body, seed(s));
  }
  CHECK(took.size() > 1);
}

TEST_CASE("sim files: configure_filesystem and crash_filesystem check their use",
          "[sim][file][errors]") {
  auto bad = []() -> anyio::task<> {
    anyio::sim::filesystem_options fo;
    fo.write_error = 1.5;
    anyio::sim::configure_filesystem(fo);
    co_return;
  };
  CHECK_THROWS_AS(anyio::sim::run(bad, seed(0)), std::invalid_argument);
  auto on_realio = []() -> anyio::task<> {
    (void)anyio::sim::crash_filesystem();
    co_return;
  };
  CHECK_THROWS_AS(anyio::run(on_realio), anyio::usage_error);
}

TEST_CASE("sim files: no permission is EACCES naming the path", "[sim][file][errors]") {
  auto body = []() -> anyio::task<> {
    anyio::path::mkdir_options locked;
    locked.mode = 0555;
    co_await anyio::path("/ro").mkdir(locked);
    std::string what;
    int error = 0;
    try {
      (void)co_await anyio::open_file("/ro/f", "w");
    } catch (const std::system_error& e) {
      what = e.what();
      error = e.code().value();
    }
    CHECK(error == EACCES);
    CHECK(what == "open_file /ro/f: Permission denied");
  };
  anyio::sim::run(body, seed(0));
}
