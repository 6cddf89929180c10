// SPDX-License-Identifier: MIT
// determinism_probe: runs one fixed, non-trivial workload on the simulator
// for the seed given on the command line and prints every kernel event as
// one line. The same seed must print the same bytes, whatever the compiler
// or standard library flags; scripts/test.sh diffs a g++ and a clang++
// build and check_probe.py compares runs of one build. The workload checks
// its own results too, so a semantic regression fails here, not just a diff.
#include <anyio/anyio.hpp>
#include <anyio/instrument.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

const char* kind_name(anyio::event_kind kind) {
  switch (kind) {
    case anyio::event_kind::spawn: return "spawn";
    case anyio::event_kind::step: return "step";
    case anyio::event_kind::park: return "park";
    case anyio::event_kind::wake: return "wake";
    case anyio::event_kind::cancel_requested: return "cancel_requested";
    case anyio::event_kind::cancel_delivered: return "cancel_delivered";
    case anyio::event_kind::deadline_fired: return "deadline_fired";
    case anyio::event_kind::task_exit: return "task_exit";
    case anyio::event_kind::decision: return "decision";
    case anyio::event_kind::draw: return "draw";
    case anyio::event_kind::clock: return "clock";
    case anyio::event_kind::cancel_point: return "cancel_point";
  }
  return nullptr;  // a kind added later: printed by number, still deterministic
}

// Prints each event on its own line. Only the event's deterministic fields
// are printed; `detail` is escaped so one event is always exactly one line.
class step_log final : public anyio::instrument {
 public:
  void on_event(const anyio::kernel_event& e) override {
    std::string line;
    if (const char* name = kind_name(e.kind))
      line += name;
    else
      line += "kind" + std::to_string(static_cast<int>(e.kind));
    line += " step=" + std::to_string(e.step) + " t=" + std::to_string(e.time);
    line += " task=" + std::to_string(e.task) + " name=" + escape(e.task_name);
    line += " other=" + std::to_string(e.other) + " v2=" + std::to_string(e.value2);
    line += " detail=" + escape(e.detail) + " flag=" + (e.flag ? "1" : "0");
    if (!e.ready.empty()) {
      line += " ready=";
      for (std::size_t i = 0; i < e.ready.size(); ++i)
        line += (i ? "," : "") + std::to_string(e.ready[i]);
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
    ++count_;
  }
  std::uint64_t count() const noexcept { return count_; }

 private:
  static std::string escape(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '\n')
        out += "\\n";
      else if (c == '"' || c == '\\')
        out += std::string("\\") + c;
      else
        out += c;
    }
    return out + "\"";
  }
  std::uint64_t count_ = 0;
};

// What the workload observed; checked after the run.
struct results {
  int worker_rounds = 0;
  bool deadline_caught = false;
  bool timeout_raised = false;
  bool group_failed = false;
  bool sibling_cancelled = false;
  int started_value = 0;
  int server_served = 0;
};

results g_results;

// Coroutines take their arguments by value (never by reference): the
// child's frame owns them, as task_group::start_soon requires.
anyio::task<> worker(int id, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await anyio::checkpoint();
    co_await anyio::sleep(std::chrono::milliseconds(id * 3 + i % 2));
    ++g_results.worker_rounds;
  }
}

anyio::task<> sleeper() {
  try {
    co_await anyio::sleep(1h);
  } catch (const anyio::cancelled&) {
    g_results.sibling_cancelled = true;
    throw;
  }
}

anyio::task<> failer(int after_ms) {
  co_await anyio::sleep(std::chrono::milliseconds(after_ms));
  throw std::runtime_error("probe failure");
}

anyio::task<> server(anyio::task_status<int>& status, int port) {
  co_await anyio::sleep(2ms);
  status.started(port);
  for (int i = 0; i < 3; ++i) {
    co_await anyio::sleep(1ms);
    ++g_results.server_served;
  }
}

anyio::task<> deadlines() {
  auto scope = anyio::move_on_after(5ms);
  co_await scope.run([]() -> anyio::task<> { co_await anyio::sleep(1h); });
  g_results.deadline_caught = scope.cancelled_caught();
  try {
    co_await anyio::fail_after(2ms).run([]() -> anyio::task<> {
      for (;;) co_await anyio::sleep(500us);
    });
  } catch (const anyio::timeout_error&) {
    g_results.timeout_raised = true;
  }
}

anyio::task<> failing_group() {
  try {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("sleeper"), sleeper);
      tg.start_soon(anyio::task_name("failer"), failer, 4);
      tg.start_soon(anyio::task_name("quick"), worker, 0, 2);
      co_await anyio::sleep_forever();
    });
  } catch (const anyio::exception_group& g) {
    g_results.group_failed = g.size() == 1 && g.contains<std::runtime_error>();
  }
}

anyio::task<> amain() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int id = 1; id <= 4; ++id)
      tg.start_soon(anyio::task_name("worker-" + std::to_string(id)), worker, id, 2 + id);
    tg.start_soon(anyio::task_name("deadlines"), deadlines);
    tg.start_soon(anyio::task_name("failing-group"), failing_group);
    g_results.started_value = co_await tg.start(anyio::task_name("server"), server, 8080);
    co_await anyio::checkpoint();
  });
}

std::uint64_t parse_seed(const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    throw std::invalid_argument(std::string("seed: expected a non-negative integer, got ") + text);
  return v;
}

bool check(const results& r) {
  // worker-k runs 2+k rounds (k = 1..4) plus "quick" (2 rounds, may be cut
  // short when the failer cancels its group, so not counted exactly).
  const bool ok = r.worker_rounds >= 3 + 4 + 5 + 6 && r.deadline_caught && r.timeout_raised &&
                  r.group_failed && r.sibling_cancelled && r.started_value == 8080 &&
                  r.server_served == 3;
  if (!ok)
    std::fprintf(stderr,
                 "determinism_probe: unexpected results: rounds=%d deadline=%d timeout=%d "
                 "group=%d sibling=%d started=%d served=%d\n",
                 r.worker_rounds, r.deadline_caught, r.timeout_raised, r.group_failed,
                 r.sibling_cancelled, r.started_value, r.server_served);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED\n", argc > 0 ? argv[0] : "determinism_probe");
    return 2;
  }
  try {
    step_log log;
    anyio::sim::options opts;
    opts.seed = parse_seed(argv[1]);
    opts.observer = &log;
    opts.max_steps = 100000;  // a livelock fails instead of hanging the CI
    anyio::sim::run(amain, opts);
    std::printf("end seed=%s events=%llu rounds=%d\n", argv[1],
                static_cast<unsigned long long>(log.count()), g_results.worker_rounds);
    std::fflush(stdout);
    return check(g_results) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "determinism_probe: %s\n", e.what());
    return 1;
  }
}
