// SPDX-License-Identifier: MIT
// Pins the safe form of a g++ 12 miscompilation (DESIGN.md, "Toolchain
// pitfalls"): a lambda with by-value captures that have destructors, written
// *inside* a co_await expression — co_await anyio::with_task_group([s =
// std::string("x")](...) -> anyio::task<> {...}) — has its closure temporary
// destroyed twice on g++ 12 (2 constructions, 3 destructions: undefined
// behaviour, so no test here triggers it). Naming the lambda before the
// co_await and moving it in is the form library code, docs and examples use;
// these cases prove that form constructs and destroys in balance.
#include <anyio/testing/catch.hpp>

#include <string>
#include <utility>

namespace {

// Counts every construction and destruction of itself and its copies.
struct lifetime_probe {
  struct counts {
    int constructed = 0;
    int destroyed = 0;
  };
  counts* c;
  explicit lifetime_probe(counts* target) : c(target) { ++c->constructed; }
  lifetime_probe(const lifetime_probe& o) : c(o.c) { ++c->constructed; }
  lifetime_probe(lifetime_probe&& o) noexcept : c(o.c) { ++c->constructed; }
  lifetime_probe& operator=(const lifetime_probe&) = delete;
  ~lifetime_probe() { ++c->destroyed; }
};

}  // namespace

ANYIO_TEST_CASE("g++ pitfall: a named by-value lambda passed to with_task_group is balanced",
                "[pitfall]") {
  lifetime_probe::counts counts;
  std::string seen_by_child;
  {
    // Named before the co_await: NOT `co_await anyio::with_task_group([s = ...](...) ...)`,
    // which g++ 12 destroys twice.
    auto body = [label = std::string("a capture long enough to live on the heap"),
                 probe = lifetime_probe(&counts),
                 out = &seen_by_child](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([label, out]() -> anyio::task<> {
        co_await anyio::checkpoint();
        *out = label;
      });
      co_await anyio::checkpoint();
    };
    REQUIRE(counts.constructed == 1);
    co_await anyio::with_task_group(std::move(body));
    REQUIRE(counts.constructed - counts.destroyed == 1);  // only `body` itself is alive
  }
  REQUIRE(counts.constructed == counts.destroyed);
  REQUIRE(counts.constructed >= 2);  // moved into the callee's frame at least once
  REQUIRE(seen_by_child == "a capture long enough to live on the heap");
}

ANYIO_TEST_CASE("g++ pitfall: a named by-value lambda passed to cancel_scope::run is balanced",
                "[pitfall]") {
  lifetime_probe::counts counts;
  std::string copy;
  {
    auto body = [label = std::string("scope body capture, also heap allocated"),
                 probe = lifetime_probe(&counts), out = &copy]() -> anyio::task<> {
      co_await anyio::checkpoint();
      *out = label;
    };
    anyio::cancel_scope scope;
    co_await scope.run(std::move(body));
  }
  REQUIRE(counts.constructed == counts.destroyed);
  REQUIRE(copy == "scope body capture, also heap allocated");
}
