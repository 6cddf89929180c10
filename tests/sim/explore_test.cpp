// SPDX-License-Identifier: MIT
// Systematic cancellation: explore_cancellation catches a channel consumer
// whose cancellation loses a message and a cleanup that cancellation skips,
// while the library's own channels and primitives pass at every point.
#include <anyio/memory_stream.hpp>
#include <anyio/sync.hpp>
#include <anyio/testing/catch.hpp>

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

// Messages a consumer has processed, and what is still in its channel.
struct ledger {
  int processed = 0;
  std::size_t left = 0;
  void check(int sent) const {
    if (processed + static_cast<int>(left) != sent)
      throw std::logic_error("lost " + std::to_string(sent - processed - static_cast<int>(left)) +
                             " of " + std::to_string(sent) + " messages");
  }
} book;

constexpr int messages = 5;

// Receives, then "processes" (a cancellable wait), then records: cancelled
// in between, the message is gone from the channel and never recorded.
anyio::task<> consume(anyio::memory_object_receive_stream<int>& rx, bool record_first) {
  while (auto v = co_await rx.next()) {
    if (record_first) ++book.processed;
    co_await anyio::sleep(1ms);
    if (!record_first) ++book.processed;
  }
}

anyio::task<> pipeline(bool record_first) {
  auto s = anyio::create_memory_object_stream<int>(messages);
  for (int i = 0; i < messages; ++i) (void)s.send.try_send(i);
  s.send.close();
  std::exception_ptr cancelled;
  try {
    co_await consume(s.receive, record_first);
  } catch (const anyio::cancelled&) {
    cancelled = std::current_exception();
  }
  book.left = s.receive.statistics().current_buffer_used;
  if (cancelled) std::rethrow_exception(cancelled);
}

anyio::sim::explore_options ledger_options(const char* name) {
  anyio::sim::explore_options o;
  o.test_name = name;
  o.reset = [] { book = {}; };
  o.invariant = [] { book.check(messages); };
  return o;
}

}  // namespace

TEST_CASE("explore_cancellation: a consumer that loses a message is caught", "[sim][explore]") {
  auto r = anyio::sim::explore_cancellation([] { return pipeline(false); },
                                            ledger_options("lossy consumer"));
  INFO(r.report());
  REQUIRE(r.points > messages);
  REQUIRE_FALSE(r.passed());
  CHECK_THAT(r.failures.front().problem, Catch::Contains("invariant violated: lost 1 of 5"));
  CHECK(r.failures.front().target == "the outermost scope");
  CHECK(r.runs == r.points + 1);
}

TEST_CASE("explore_cancellation: the library's channel loses nothing", "[sim][explore]") {
  auto opts = ledger_options("careful consumer");
  opts.per_task = true;
  auto r = anyio::sim::explore_cancellation([] { return pipeline(true); }, opts);
  INFO(r.report());
  REQUIRE(r.points > messages);
  REQUIRE(r.passed());
}

namespace {
bool resource_held = false;

// Takes a resource and gives it back in a cleanup after cancellation; the
// buggy version does the async cleanup outside a shield, so the cleanup's
// own checkpoint raises `cancelled` again and the release never happens.
anyio::task<> hold_resource(bool shielded) {
  resource_held = true;
  std::exception_ptr cancelled;
  try {
    co_await anyio::sleep(10ms);
  } catch (const anyio::cancelled&) {
    cancelled = std::current_exception();
  }
  auto release = []() -> anyio::task<> {
    co_await anyio::sleep(1ms);  // e.g. telling a peer we are done
    resource_held = false;
  };
  if (shielded) {
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run(release);
  } else {
    co_await release();
  }
  if (cancelled) std::rethrow_exception(cancelled);
}
}  // namespace

TEST_CASE("explore_cancellation: a cleanup that cancellation skips is caught", "[sim][explore]") {
  anyio::sim::explore_options opts;
  opts.reset = [] { resource_held = false; };
  opts.invariant = [] {
    if (resource_held) throw std::logic_error("resource still held");
  };
  auto bad = anyio::sim::explore_cancellation([] { return hold_resource(false); }, opts);
  INFO(bad.report());
  REQUIRE_FALSE(bad.passed());
  CHECK_THAT(bad.report(), Catch::Contains("resource still held"));
  auto good = anyio::sim::explore_cancellation([] { return hold_resource(true); }, opts);
  INFO(good.report());
  REQUIRE(good.passed());
}

TEST_CASE("explore_cancellation: primitives give back what they hold", "[sim][explore]") {
  auto body = []() -> anyio::task<> {
    anyio::lock m;
    anyio::semaphore s(2);
    anyio::capacity_limiter l(1);
    std::exception_ptr error;
    try {
      co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        for (int i = 0; i < 3; ++i)
          tg.start_soon([&]() -> anyio::task<> {
            auto a = co_await m.guard();
            auto b = co_await s.guard();
            auto c = co_await l.guard();
            co_await anyio::sleep(1ms);
          });
        co_return;
      });
    } catch (...) {
      error = std::current_exception();
    }
    // Nothing may still be held, whatever was cancelled.
    if (m.statistics().locked) throw std::logic_error("lock still held");
    if (s.value() != 2) throw std::logic_error("semaphore lost a unit");
    if (l.borrowed_tokens() != 0) throw std::logic_error("limiter token still borrowed");
    if (error) std::rethrow_exception(error);
  };
  anyio::sim::explore_options opts;
  opts.per_task = true;
  auto r = anyio::sim::explore_cancellation(body, opts);
  INFO(r.report());
  REQUIRE(r.points > 10);
  REQUIRE(r.passed());
}

TEST_CASE("explore_cancellation: a body that fails on its own is refused", "[sim][explore]") {
  auto body = []() -> anyio::task<> {
    co_await anyio::checkpoint();
    throw std::runtime_error("broken already");
  };
  REQUIRE_THROWS_WITH(anyio::sim::explore_cancellation(body),
                      Catch::Contains("fails without any cancellation"));
}
