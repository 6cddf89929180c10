// SPDX-License-Identifier: MIT
// A debug build (NDEBUG unset; tests/api_checks/CMakeLists.txt compiles this
// program so whatever the build type) reports a scope made by move_on_after
// & co. that is destroyed without being entered — trio's `with
// move_on_after(...)` translated line for line — and aborts, naming the
// line that made it. The ctest entries run each mode and match its output.
// Usage: unentered_scope_probe MODE, MODE one of
//   realio-move-on   an unentered move_on_after under anyio::run (reported)
//   sim-fail-after   an unentered fail_after under sim::run (reported)
//   fine             entered scopes, one skipped by an exception (silent)
#include <anyio/anyio.hpp>
#include <anyio/sim.hpp>

#include <cstdio>
#include <cstring>

using namespace std::chrono_literals;

namespace {

anyio::task<int> literal_translation() {
  auto scope = anyio::move_on_after(100ms);  // line 22: the report names it
  co_await anyio::sleep(200ms);
  co_return 1;
}

anyio::task<int> unentered_fail_after() {
  auto scope = anyio::fail_after(100ms);  // line 28
  co_await anyio::sleep(2s);
  co_return 1;
}

anyio::task<int> fine() {
  auto scope = anyio::move_on_after(100ms);
  co_await scope.run(anyio::sleep(2s));
  int caught = 0;
  try {
    auto skipped = anyio::move_on_after(1s);  // an exception unwinds past it
    co_await anyio::fail_after(1ms).run(anyio::sleep(1s));
    co_await skipped.run(anyio::sleep(0s));
  } catch (const anyio::timeout_error&) {
    caught = 1;
  }
  co_return scope.cancelled_caught() && caught == 1 ? 0 : 1;
}

}  // namespace

int main(int argc, char* argv[]) {
#ifdef NDEBUG
  std::puts("built with NDEBUG: the check this probe tests is compiled out");
  return 1;
#endif
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "realio-move-on") == 0) return anyio::run(literal_translation);
  if (std::strcmp(mode, "sim-fail-after") == 0)
    return anyio::sim::run(unentered_fail_after, {.seed = 1});
  if (std::strcmp(mode, "fine") == 0) {
    int rc = anyio::run(fine) + anyio::sim::run(fine, {.seed = 1});
    std::puts(rc == 0 ? "fine: no report" : "fine: wrong outcome");
    return rc;
  }
  std::fprintf(stderr, "usage: unentered_scope_probe realio-move-on|sim-fail-after|fine\n");
  return 2;
}
