// SPDX-License-Identifier: MIT
// Property test of the simulated filesystem's durability model: "after sync,
// a crash loses nothing; before, it loses at most the unsynced suffix".
// RapidCheck generates the sim seed, whether the crash tears, and a program
// of appends, file syncs (sync, sync_data) and directory syncs over two
// files; each case runs it on the simulator, crashes, and reads back. For
// each file: if its name was never made durable by a directory sync it is
// gone; otherwise what is left is its content at its last sync, followed by
// a prefix (empty without tearing) of what was appended after it.
#include "tests/properties/property_support.hpp"

#include <anyio/anyio.hpp>

#include <array>
#include <string>
#include <vector>

namespace {

enum class op_kind { append, sync, sync_data, sync_dir };

struct step {
  op_kind kind = op_kind::append;
  int file = 0;
  int length = 1;
};

struct outcome {
  std::array<std::string, 2> written{};   // everything appended
  std::array<std::string, 2> synced{};    // content at the last file sync
  std::array<bool, 2> name_durable{};     // a directory sync came after the create
  std::array<std::string, 2> after{};     // read back after the crash ("\x01" = missing)
};

anyio::task<> program(const std::vector<step>& steps, bool tear, outcome& out) {
  std::vector<anyio::async_file> files;
  for (int i = 0; i < 2; ++i)
    files.push_back(co_await anyio::open_file("/tmp/f" + std::to_string(i), "w"));
  int counter = 0;
  for (const step& s : steps) {
    const auto i = static_cast<std::size_t>(s.file);
    switch (s.kind) {
      case op_kind::append: {
        std::string data;
        for (int k = 0; k < s.length; ++k) data += static_cast<char>('a' + (counter++ % 26));
        (void)co_await files[i].write(data);
        out.written[i] += data;
        break;
      }
      case op_kind::sync:
      case op_kind::sync_data:
        if (s.kind == op_kind::sync)
          co_await files[i].sync();
        else
          co_await files[i].sync_data();
        out.synced[i] = out.written[i];
        break;
      case op_kind::sync_dir:
        co_await anyio::path("/tmp").sync();
        out.name_durable = {true, true};
        break;
    }
  }
  anyio::sim::crash_options co;
  co.tear = tear;
  (void)anyio::sim::crash_filesystem(co);
  for (std::size_t i = 0; i < 2; ++i) {
    const anyio::path p("/tmp/f" + std::to_string(i));
    const bool exists = co_await p.exists();
    out.after[i] = std::string("\x01");
    if (exists) out.after[i] = co_await p.read_bytes();
  }
}

}  // namespace

TEST_CASE("property: a crash keeps synced data and at most a prefix of the rest",
          "[property][file][sim]") {
  anyio_properties::check_property("file durability", 300, [] {
    const auto seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 30);
    const bool tear = *rc::gen::arbitrary<bool>();
    const auto steps = *rc::gen::container<std::vector<step>>(rc::gen::build<step>(
        rc::gen::set(&step::kind, rc::gen::element(op_kind::append, op_kind::append,
                                                   op_kind::sync, op_kind::sync_data,
                                                   op_kind::sync_dir)),
        rc::gen::set(&step::file, rc::gen::inRange(0, 2)),
        rc::gen::set(&step::length, rc::gen::inRange(1, 1500))));
    outcome out;
    anyio::sim::options opts;
    opts.seed = seed;
    anyio::sim::run([&]() -> anyio::task<> { co_await program(steps, tear, out); }, opts);
    for (std::size_t i = 0; i < 2; ++i) {
      if (!out.name_durable[i]) {
        RC_ASSERT(out.after[i] == std::string("\x01"));
        continue;
      }
      const std::string& after = out.after[i];
      // Nothing synced is lost ...
      RC_ASSERT(after.size() >= out.synced[i].size());
      RC_ASSERT(after.substr(0, out.synced[i].size()) == out.synced[i]);
      // ... and what is kept beyond it is a prefix of what was written.
      RC_ASSERT(after.size() <= out.written[i].size());
      RC_ASSERT(out.written[i].substr(0, after.size()) == after);
      if (!tear) RC_ASSERT(after == out.synced[i]);
    }
  });
}
