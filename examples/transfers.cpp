// SPDX-License-Identifier: MIT
// The README demo: a tiny bank written against the public API. Clients
// submit transfers over a channel; three tellers (clones of its receive
// side) check the source balance, write an audit record — an await, since
// the auditor reads a bounded channel — and then move the money. With
// --buggy a teller checks before the audit and debits after it without
// holding the account's lock: two transfers from one account can both pass
// the check (check-then-act), and the account goes negative. The fixed
// teller holds the source account's lock across check, audit and debit.
// The same amain() runs on realio (default) or the simulator, and the
// program drives the simulator's tools: --sweep, --replay, --shrink.
//
// test-expect: settled [0-9]+ transfers, rejected [0-9]+; no account overdrawn; total 300
#include <anyio/anyio.hpp>
#include <anyio/sim_trace.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

struct transfer {
  int id;
  int from;
  int to;
  long amount;
};

// Accounts 0, 1, 2 start with 100 each; transfers 1 and 2 both draw 60 from
// account 0, so at most one of them can be honoured.
constexpr std::array<transfer, 6> requests_to_make = {{
    {1, 0, 1, 60}, {2, 0, 2, 60}, {3, 1, 2, 30}, {4, 2, 0, 50}, {5, 1, 0, 80}, {6, 2, 1, 70},
}};

struct bank {
  std::array<long, 3> balances{100, 100, 100};
  std::array<anyio::lock, 3> locks{};
  int settled = 0;
  int rejected = 0;
};

bool buggy = false;
bool quiet = false;  // sweeps run thousands of times: no line per run

anyio::task<> teller(bank& b, anyio::memory_object_receive_stream<transfer> requests,
                     anyio::memory_object_send_stream<std::string> audit) {
  while (auto t = co_await requests.next()) {
    anyio::sync_guard held;
    if (!buggy) held = co_await b.locks[t->from].guard();  // the fix
    if (b.balances[t->from] < t->amount) {
      ++b.rejected;
      co_await audit.send("rejected #" + std::to_string(t->id));
      continue;
    }
    // With --buggy, another teller may run here and pass the same check.
    co_await audit.send("approved #" + std::to_string(t->id));
    b.balances[t->from] -= t->amount;
    if (b.balances[t->from] < 0)
      throw std::logic_error("account " + std::to_string(t->from) + " overdrawn by transfer #" +
                             std::to_string(t->id) + ": balance " +
                             std::to_string(b.balances[t->from]));
    b.balances[t->to] += t->amount;
    ++b.settled;
  }
}

anyio::task<> auditor(anyio::memory_object_receive_stream<std::string> records, int& count) {
  while (auto record = co_await records.next()) ++count;
}

anyio::task<> clients(anyio::memory_object_send_stream<transfer> requests) {
  for (const transfer& t : requests_to_make) co_await requests.send(t);
}

anyio::task<> run_bank() {
  bank b;
  int audited = 0;
  auto requests = anyio::create_memory_object_stream<transfer>(2);
  auto audit = anyio::create_memory_object_stream<std::string>(1);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("auditor"), auditor, std::move(audit.receive),
                  std::ref(audited));
    for (int i = 1; i <= 3; ++i)
      tg.start_soon(anyio::task_name("teller-" + std::to_string(i)), teller, std::ref(b),
                    requests.receive.clone(), audit.send.clone());
    tg.start_soon(anyio::task_name("clients"), clients, std::move(requests.send));
    requests.receive.close();  // the tellers hold clones; the originals go
    audit.send.close();
    co_return;
  });
  long total = 0;
  for (long balance : b.balances) total += balance;
  if (total != 300 || audited != b.settled + b.rejected)
    throw std::logic_error("books do not balance: total " + std::to_string(total));
  if (!quiet)
    std::printf("settled %d transfers, rejected %d; no account overdrawn; total %ld\n", b.settled,
                b.rejected, total);
}

// "An hour of sleeps": 3,600 one-second sleeps, in virtual time on sim.
anyio::task<> virtual_hour() {
  const auto wall = std::chrono::steady_clock::now();
  const auto start = anyio::current_time();
  for (int i = 0; i < 3600; ++i) co_await anyio::sleep(std::chrono::seconds(1));
  const auto slept = std::chrono::duration<double>(anyio::current_time() - start).count();
  const auto real = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  std::printf("slept %.0f s of virtual time in %.1f ms of real time\n", slept, real * 1e3);
}

std::string arg_value(int argc, char** argv, const char* flag, const char* fallback = "") {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return true;
  return false;
}

int sweep(const std::string& range, const std::string& trace_dir) {
  const auto dots = range.find("..");
  if (dots == std::string::npos) throw std::invalid_argument("--sweep expects FROM..TO");
  const std::uint64_t from = std::stoull(range.substr(0, dots));
  const std::uint64_t to = std::stoull(range.substr(dots + 2));
  quiet = true;
  anyio::sim::sweep_options opts;
  opts.seeds = {from, to - from};
  opts.trace_dir = trace_dir;
  opts.test_name = buggy ? "transfers --buggy" : "transfers";
  opts.stop_at_first_failure = buggy;  // the demo needs one failing seed
  anyio::sim::sweep_summary s = anyio::sim::sweep(run_bank, opts);
  std::printf("swept %llu seeds (%llu steps): %zu failing\n",
              static_cast<unsigned long long>(s.seeds_run),
              static_cast<unsigned long long>(s.steps), s.failures.size());
  for (const auto& f : s.failures)
    std::printf("  seed %llu: %s: %s\n  trace: %s\n", static_cast<unsigned long long>(f.seed),
                f.exception_type.c_str(), f.message.c_str(), f.trace_path.c_str());
  return s.failures.empty() ? 0 : 1;
}

int replay(const std::string& trace, const std::string& out) {
  try {
    anyio::sim::replay(run_bank, trace, out);
    std::printf("replay of %s passed\n", trace.c_str());
  } catch (const anyio::sim::replay_divergence&) {
    throw;
  } catch (const std::exception& e) {
    std::printf("replay of %s failed the same way: %s\n", trace.c_str(), e.what());
  }
  return 0;
}

int shrink(const std::string& trace, const std::string& out) {
  quiet = true;
  anyio::sim::shrink_result r = anyio::sim::shrink(run_bank, trace, out);
  std::printf("shrank in %llu runs: %s\nstill fails: %s: %s\nminimal trace: %s\n",
              static_cast<unsigned long long>(r.runs), r.summary().c_str(),
              r.exception_type.c_str(), r.message.c_str(), out.c_str());
  return 0;
}

int run_once(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sim-seed=", 11) == 0) {
      anyio::sim::options opts;
      opts.seed = std::strtoull(argv[i] + 11, nullptr, 10);
      anyio::sim::run(has_flag(argc, argv, "--virtual-hour") ? virtual_hour : run_bank, opts);
      return 0;
    }
  }
  anyio::run(run_bank);  // the real backend
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  buggy = has_flag(argc, argv, "--buggy");
  try {
    if (has_flag(argc, argv, "--sweep"))
      return sweep(arg_value(argc, argv, "--sweep"), arg_value(argc, argv, "--trace-dir", "."));
    if (has_flag(argc, argv, "--replay"))
      return replay(arg_value(argc, argv, "--replay"), arg_value(argc, argv, "--out"));
    if (has_flag(argc, argv, "--shrink"))
      return shrink(arg_value(argc, argv, "--shrink"),
                    arg_value(argc, argv, "--out", "minimal.jsonl"));
    return run_once(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "transfers: %s\n", e.what());
    return 1;
  }
}
