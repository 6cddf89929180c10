// SPDX-License-Identifier: MIT
// Conformance: path helpers on realio and sim — read/write bytes and text,
// exists and stat, mkdir with parents, iterdir, glob, rename, unlink, rmdir,
// the file streams, and errors that name the operation, the path and the
// errno text (missing file, a directory where a file was expected).
#include "tests/conformance/file_test_support.hpp"

#include <cstring>
#include <string>
#include <vector>

namespace {
std::vector<std::string> names(const std::vector<anyio::path>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.name());
  return out;
}
}  // namespace

ANYIO_TEST_CASE("file path: pure parts", "[file][path]") {
  const anyio::path p("/a/b/c.tar.gz");
  CHECK(p.name() == "c.tar.gz");
  CHECK(p.suffix() == ".gz");
  CHECK(p.stem() == "c.tar");
  CHECK(p.parent() == anyio::path("/a/b"));
  CHECK(anyio::path("/x").parent() == anyio::path("/"));
  CHECK(anyio::path("x").parent() == anyio::path("."));
  CHECK((anyio::path("/a") / "b").str() == "/a/b");
  CHECK((anyio::path("/a/") / "b").str() == "/a/b");
  CHECK(anyio::path(".bashrc").suffix() == "");
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("file path: write and read, exists, stat", "[file][path]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  const anyio::path p = d / "data.bin";
  const auto v1 = co_await p.exists();
  CHECK_FALSE(v1);
  std::string bytes("a\0b\xff", 4);
  co_await p.write_bytes(bytes);
  const auto v2 = co_await p.exists();
  CHECK(v2);
  const auto v3 = co_await p.is_file();
  CHECK(v3);
  const auto v4 = co_await p.is_dir();
  CHECK_FALSE(v4);
  const auto v5 = co_await d.is_dir();
  CHECK(v5);
  const auto v6 = co_await p.read_bytes();
  CHECK(v6 == bytes);
  const anyio::file_stat st = co_await p.stat();
  CHECK(st.is_file());
  CHECK(st.size == 4);
  CHECK((st.mode & 0600) == 0600);
  CHECK(st.mtime_ns > 0);
  co_await p.write_text("shorter");
  const auto v7 = co_await p.read_text();
  CHECK(v7 == "shorter");
  const auto v8 = co_await (p / "under-a-file").exists();  // ENOTDIR is "not there"
  CHECK_FALSE(v8);
}

ANYIO_TEST_CASE("file path: mkdir with parents, iterdir, glob", "[file][path]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  co_await (d / "x/y/z").mkdir({.parents = true});
  const auto v9 = co_await (d / "x/y/z").is_dir();
  CHECK(v9);
  auto again = co_await file_test::system_error_of([&] { return (d / "x/y").mkdir(); });
  REQUIRE(again.has_value());
  CHECK(again->error == EEXIST);
  co_await (d / "x/y").mkdir({.exist_ok = true});
  auto missing_parent =
      co_await file_test::system_error_of([&] { return (d / "no/such/dir").mkdir(); });
  REQUIRE(missing_parent.has_value());
  CHECK(missing_parent->error == ENOENT);
  co_await (d / "x/a.txt").write_text("a");
  co_await (d / "x/b.log").write_text("b");
  co_await (d / "x/y/c.txt").write_text("c");
  co_await (d / "x/y/z/d.txt").write_text("d");
  co_await (d / "x/.hidden.txt").write_text("h");
  const auto v10 = names(co_await (d / "x").iterdir());
  CHECK(v10 == std::vector<std::string>{".hidden.txt", "a.txt", "b.log", "y"});
  const auto v11 = names(co_await (d / "x").glob("*.txt"));
  CHECK(v11 == std::vector<std::string>{"a.txt"});
  const auto v12 = names(co_await (d / "x").glob("?.*"));
  CHECK(v12 == std::vector<std::string>{"a.txt", "b.log"});
  const auto v13 = names(co_await (d / "x").glob("[ab].*"));
  CHECK(v13 == std::vector<std::string>{"a.txt", "b.log"});
  const auto v14 = names(co_await (d / "x").glob("*/c.txt"));
  CHECK(v14 == std::vector<std::string>{"c.txt"});
  auto deep = co_await (d / "x").glob("**/*.txt");
  std::vector<std::string> rel;
  for (const auto& p : deep) rel.push_back(p.str().substr((d / "x").str().size() + 1));
  CHECK(rel == std::vector<std::string>{"a.txt", "y/c.txt", "y/z/d.txt"});
  auto iter_file = co_await file_test::system_error_of([&] { return (d / "x/a.txt").iterdir(); });
  REQUIRE(iter_file.has_value());
  CHECK(iter_file->error == ENOTDIR);
}

ANYIO_TEST_CASE("file path: rename, unlink, rmdir", "[file][path]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  co_await (d / "old").write_text("content");
  const anyio::path moved = co_await (d / "old").rename(d / "new");
  CHECK(moved == d / "new");
  const auto v15 = co_await (d / "old").exists();
  CHECK_FALSE(v15);
  const auto v16 = co_await moved.read_text();
  CHECK(v16 == "content");
  co_await (d / "other").write_text("replaced");
  (void)co_await (d / "other").rename(moved);  // replaces the file there
  const auto v17 = co_await moved.read_text();
  CHECK(v17 == "replaced");
  co_await (d / "sub").mkdir();
  co_await (d / "sub/f").write_text("f");
  auto not_empty = co_await file_test::system_error_of([&] { return (d / "sub").rmdir(); });
  REQUIRE(not_empty.has_value());
  CHECK(not_empty->error == ENOTEMPTY);
  co_await (d / "sub/f").unlink();
  co_await (d / "sub").rmdir();
  const auto v18 = co_await (d / "sub").exists();
  CHECK_FALSE(v18);
  auto gone = co_await file_test::system_error_of([&] { return (d / "sub/f").unlink(); });
  REQUIRE(gone.has_value());
  CHECK(gone->error == ENOENT);
  co_await (d / "sub/f").unlink(true);  // missing_ok
  co_await moved.unlink();
  co_await (d / "other").unlink(true);
  co_await d.sync();
  const auto v19 = (co_await d.iterdir()).empty();
  CHECK(v19);
}

ANYIO_TEST_CASE("file path: errors name the operation, the path and the errno text",
                "[file][path][errors]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  const std::string missing = (d / "missing.txt").str();
  auto m = co_await file_test::system_error_of([&] { return anyio::open_file(missing); });
  REQUIRE(m.has_value());
  CHECK(m->error == ENOENT);
  CHECK(m->what == "open_file " + missing + ": " + std::strerror(ENOENT));
  auto r = co_await file_test::system_error_of([&] { return anyio::path(missing).read_bytes(); });
  REQUIRE(r.has_value());
  CHECK(r->what.find(missing) != std::string::npos);
  auto is_dir = co_await file_test::system_error_of([&] { return anyio::open_file(d.str()); });
  REQUIRE(is_dir.has_value());
  CHECK(is_dir->error == EISDIR);
  CHECK(is_dir->what == "open_file " + d.str() + ": " + std::strerror(EISDIR));
  auto st = co_await file_test::system_error_of([&] { return anyio::path(missing).stat(); });
  REQUIRE(st.has_value());
  CHECK(st->what == "stat " + missing + ": " + std::strerror(ENOENT));
  co_await (d / "f").write_text("x");
  auto through = co_await file_test::system_error_of(
      [&] { return anyio::open_file((d / "f/g").str(), "w"); });
  REQUIRE(through.has_value());
  CHECK(through->error == ENOTDIR);
  auto rmfile = co_await file_test::system_error_of([&] { return (d / "f").rmdir(); });
  REQUIRE(rmfile.has_value());
  CHECK(rmfile->error == ENOTDIR);
}

ANYIO_TEST_CASE("file path: file streams as byte streams", "[file][path][streams]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  const anyio::path p = d / "stream.bin";
  {
    auto out = co_await anyio::file_write_stream::from_path(p);
    CHECK(out->extra(anyio::file_attribute::path) == p.str());
    co_await out->send("abc");
    co_await out->send("def");
    co_await out->aclose();
  }
  {
    auto out = co_await anyio::file_write_stream::from_path(p, true);
    co_await out->send("ghi");
    co_await out->aclose();
  }
  auto in = co_await anyio::file_read_stream::from_path(p);
  CHECK(in->extra(anyio::file_attribute::path) == p.str());
  std::string got;
  try {
    for (;;) got += co_await in->receive(4);
  } catch (const anyio::end_of_stream&) {
  }
  CHECK(got == "abcdefghi");
  const auto v20 = co_await in->seek(3);
  CHECK(v20 == 3);
  const auto v21 = co_await in->receive(3);
  CHECK(v21 == "def");
  const auto v22 = co_await in->tell();
  CHECK(v22 == 6);
  co_await in->aclose();
  bool closed = false;
  try {
    (void)co_await in->receive(1);
  } catch (const anyio::closed_resource_error&) {
    closed = true;
  }
  CHECK(closed);
}

ANYIO_TEST_CASE("file path: cancelling a file operation leaves the file usable", "[file][cancel]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  auto f = co_await anyio::open_file((d / "c").str(), "w+");
  auto scope = anyio::move_on_after(std::chrono::seconds(0));
  co_await scope.run([&]() -> anyio::task<> { (void)co_await f.write("never"); });
  CHECK(scope.cancelled_caught());
  (void)co_await f.write("kept");
  (void)co_await f.seek(0);
  const auto v23 = co_await f.read();
  CHECK(v23 == "kept");
  co_await f.aclose();
}
