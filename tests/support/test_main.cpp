// SPDX-License-Identifier: MIT
// main() for test programs linked with anyio::testing: takes the --anyio-*
// options out of argv (see <anyio/testing/catch.hpp>), records argv[0] for
// rerun commands, counts failed assertions for the harness, hands over to
// Catch2, and writes the sweep summary (--json) at the end. A program that
// defines its own main() does not pull this object in from the library.
#define CATCH_CONFIG_RUNNER
#include <anyio/testing/catch.hpp>

#include <cstdio>
#include <fstream>
#include <vector>

namespace {

struct failure_counter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) ++anyio::testing::failed_assertions();
    return true;
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(failure_counter)

// Runs only when selected by its hidden tag, as --anyio-regressions does.
TEST_CASE("anyio: replay regression traces", "[.anyio-regressions]") {
  const std::string& dir = anyio::testing::mode().regressions_dir;
  REQUIRE_FALSE(dir.empty());
  std::size_t n = anyio::testing::replay_regressions(dir);
  std::printf("anyio: replayed %zu regression trace(s) from %s\n", n, dir.c_str());
}

int main(int argc, char* argv[]) {
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  int n = argc;
  try {
    anyio::testing::parse_harness_args(n, args.data());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "test", e.what());
    return 2;
  }
  if (n > 0) anyio::testing::set_program_path(args[0]);
  auto& mode = anyio::testing::mode();
  std::vector<char*> catch_args(args.begin(), args.begin() + n);
  static char regressions_tag[] = "[.anyio-regressions]";
  if (!mode.regressions_dir.empty()) catch_args.push_back(regressions_tag);
  int rc = Catch::Session().run(static_cast<int>(catch_args.size()), catch_args.data());
  if (mode.sweep && !mode.json_out.empty()) {
    auto& totals = anyio::testing::sweep_totals();
    totals.first_seed = mode.seeds.first;
    totals.seed_count = mode.seeds.count;
    totals.shard = mode.shard;
    totals.strategy = anyio::sim::to_string(mode.strategy);
    std::ofstream out(mode.json_out);
    out << totals.to_json() << "\n";
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", mode.json_out.c_str());
      return 2;
    }
  }
  return rc;
}
