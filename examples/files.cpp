// SPDX-License-Identifier: MIT
// Tutorial, "Dealing with files": open_file works like Python's open() with
// `co_await` before each I/O call — write, read back, iterate lines — and
// anyio::path has the pathlib helpers (write_text, read_text, exists, stat,
// mkdir, iterdir, glob, rename, unlink, rmdir). On realio the calls run on
// worker threads; on the simulator (--sim-seed=N) they go to an in-memory
// filesystem, in virtual time.
//
// test-expect: wrote 3 lines
// test-expect: 1: apples
// test-expect: 3: cherries
// test-expect: notes.txt exists: yes, 6 bytes
// test-expect: \*.txt: fruit.txt notes.txt
// test-expect: after rename: fruit.txt renamed.txt
// test-expect: cleaned up
#include "example_main.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace {

anyio::task<> amain() {
  // A directory of our own (on the simulator, pid is whatever the run has).
  const anyio::path dir =
      anyio::path("/tmp") / ("anyio-files-example-" + std::to_string(::getpid()));
  co_await dir.mkdir({.parents = true, .exist_ok = true});

  // Write a file, then read it back whole.
  const anyio::path fruit = dir / "fruit.txt";
  {
    auto f = co_await anyio::open_file(fruit.str(), "w");
    (void)co_await f.write("apples\nbananas\ncherries\n");
    co_await f.aclose();
  }
  auto f = co_await anyio::open_file(fruit.str());
  const std::string all = co_await f.read();
  const auto lines = std::count(all.begin(), all.end(), '\n');
  std::printf("wrote %zu lines\n", static_cast<std::size_t>(lines));

  // Iterate over lines (each keeps its '\n', as in Python).
  (void)co_await f.seek(0);
  int n = 0;
  while (auto line = co_await f.next_line()) {
    line->pop_back();
    std::printf("%d: %s\n", ++n, line->c_str());
  }
  co_await f.aclose();

  // The path helpers.
  const anyio::path notes = dir / "notes.txt";
  co_await notes.write_text("hello\n");
  const bool there = co_await notes.exists();
  const anyio::file_stat st = co_await notes.stat();
  std::printf("notes.txt exists: %s, %llu bytes\n", there ? "yes" : "no",
              static_cast<unsigned long long>(st.size));
  std::string listed;
  for (const anyio::path& p : co_await dir.glob("*.txt")) listed += " " + p.name();
  std::printf("*.txt:%s\n", listed.c_str());
  (void)co_await notes.rename(dir / "renamed.txt");
  listed.clear();
  for (const anyio::path& p : co_await dir.iterdir()) listed += " " + p.name();
  std::printf("after rename:%s\n", listed.c_str());

  for (const anyio::path& p : co_await dir.iterdir()) co_await p.unlink();
  co_await dir.rmdir();
  const bool gone = !co_await dir.exists();
  std::printf(gone ? "cleaned up\n" : "still there\n");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
