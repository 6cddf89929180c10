// SPDX-License-Identifier: MIT
// Property tests: memory object streams are atomic with respect to
// cancellation. RapidCheck generates producer/consumer counts, the buffer
// size (0, small, unbounded), per-operation move_on_after deadlines, explicit
// cancel() strikes at generated times and the sim seed and strategy; each
// case runs on the simulator. Whatever is cancelled: a send that returned was
// received exactly once, a send that raised `cancelled` was never received,
// and each consumer sees each producer's values in order. Each property runs
// over at least 1,000 generated seeds (ANYIO_PROPERTY_CASES overrides).
#include "tests/properties/property_support.hpp"

#include <anyio/anyio.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct scenario {
  int producers = 1;
  int consumers = 1;
  std::size_t buffer = 0;
  int per_producer = 1;
  /// Per worker (producers first): deadline of its k-th operation in µs, or
  /// -1 for none; operations past the end of the list are never cancelled.
  std::vector<std::vector<int>> deadlines{};
  std::vector<std::vector<int>> pauses{};  ///< µs slept before the k-th operation
  std::vector<std::pair<int, int>> strikes{};  ///< (time µs, worker): cancel its operation
  std::uint64_t seed = 0;
  anyio::sim::strategy strategy = anyio::sim::strategy::random;
};

enum class outcome { pending, sent, cancelled };

struct results {
  std::vector<std::vector<outcome>> sends;  ///< [producer][index]
  std::vector<std::vector<int>> received;   ///< [consumer] values in receive order
  anyio::memory_object_stream_statistics end_stats{};
  std::string failure{};
};

int encode(int producer, int index) { return producer * 10000 + index; }

int list_at(const std::vector<int>& v, std::size_t k, int fallback) {
  return k < v.size() ? v[k] : fallback;
}

/// One operation of worker `w`, inside its own scope (deadline from the
/// scenario) that the strike task may also cancel.
template <class Body>
anyio::task<bool> guarded(const scenario& sc, std::vector<anyio::cancel_scope*>& active, int w,
                          std::size_t k, Body body) {
  int pause = list_at(sc.pauses[w], k, 0);
  if (pause > 0) co_await anyio::sleep(std::chrono::microseconds(pause));
  int deadline = list_at(sc.deadlines[w], k, -1);
  auto when = deadline >= 0 ? anyio::current_time() + std::chrono::microseconds(deadline)
                            : anyio::clock::time_point::max();
  anyio::cancel_scope scope(anyio::cancel_scope::options{.deadline = when});
  active[w] = &scope;
  co_await scope.run(std::move(body));
  active[w] = nullptr;
  co_return scope.cancelled_caught();
}

anyio::task<> producer(const scenario& sc, results& r, std::vector<anyio::cancel_scope*>& active,
                       anyio::memory_object_send_stream<int> tx, int p) {
  for (int i = 0; i < sc.per_producer; ++i) {
    outcome& out = r.sends[p][i];
    auto body = [&]() -> anyio::task<> {
      co_await tx.send(encode(p, i));
      out = outcome::sent;  // before any checkpoint: a later cancel cannot hide it
    };
    bool caught = co_await guarded(sc, active, p, i, body);
    if (out != outcome::sent) {
      if (!caught) r.failure += "a send neither returned nor was cancelled; ";
      out = outcome::cancelled;
    }
  }
}

anyio::task<> consumer(const scenario& sc, results& r, std::vector<anyio::cancel_scope*>& active,
                       anyio::memory_object_receive_stream<int> rx, int c) {
  const int w = sc.producers + c;
  for (std::size_t k = 0;; ++k) {
    bool ended = false;
    auto body = [&]() -> anyio::task<> {
      std::optional<int> v = co_await rx.next();
      if (v)
        r.received[c].push_back(*v);
      else
        ended = true;
    };
    co_await guarded(sc, active, w, k, body);
    if (ended) co_return;
  }
}

anyio::task<> striker(const scenario& sc, std::vector<anyio::cancel_scope*>& active) {
  for (auto [at, w] : sc.strikes) {
    co_await anyio::sleep_until(anyio::clock::time_point(std::chrono::microseconds(at)));
    if (anyio::cancel_scope* s = active[w]) s->cancel();
  }
}

results run_scenario(const scenario& sc) {
  results r;
  r.sends.assign(sc.producers, std::vector<outcome>(sc.per_producer, outcome::pending));
  r.received.resize(sc.consumers);
  std::vector<anyio::cancel_scope*> active(sc.producers + sc.consumers, nullptr);
  auto amain = [&]() -> anyio::task<> {
    auto streams = anyio::create_memory_object_stream<int>(sc.buffer);
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int p = 0; p < sc.producers; ++p)
        tg.start_soon(producer, std::cref(sc), std::ref(r), std::ref(active),
                      streams.send.clone(), p);
      for (int c = 0; c < sc.consumers; ++c)
        tg.start_soon(consumer, std::cref(sc), std::ref(r), std::ref(active),
                      streams.receive.clone(), c);
      streams.send.close();
      tg.start_soon(striker, std::cref(sc), std::ref(active));
      co_return;
    });
    r.end_stats = streams.receive.statistics();
  };
  anyio::sim::options opts;
  opts.seed = sc.seed;
  opts.strategy = sc.strategy;
  opts.max_steps = 2'000'000;
  try {
    anyio::sim::run(amain, opts);
  } catch (...) {
    r.failure += "run failed: " + anyio::describe_exception(std::current_exception());
  }
  return r;
}

