// SPDX-License-Identifier: MIT
// Conformance: files on realio and sim — write then read back, read up to
// n, seek and tell around read-ahead, truncate, append, line iteration, the
// modes, and closed files.
#include "tests/conformance/file_test_support.hpp"

#include <string>

ANYIO_TEST_CASE("file: write, read back, read up to n, seek and tell", "[file]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  auto f = co_await anyio::open_file((d / "a.txt").str(), "w+");
  const auto v1 = co_await f.write("hello, world");
  CHECK(v1 == 12);
  const auto v2 = co_await f.tell();
  CHECK(v2 == 12);
  const auto v3 = co_await f.seek(0);
  CHECK(v3 == 0);
  const auto v4 = co_await f.read(5);
  CHECK(v4 == "hello");
  const auto v5 = co_await f.tell();
  CHECK(v5 == 5);  // read-ahead does not move the position seen
  const auto v5b = co_await f.read();
  CHECK(v5b == ", world");
  const auto v6 = co_await f.read(3);
  CHECK(v6 == "");  // end of file
  const auto v6b = co_await f.seek(-5, anyio::seek_from::end);
  CHECK(v6b == 7);
  const auto v7 = co_await f.read();
  CHECK(v7 == "world");
  const auto v8 = co_await f.seek(7);
  CHECK(v8 == 7);
  (void)co_await f.write("there");
  const auto v9 = co_await f.seek(-3, anyio::seek_from::current);
  CHECK(v9 == 9);
  const auto v10 = co_await f.read();
  CHECK(v10 == "ere");
  co_await f.flush();
  co_await f.sync();
  co_await f.sync_data();
  co_await f.aclose();
  CHECK(f.closed());
  const auto v11 = co_await (d / "a.txt").read_text();
  CHECK(v11 == "hello, there");
}

ANYIO_TEST_CASE("file: a write after reading ahead lands at the read position", "[file]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  co_await (d / "b.txt").write_text("one\ntwo\nthree\n");
  auto f = co_await anyio::open_file((d / "b.txt").str(), "r+");
  const auto v12 = co_await f.readline();
  CHECK(v12 == "one\n");
  (void)co_await f.write("TWO\n");
  const auto v13 = co_await f.readline();
  CHECK(v13 == "three\n");
  const auto v14 = co_await f.readline();
  CHECK(v14 == "");
  co_await f.aclose();
  const auto v15 = co_await (d / "b.txt").read_text();
  CHECK(v15 == "one\nTWO\nthree\n");
}

ANYIO_TEST_CASE("file: truncate and append", "[file]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  const anyio::path p = d / "c.log";
  co_await p.write_bytes("0123456789");
  {
    auto f = co_await p.open("r+");
    (void)co_await f.seek(4);
    co_await f.truncate();  // at the position
    co_await f.aclose();
  }
  const auto v16 = co_await p.read_bytes();
  CHECK(v16 == "0123");
  {
    auto f = co_await p.open("a");
    (void)co_await f.write("45");
    co_await f.truncate(5);
    (void)co_await f.write("X");  // append: at the end, whatever the position
    co_await f.aclose();
  }
  const auto v17 = co_await p.read_bytes();
  CHECK(v17 == "01234X");
  const auto v18 = (co_await p.stat()).size;
  CHECK(v18 == 6);
}

ANYIO_TEST_CASE("file: line iteration keeps newlines and the last partial line", "[file]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "line " + std::to_string(i) + "\n";  // > read chunk
  text += "no newline";
  co_await (d / "lines.txt").write_text(text);
  auto f = co_await anyio::open_file((d / "lines.txt").str());
  int count = 0;
  std::string joined;
  while (auto line = co_await f.next_line()) {
    if (count < 3000) CHECK(*line == "line " + std::to_string(count) + "\n");
    joined += *line;
    ++count;
  }
  CHECK(count == 3001);
  CHECK(joined == text);
  co_await f.aclose();
}

ANYIO_TEST_CASE("file: modes (x refuses an existing file, r refuses writes)", "[file][errors]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  const std::string p = (d / "m.txt").str();
  auto f = co_await anyio::open_file(p, "xb");
  co_await f.aclose();
  auto exists = co_await file_test::system_error_of([&] { return anyio::open_file(p, "x"); });
  REQUIRE(exists.has_value());
  CHECK(exists->error == EEXIST);
  CHECK(exists->what.find(p) != std::string::npos);
  auto r = co_await anyio::open_file(p, "r");
  auto ro = co_await file_test::system_error_of([&] { return r.write("x"); });
  REQUIRE(ro.has_value());
  CHECK(ro->error == EBADF);
  co_await r.aclose();
  bool bad_mode = false;
  try {
    (void)co_await anyio::open_file(p, "rw");
  } catch (const std::invalid_argument& e) {
    bad_mode = std::string(e.what()).find("\"rw\"") != std::string::npos;
  }
  CHECK(bad_mode);
}

ANYIO_TEST_CASE("file: a closed file refuses calls, closing twice is fine", "[file][errors]") {
  file_test::temp_dir dir;
  const anyio::path d = co_await dir.make();
  auto f = co_await anyio::open_file((d / "z").str(), "w");
  co_await f.aclose();
  co_await f.aclose();
  bool refused = false;
  try {
    (void)co_await f.write("x");
  } catch (const anyio::closed_resource_error&) {
    refused = true;
  }
  CHECK(refused);
}
