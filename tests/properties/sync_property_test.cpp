// SPDX-License-Identifier: MIT
// Property test: lock, semaphore and capacity_limiter never lose or duplicate
// a token under cancellation. RapidCheck generates the primitive and its
// size, the workers, per-acquire deadlines, explicit cancel() strikes, run-time
// total_tokens changes and the sim seed; each case runs on the simulator.
// Invariants: the holders never exceed the tokens (one for a lock), an
// acquire either returned (and its task then holds a token it must give back)
// or raised `cancelled` having taken nothing, and at the end every token is
// back. Runs over at least 1,000 generated seeds (ANYIO_PROPERTY_CASES).
#include "tests/properties/property_support.hpp"

#include <anyio/anyio.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

enum class kind { lock, semaphore, limiter };

struct scenario {
  kind primitive = kind::lock;
  std::size_t tokens = 1;
  int workers = 1;
  int rounds = 1;
  std::vector<std::vector<int>> deadlines{};  ///< [worker][round] µs, -1 = none
  std::vector<std::vector<int>> holds{};      ///< [worker][round] µs held
  std::vector<std::pair<int, int>> strikes{};  ///< (time µs, worker)
  std::vector<std::pair<int, int>> resizes{};  ///< (time µs, new total): limiter only
  std::uint64_t seed = 0;
};

struct state {
  explicit state(const scenario& sc) : sem(sc.tokens, sc.tokens), limiter(sc.tokens) {}
  anyio::lock mutex;
  anyio::semaphore sem;  ///< bounded: a duplicated release would throw usage_error
  anyio::capacity_limiter limiter;
  std::vector<anyio::cancel_scope*> active;
  int holders = 0;
  int acquired = 0;
  int cancelled = 0;
  std::string failure;
};

int at(const std::vector<int>& v, int i, int fallback) {
  return i < static_cast<int>(v.size()) ? v[i] : fallback;
}

anyio::task<> acquire(const scenario& sc, state& st) {
  switch (sc.primitive) {
    case kind::lock:
      co_await st.mutex.acquire();
      break;
    case kind::semaphore:
      co_await st.sem.acquire();
      break;
    case kind::limiter:
      co_await st.limiter.acquire();
      break;
  }
}

void release(const scenario& sc, state& st) {
  switch (sc.primitive) {
    case kind::lock:
      st.mutex.release();
      break;
    case kind::semaphore:
      st.sem.release();
      break;
    case kind::limiter:
      st.limiter.release();
      break;
  }
}

std::size_t capacity(const scenario& sc, const state& st) {
  if (sc.primitive == kind::lock) return 1;
  if (sc.primitive == kind::semaphore) return sc.tokens;
  return st.limiter.total_tokens();
}

anyio::task<> worker(const scenario& sc, state& st, int w) {
  for (int round = 0; round < sc.rounds; ++round) {
    int deadline = at(sc.deadlines[w], round, -1);
    auto when = deadline >= 0 ? anyio::current_time() + std::chrono::microseconds(deadline)
                              : anyio::clock::time_point::max();
    anyio::cancel_scope scope(anyio::cancel_scope::options{.deadline = when});
    bool got = false;
    st.active[w] = &scope;
    co_await scope.run([&]() -> anyio::task<> {
      co_await acquire(sc, st);
      got = true;  // before any checkpoint: a later cancel cannot hide it
    });
    st.active[w] = nullptr;
    if (!got) {
      ++st.cancelled;
      continue;
    }
    ++st.acquired;
    // A limiter's total may drop below its borrowers; it never starts below them.
    if (sc.primitive != kind::limiter && static_cast<std::size_t>(++st.holders) > capacity(sc, st))
      st.failure += "more holders than tokens; ";
    if (sc.primitive == kind::limiter) ++st.holders;
    co_await anyio::sleep(std::chrono::microseconds(at(sc.holds[w], round, 0)));
    --st.holders;
    release(sc, st);
  }
}