/// The checks shared by every property; returns "" or what went wrong.
std::string check(const scenario& sc, const results& r) {
  std::ostringstream why;
  why << r.failure;
  std::map<int, int> times_received;
  for (int c = 0; c < sc.consumers; ++c) {
    std::map<int, int> last_index;  // per producer: values must arrive in order
    for (int v : r.received[c]) {
      ++times_received[v];
      int p = v / 10000, i = v % 10000;
      if (p >= sc.producers || i >= sc.per_producer) why << "garbage value " << v << "; ";
      auto it = last_index.find(p);
      if (it != last_index.end() && it->second >= i)
        why << "consumer " << c << " got producer " << p << "'s " << i << " after "
            << it->second << "; ";
      last_index[p] = i;
    }
  }
  for (int p = 0; p < sc.producers; ++p)
    for (int i = 0; i < sc.per_producer; ++i) {
      int n = times_received[encode(p, i)];
      outcome o = r.sends[p][i];
      if (o == outcome::sent && n != 1)
        why << "sent value " << encode(p, i) << " received " << n << " times; ";
      if (o == outcome::cancelled && n != 0)
        why << "cancelled send " << encode(p, i) << " was received; ";
      if (o == outcome::pending) why << "send " << encode(p, i) << " never finished; ";
    }
  if (r.end_stats.current_buffer_used != 0 || r.end_stats.tasks_waiting_send != 0 ||
      r.end_stats.tasks_waiting_receive != 0)
    why << "stream not drained at the end; ";
  return why.str();
}

struct generate_options {
  bool cancel_sends = true;
  bool cancel_receives = true;
  bool strikes = true;
};

scenario generate(generate_options g) {
  scenario sc;
  sc.producers = *rc::gen::inRange(1, 5);
  sc.consumers = *rc::gen::inRange(1, 5);
  sc.buffer = *rc::gen::elementOf(std::vector<std::size_t>{0, 0, 1, 2, 3, anyio::unbounded});
  sc.per_producer = *rc::gen::inRange(1, 25);
  const int workers = sc.producers + sc.consumers;
  for (int w = 0; w < workers; ++w) {
    bool cancellable = w < sc.producers ? g.cancel_sends : g.cancel_receives;
    auto deadline = rc::gen::weightedOneOf<int>(
        {{3, rc::gen::just(-1)}, {1, rc::gen::just(0)}, {4, rc::gen::inRange(1, 40)}});
    std::vector<int> deadlines;
    if (cancellable)
      deadlines = *rc::gen::resize(30, rc::gen::container<std::vector<int>>(deadline));
    sc.deadlines.push_back(std::move(deadlines));
    sc.pauses.push_back(*rc::gen::resize(
        30, rc::gen::container<std::vector<int>>(rc::gen::element(0, 0, 0, 1, 5, 20))));
  }
  if (g.strikes) {
    auto victims = g.cancel_sends && g.cancel_receives
                       ? rc::gen::inRange(0, workers)
                       : g.cancel_sends ? rc::gen::inRange(0, sc.producers)
                                        : rc::gen::inRange(sc.producers, workers);
    sc.strikes = *rc::gen::resize(
        20, rc::gen::container<std::vector<std::pair<int, int>>>(
                rc::gen::pair(rc::gen::inRange(0, 400), victims)));
    std::sort(sc.strikes.begin(), sc.strikes.end());
  }
  sc.seed = *rc::gen::arbitrary<std::uint64_t>();
  sc.strategy = *rc::gen::element(anyio::sim::strategy::random, anyio::sim::strategy::pct);
  return sc;
}

}  // namespace

TEST_CASE("property: a cancelled send delivers nothing", "[property][memory_stream]") {
  anyio_properties::check_property("cancelled send delivers nothing", 1000, [] {
    scenario sc = generate({.cancel_sends = true, .cancel_receives = false, .strikes = true});
    results r = run_scenario(sc);
    RC_ASSERT(check(sc, r) == "");
  });
}

TEST_CASE("property: a cancelled receive consumes nothing", "[property][memory_stream]") {
  anyio_properties::check_property("cancelled receive consumes nothing", 1000, [] {
    scenario sc = generate({.cancel_sends = false, .cancel_receives = true, .strikes = true});
    results r = run_scenario(sc);
    RC_ASSERT(check(sc, r) == "");
    for (auto& sends : r.sends)
      for (outcome o : sends) RC_ASSERT(o == outcome::sent);  // nothing cancelled them
  });
}

TEST_CASE("property: P producers, C consumers, anything cancelled: each sent value once, "
          "in order",
          "[property][memory_stream]") {
  anyio_properties::check_property("exactly once under cancellation", 1000, [] {
    scenario sc = generate({});
    results r = run_scenario(sc);
    RC_ASSERT(check(sc, r) == "");
    int cancelled = 0;
    for (auto& sends : r.sends)
      cancelled += static_cast<int>(std::count(sends.begin(), sends.end(), outcome::cancelled));
    RC_CLASSIFY(cancelled == 0, "no send cancelled");
    RC_CLASSIFY(cancelled > 0, "some sends cancelled");
    if (sc.consumers == 1) {
      // One consumer: it sees exactly the successful sends, each producer in order.
      std::map<int, std::vector<int>> seen;
      for (int v : r.received[0]) seen[v / 10000].push_back(v % 10000);
      for (int p = 0; p < sc.producers; ++p) {
        std::vector<int> ok;
        for (int i = 0; i < sc.per_producer; ++i)
          if (r.sends[p][i] == outcome::sent) ok.push_back(i);
        RC_ASSERT(seen[p] == ok);
      }
    }
  });
}
