// SPDX-License-Identifier: MIT
// Conformance: anyio::task<T> — lazy start, values and exceptions through
// co_await, move-only ownership, one await per task, and symmetric transfer
// (a chain of 100,000 nested awaits must not grow the machine stack). Tasks
// are awaited inline in the calling kernel task, so every case here runs the
// same on realio and on sim; the scheduler is only involved at checkpoints.
// Never write REQUIRE(co_await x): Catch2 repeats the expression inside a
// `while (false && ...)` and g++ 12 evaluates a co_await there anyway, so the
// await runs twice; bind the result to a local first.
#include <anyio/testing/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

using namespace std::chrono_literals;

namespace {

// Reference parameters are safe here only because every caller awaits the
// task while the referenced local is alive (CP.53).
anyio::task<int> mark_and_return(bool& ran, int value) {
  ran = true;
  co_return value;
}

anyio::task<std::unique_ptr<std::string>> make_owned(std::string text) {
  co_await anyio::checkpoint();
  co_return std::make_unique<std::string>(std::move(text));
}

anyio::task<> throw_after_checkpoint(std::string message) {
  co_await anyio::checkpoint();
  throw std::runtime_error(message);
}

anyio::task<int> rethrow_through(int depth) {
  if (depth == 0) {
    co_await throw_after_checkpoint("deep failure");
    co_return 0;
  }
  co_return co_await rethrow_through(depth - 1) + 1;
}

// If handing over to an awaited task, and back, cost a resume() call on the
// machine stack, 100,000 levels would overflow an 8 MiB stack. (g++ 12 does
// not turn symmetric transfer into a tail call at -O0/-O1 or under ASan;
// task.hpp's resume_flat loop keeps the stack flat regardless.)
anyio::task<std::uint64_t> nested_sum(std::uint64_t n) {
  if (n == 0) co_return 0;
  co_return n + co_await nested_sum(n - 1);
}

anyio::task<int> one() { co_return 1; }

}  // namespace

static_assert(!std::is_copy_constructible_v<anyio::task<int>>);
static_assert(!std::is_copy_assignable_v<anyio::task<int>>);
static_assert(std::is_nothrow_move_constructible_v<anyio::task<int>>);
static_assert(std::is_nothrow_move_assignable_v<anyio::task<>>);

ANYIO_TEST_CASE("task: lazy, nothing runs before the first co_await", "[task]") {
  bool ran = false;
  anyio::task<int> t = mark_and_return(ran, 5);
  REQUIRE_FALSE(ran);
  co_await anyio::checkpoint();  // other tasks and the scheduler run: still not started
  co_await anyio::sleep(1ms);
  REQUIRE_FALSE(ran);
  int v = co_await std::move(t);
  REQUIRE(ran);
  REQUIRE(v == 5);
}

ANYIO_TEST_CASE("task: a task never awaited never runs", "[task]") {
  bool ran = false;
  {
    anyio::task<int> t = mark_and_return(ran, 1);
    REQUIRE(t.valid());
  }  // destroyed unstarted: the frame is freed without running the body
  co_await anyio::checkpoint();
  REQUIRE_FALSE(ran);
}

ANYIO_TEST_CASE("task: returns values, including move-only ones", "[task]") {
  bool ran = false;
  int v = co_await mark_and_return(ran, 41);
  REQUIRE(v + 1 == 42);
  std::unique_ptr<std::string> owned = co_await make_owned("payload");
  REQUIRE(owned != nullptr);
  REQUIRE(*owned == "payload");
}

ANYIO_TEST_CASE("task: exceptions propagate through every level of awaits", "[task]") {
  std::string caught;
  try {
    (void)co_await rethrow_through(50);
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
  REQUIRE(caught == "deep failure");
  co_await anyio::checkpoint();  // the task is still usable after the exception
}

ANYIO_TEST_CASE("task: move-only, the moved-to task runs, the moved-from one is empty",
                "[task]") {
  bool ran = false;
  anyio::task<int> a = mark_and_return(ran, 9);
  anyio::task<int> b = std::move(a);
  REQUIRE_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  REQUIRE(b.valid());
  std::string message;
  try {
    (void)co_await a;
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE_FALSE(ran);
  REQUIRE(message.find("empty anyio::task") != std::string::npos);
  anyio::task<int> c;
  c = std::move(b);
  int v = co_await c;
  REQUIRE(v == 9);
  REQUIRE(ran);
}

ANYIO_TEST_CASE("task: awaiting a finished task again is a usage_error", "[task][misuse]") {
  bool ran = false;
  anyio::task<int> t = mark_and_return(ran, 3);
  int first = co_await t;
  REQUIRE(first == 3);
  ran = false;
  std::string message;
  try {
    (void)co_await t;
  } catch (const anyio::usage_error& e) {
    message = e.what();
  }
  REQUIRE(message.find("awaited twice") != std::string::npos);
  REQUIRE_FALSE(ran);  // the body did not run a second time
}

ANYIO_TEST_CASE("task: 100,000 nested awaits do not overflow the stack", "[task]") {
  constexpr std::uint64_t depth = 100'000;
  std::uint64_t sum = co_await nested_sum(depth);
  REQUIRE(sum == depth * (depth + 1) / 2);
}

// Sequential awaits that never suspend to the kernel: without a flat hand-
// over each await would leave a resume() frame behind until the next real
// suspension, and a million of them overflow the stack (seen on g++ -O0).
ANYIO_TEST_CASE_WITH("task: a million sequential awaits run on a flat stack", "[task]",
                     {.seeds = 3}) {
  long sum = 0;
  for (int i = 0; i < 1'000'000; ++i) sum += co_await one();
  REQUIRE(sum == 1'000'000);
}