anyio::task<> chaos(const scenario& sc, state& st) {
  std::size_t s = 0, r = 0;
  while (s < sc.strikes.size() || r < sc.resizes.size()) {
    bool strike = r == sc.resizes.size() ||
                  (s < sc.strikes.size() && sc.strikes[s].first <= sc.resizes[r].first);
    int time = strike ? sc.strikes[s].first : sc.resizes[r].first;
    co_await anyio::sleep_until(anyio::clock::time_point(std::chrono::microseconds(time)));
    if (strike) {
      if (anyio::cancel_scope* scope = st.active[sc.strikes[s].second]) scope->cancel();
      ++s;
    } else {
      st.limiter.set_total_tokens(static_cast<std::size_t>(sc.resizes[r].second));
      ++r;
    }
  }
}

std::string run_scenario(const scenario& sc) {
  state st(sc);
  st.active.assign(sc.workers, nullptr);
  auto amain = [&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int w = 0; w < sc.workers; ++w) tg.start_soon(worker, std::cref(sc), std::ref(st), w);
      tg.start_soon(chaos, std::cref(sc), std::ref(st));
      co_return;
    });
  };
  anyio::sim::options opts;
  opts.seed = sc.seed;
  opts.max_steps = 2'000'000;
  std::ostringstream why;
  try {
    anyio::sim::run(amain, opts);
  } catch (...) {
    why << "run failed: " << anyio::describe_exception(std::current_exception()) << "; ";
  }
  why << st.failure;
  if (st.acquired + st.cancelled != sc.workers * sc.rounds) why << "an acquire went missing; ";
  if (st.mutex.locked() || st.mutex.statistics().tasks_waiting != 0) why << "lock not free; ";
  if (sc.primitive == kind::semaphore && st.sem.value() != sc.tokens) why << "semaphore leaked; ";
  if (st.limiter.borrowed_tokens() != 0 || st.limiter.statistics().tasks_waiting != 0)
    why << "limiter leaked; ";
  return why.str();
}

scenario generate() {
  scenario sc;
  sc.primitive = *rc::gen::element(kind::lock, kind::semaphore, kind::limiter);
  sc.tokens = sc.primitive == kind::lock ? 1 : *rc::gen::inRange<std::size_t>(1, 4);
  sc.workers = *rc::gen::inRange(1, 7);
  sc.rounds = *rc::gen::inRange(1, 12);
  auto deadline = rc::gen::weightedOneOf<int>(
      {{3, rc::gen::just(-1)}, {1, rc::gen::just(0)}, {4, rc::gen::inRange(1, 30)}});
  for (int w = 0; w < sc.workers; ++w) {
    sc.deadlines.push_back(*rc::gen::container<std::vector<int>>(sc.rounds, deadline));
    sc.holds.push_back(
        *rc::gen::container<std::vector<int>>(sc.rounds, rc::gen::element(0, 0, 1, 3, 10)));
  }
  sc.strikes = *rc::gen::resize(20, rc::gen::container<std::vector<std::pair<int, int>>>(
                                        rc::gen::pair(rc::gen::inRange(0, 200),
                                                      rc::gen::inRange(0, sc.workers))));
  std::sort(sc.strikes.begin(), sc.strikes.end());
  if (sc.primitive == kind::limiter) {
    sc.resizes = *rc::gen::resize(6, rc::gen::container<std::vector<std::pair<int, int>>>(
                                         rc::gen::pair(rc::gen::inRange(0, 200),
                                                       rc::gen::inRange(1, 5))));
    std::sort(sc.resizes.begin(), sc.resizes.end());
  }
  sc.seed = *rc::gen::arbitrary<std::uint64_t>();
  return sc;
}

}  // namespace

TEST_CASE("property: lock, semaphore, capacity_limiter lose no token under cancellation",
          "[property][sync]") {
  anyio_properties::check_property("no token lost under cancellation", 1000, [] {
    scenario sc = generate();
    RC_ASSERT(run_scenario(sc) == "");
  });
}
