// SPDX-License-Identifier: MIT
// main() for test programs linked with anyio::testing: takes the --anyio-*
// options out of argv (see <anyio/testing/catch.hpp>; --anyio-help lists
// them, and --help lists them after Catch2's own), records argv[0] for
// rerun commands, hands over to Catch2 — with a filter that matches no test
// case made an error — and lets the harness finish (a sweep's summary and
// JSON, a trace that no test case used). A program that defines its own
// main() does not pull this object in from the library.
#define CATCH_CONFIG_RUNNER
#include <anyio/testing/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

// Runs only when selected by its hidden tag, as --anyio-regressions does.
// A filter on the command line selects whose traces replay, the way it
// selects test cases.
TEST_CASE("anyio: replay regression traces", "[.anyio-regressions]") {
  const std::string& dir = anyio::testing::mode().regressions_dir;
  REQUIRE_FALSE(dir.empty());
  const std::vector<std::string>& filters = anyio::testing::mode().regression_filters;
  Catch::TestSpecParser parser(Catch::ITagAliasRegistry::get());
  for (const std::string& f : filters) parser.parse(f);
  const Catch::TestSpec spec = parser.testSpec();
  auto selected = [&](const std::string& name) {
    for (const Catch::TestCase& tc : Catch::getRegistryHub().getTestCaseRegistry().getAllTests())
      if (tc.name == name) return spec.matches(tc);
    return false;
  };
  std::size_t n = anyio::testing::replay_regressions(
      dir, filters.empty() ? std::function<bool(const std::string&)>{} : selected);
  std::printf("anyio: replayed %zu regression trace(s) from %s\n", n, dir.c_str());
  if (!filters.empty() && n == 0) {
    std::string f;
    for (const std::string& s : filters) f += (f.empty() ? "'" : ", '") + s + "'";
    // On a line of its own too: Catch2 wraps its message mid-path.
    std::fprintf(stderr,
                 "anyio: --anyio-regressions %s: no trace belongs to a test case matching %s\n",
                 dir.c_str(), f.c_str());
    FAIL("no regression trace in " << dir << " belongs to a test case matching " << f);
  }
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
  if (mode.help) {
    anyio::testing::print_harness_help(stdout);
    return 0;
  }
  Catch::Session session;
  if (int rc = session.applyCommandLine(n, args.data()); rc != 0) return rc;
  Catch::ConfigData& config = session.configData();
  if (config.showHelp) {  // Catch2 printed its own options
    anyio::testing::print_harness_help(stdout);
    return 0;
  }
  if (!mode.regressions_dir.empty()) {
    // The filter picks whose traces replay; Catch2 runs the replaying case.
    mode.regression_filters = config.testsOrTags;
    config.testsOrTags = {"[.anyio-regressions]"};
  }
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings |
                                                        Catch::WarnAbout::NoTests);
  if (mode.sweep && mode.max_failures == 0 && config.abortAfter > 0)
    mode.max_failures = static_cast<std::uint64_t>(config.abortAfter);
  return anyio::testing::finish_harness(session.run());
}
