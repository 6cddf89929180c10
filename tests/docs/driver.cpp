// SPDX-License-Identifier: MIT
// Runs the functions defined by docs/testing-with-sim.md's snippets (the
// snippets themselves are compiled into this program by CMakeLists.txt), so
// the guide's replay, shrinking and cancellation examples do what it says.
#include <anyio/sim.hpp>
#include <anyio/testing/catch.hpp>

#include <filesystem>

void guide_record_and_replay(const std::string& path);
anyio::sim::schedule_stats guide_shrink(const std::string& dir);
bool guide_explore();

namespace {
std::string scratch() {
  auto dir = std::filesystem::temp_directory_path() / "anyio-guide";
  std::filesystem::create_directories(dir);
  return dir.string();
}
}  // namespace

TEST_CASE("guide: record and replay", "[guide]") {
  REQUIRE_NOTHROW(guide_record_and_replay(scratch() + "/replay.jsonl"));
}

TEST_CASE("guide: a lost deposit shrinks to one preemption", "[guide]") {
  REQUIRE(guide_shrink(scratch()).preemptions == 1);
}

TEST_CASE("guide: the careful consumer passes every cancel point", "[guide]") {
  REQUIRE(guide_explore());
}
