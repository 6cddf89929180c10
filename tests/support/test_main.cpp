// SPDX-License-Identifier: MIT
// main() for test programs linked with anyio::testing: records argv[0] for
// rerun commands, then hands over to Catch2. A program that defines its own
// main() simply does not pull this object in from the static library.
#define CATCH_CONFIG_RUNNER
#include <anyio/testing/catch.hpp>

int main(int argc, char* argv[]) {
  if (argc > 0) anyio::testing::set_program_path(argv[0]);
  return Catch::Session().run(argc, argv);
}
