// SPDX-License-Identifier: MIT
// The two-backend test runner behind ANYIO_TEST_CASE: parses the
// environment and the --anyio-* options, runs the body on realio and then on
// each sim seed (or replays a trace, or sweeps a seed range), and scopes a
// Catch2 message to each sim run naming the seed and the rerun command. A
// failing seed is rerun once with a trace; its path and the one command that
// replays it are printed.
#include <anyio/testing/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace anyio::testing {

namespace {

std::string& program_path_storage() {
  static std::string path = "./tests";
  return path;
}

std::map<std::string, registered_case>& registry() {
  static std::map<std::string, registered_case> cases;
  return cases;
}

std::uint64_t parse_u64(const std::string& what, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || text[0] == '-')
    throw std::invalid_argument(what + "=" + text + ": expected a non-negative integer");
  return v;
}


std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void report_failure(const char* test_name, std::uint64_t seed, const std::string& trace,
                    const sim::run_result& r) {
  std::fprintf(stderr,
               "anyio: sim seed %llu of \"%s\" failed: %s%s%s\n"
               "  rerun this seed:  %s\n",
               static_cast<unsigned long long>(seed), test_name, r.outcome.c_str(),
               r.exception_type.empty() ? "" : ", ", r.exception_type.c_str(),
               rerun_command(test_name, seed).c_str());
  if (!trace.empty())
    std::fprintf(stderr, "  trace:            %s\n  replay the trace: %s\n", trace.c_str(),
                 replay_command(test_name, trace).c_str());
}

std::string trace_path_for(const char* test_name, std::uint64_t seed) {
  std::filesystem::path p = std::filesystem::path(trace_dir()) /
                            sim::trace_file_name(test_name, seed);
  return std::filesystem::absolute(p).lexically_normal().string();
}

// A failed seed: rerun it with a trace (identical run) so it can be replayed.
std::string trace_failing_seed(const char* test_name, test_body body, std::uint64_t seed) {
  sim::options opts;
  opts.seed = seed;
  opts.test_name = test_name;
  opts.trace_path = trace_path_for(test_name, seed);
  try {
    sim::run_result r = sim::run_body(body, opts);
    report_failure(test_name, seed, opts.trace_path, r);
    return opts.trace_path;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anyio: could not trace seed %llu: %s\n",
                 static_cast<unsigned long long>(seed), e.what());
    return "";
  }
}

void run_replay(const char* test_name, test_body body) {
  // Only the header says whose trace it is; the replay reads the rest.
  if (sim::trace_reader(mode().replay_path).header().test != test_name) return;
  INFO("replaying " << mode().replay_path);
  sim::replay(body, mode().replay_path);
}

void run_shrink(const char* test_name, test_body body) {
  const std::string& path = mode().shrink_path;
  if (sim::trace_reader(path).header().test != test_name) return;  // another case's trace
  std::string out = path;
  if (out.size() > 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0) out.resize(out.size() - 6);
  out += ".min.jsonl";
  sim::shrink_result r = sim::shrink(body, path, out);
  std::printf(
      "anyio: shrank \"%s\" (%s: %s %s) in %llu runs\n  %s\n"
      "  minimal trace:   %s\n  read it:         anyio-sim show %s\n  replay it:       %s\n",
      test_name, r.outcome.c_str(), r.exception_type.c_str(), r.message.c_str(),
      static_cast<unsigned long long>(r.runs), r.summary().c_str(), out.c_str(), out.c_str(),
      replay_command(test_name, out).c_str());
  CHECK(r.after.preemptions <= r.before.preemptions);
}

void run_record(const char* test_name, test_body body, std::uint64_t seed) {
  sim::options opts;
  opts.seed = seed;
  opts.test_name = test_name;
  opts.trace_path = trace_path_for(test_name, seed);
  // Named before the run: if it crashes, the trace is still there, up to
  // the crash (docs/trace-format.md, "Unfinished traces").
  std::printf("anyio: recording seed %llu of \"%s\" to %s\n",
              static_cast<unsigned long long>(seed), test_name, opts.trace_path.c_str());
  std::fflush(stdout);
  sim::run_result r = sim::run_body(body, opts);
  std::printf("anyio: recorded seed %llu of \"%s\" (%s) to %s\n",
              static_cast<unsigned long long>(seed), test_name, r.outcome.c_str(),
              opts.trace_path.c_str());
}

void run_sweep(const char* test_name, test_body body) {
  const harness_mode& m = mode();
  sim::sweep_options opts;
  opts.seeds = m.seeds;
  opts.shard = m.shard;
  opts.strategy = m.strategy;
  opts.pct_depth = m.pct_depth;
  opts.pct_steps = m.pct_steps;
  opts.preemption_bound = m.preemption_bound;
  opts.trace_dir = std::filesystem::absolute(trace_dir()).lexically_normal().string();
  opts.test_name = test_name;
  sim::sweep_summary s = sim::sweep(body, opts);
  constexpr std::size_t shown = 5;  // the JSON summary lists them all
  for (std::size_t i = 0; i < s.failures.size() && i < shown; ++i) {
    const sim::sweep_failure& f = s.failures[i];
    std::fprintf(stderr, "anyio: sweep: seed %llu of \"%s\" failed: %s %s\n  replay: %s\n",
                 static_cast<unsigned long long>(f.seed), test_name, f.outcome.c_str(),
                 f.message.c_str(), replay_command(test_name, f.trace_path).c_str());
  }
  if (s.failures.size() > shown)
    std::fprintf(stderr, "anyio: sweep: ... and %zu more failing seeds of \"%s\"\n",
                 s.failures.size() - shown, test_name);
  if (m.strategy == sim::strategy::exhaustive)
    std::fprintf(stderr, "anyio: exhaustive: \"%s\": %llu schedules within %d preemptions: %s\n",
                 test_name, static_cast<unsigned long long>(s.seeds_run), s.preemption_bound,
                 s.covered ? "covered" : "NOT covered (stopped early)");
  sweep_totals().merge(s);
  INFO(s.failures.size() << " of " << s.seeds_run << " seeds failed");
  CHECK(s.failures.empty());
}

}  // namespace

void set_program_path(const std::string& path) { program_path_storage() = path; }
const std::string& program_path() { return program_path_storage(); }

harness_mode& mode() {
  static harness_mode m;
  return m;
}

sim::sweep_summary& sweep_totals() {
  static sim::sweep_summary totals;
  return totals;
}

std::string trace_dir() {
  const char* d = std::getenv("ANYIO_TRACE_DIR");
  return d != nullptr && *d != '\0' ? d : "anyio-traces";
}

bool register_case(const char* name, test_body body, case_options options) {
  registry()[name] = registered_case{name, body, options};
  return true;
}

const registered_case* find_case(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

void parse_harness_args(int& argc, char** argv) {
  harness_mode& m = mode();
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (a == "--anyio-replay") {
      m.replay_path = value("--anyio-replay");
    } else if (a == "--anyio-shrink") {
      m.shrink_path = value("--anyio-shrink");
    } else if (a == "--anyio-record") {
      m.record_seed = parse_u64("--anyio-record", value("--anyio-record"));
    } else if (a == "--anyio-regressions") {
      m.regressions_dir = value("--anyio-regressions");
    } else if (a == "--anyio-sweep") {
      std::string r = value("--anyio-sweep");
      auto dots = r.find("..");
      if (dots == std::string::npos)
        throw std::invalid_argument("--anyio-sweep " + r + ": expected FROM..TO (TO excluded)");
      std::uint64_t from = parse_u64("--anyio-sweep FROM", r.substr(0, dots));
      std::uint64_t to = parse_u64("--anyio-sweep TO", r.substr(dots + 2));
      if (to <= from) throw std::invalid_argument("--anyio-sweep " + r + ": TO must exceed FROM");
      m.sweep = true;
      m.seeds = {from, to - from};
    } else if (a == "--shard") {
      std::string s = value("--shard");
      auto slash = s.find('/');
      if (slash == std::string::npos)
        throw std::invalid_argument("--shard " + s + ": expected K/N");
      m.shard = {parse_u64("--shard K", s.substr(0, slash)),
                 parse_u64("--shard N", s.substr(slash + 1))};
      if (m.shard.count == 0 || m.shard.index >= m.shard.count)
        throw std::invalid_argument("--shard " + s + ": need 0 <= K < N");
    } else if (a == "--strategy") {  // strategy options (docs/testing-with-sim.md)
      m.strategy = sim::strategy_from_string(value("--strategy"));
    } else if (a == "--pct-depth") {
      const std::uint64_t d = parse_u64("--pct-depth", value("--pct-depth"));
      if (d < 1 || d > 1000) throw std::invalid_argument("--pct-depth: expected 1..1000");
      m.pct_depth = static_cast<int>(d);
    } else if (a == "--pct-steps") {
      m.pct_steps = parse_u64("--pct-steps", value("--pct-steps"));
      if (m.pct_steps == 0) throw std::invalid_argument("--pct-steps: expected at least 1");
    } else if (a == "--preemption-bound") {
      const std::uint64_t p = parse_u64("--preemption-bound", value("--preemption-bound"));
      if (p > 1000) throw std::invalid_argument("--preemption-bound: expected 0..1000");
      m.preemption_bound = static_cast<int>(p);
    } else if (a == "--json") {
      m.json_out = value("--json");
    } else {
      argv[out++] = argv[i];
      continue;
    }
  }
  argc = out;
  argv[argc] = nullptr;
}

run_config config_from_env(std::uint64_t default_seeds) {
  run_config config;
  if (const char* b = std::getenv("ANYIO_BACKEND"); b != nullptr && *b != '\0') {
    std::string v = b;
    if (v == "realio") {
      config.sim = false;
    } else if (v == "sim") {
      config.realio = false;
    } else if (v != "both") {
      throw std::invalid_argument("ANYIO_BACKEND=" + v + ": expected realio, sim or both");
    }
  }
  if (const char* s = std::getenv("ANYIO_SEED"); s != nullptr && *s != '\0') {
    config.seeds.push_back(parse_u64("ANYIO_SEED", s));
    return config;
  }
  std::uint64_t n = default_seeds;
  if (const char* s = std::getenv("ANYIO_SEEDS"); s != nullptr && *s != '\0')
    n = parse_u64("ANYIO_SEEDS", s);
  for (std::uint64_t i = 0; i < n; ++i) config.seeds.push_back(i);
  return config;
}

std::string rerun_command(const std::string& test_name, std::uint64_t seed) {
  return "ANYIO_BACKEND=sim ANYIO_SEED=" + std::to_string(seed) + " " + program_path() + " " +
         shell_quote(test_name);
}

std::string replay_command(const std::string& test_name, const std::string& trace_path) {
  return program_path() + " " + shell_quote(test_name) + " --anyio-replay " + trace_path;
}

void run_case(const char* test_name, test_body body, case_options options) {
  const harness_mode& m = mode();
  if (!m.replay_path.empty()) return run_replay(test_name, body);
  if (!m.shrink_path.empty()) return run_shrink(test_name, body);
  if (m.record_seed) {
    if (options.sim) run_record(test_name, body, *m.record_seed);
    return;
  }
  if (m.sweep) {
    if (options.sim) run_sweep(test_name, body);
    return;
  }
  const run_config config = config_from_env(options.seeds);
  if (config.realio && options.realio) {
    INFO("backend: realio");
    anyio::run(body);
  }
  if (!(config.sim && options.sim)) return;
  for (std::uint64_t seed : config.seeds) {
    INFO("backend: sim, seed " << seed << "\n  rerun just this seed: "
                               << rerun_command(test_name, seed));
    sim::options opts;
    opts.seed = seed;
    opts.test_name = test_name;
    const std::uint64_t failures_before = failed_assertions();
    try {
      sim::run(body, opts);
    } catch (...) {
      trace_failing_seed(test_name, body, seed);
      throw;
    }
    if (failed_assertions() != failures_before) {  // a CHECK failed: no exception
      trace_failing_seed(test_name, body, seed);
      return;
    }
  }
}

std::uint64_t& failed_assertions() {
  static std::uint64_t count = 0;
  return count;
}

std::size_t replay_regressions(const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  if (ec) throw std::runtime_error("--anyio-regressions " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::size_t replayed = 0;
  for (const auto& path : files) {
    sim::trace t = sim::read_trace(path.string());
    const registered_case* c = find_case(t.header.test);
    if (c == nullptr) continue;  // a case of another test program
    INFO("regression trace " << path.string() << " (" << t.header.test << ")");
    std::string outcome = "passed";
    std::string message;
    try {
      sim::replay(c->body, path.string());
    } catch (const sim::replay_divergence&) {
      throw;
    } catch (...) {
      auto d = describe_exception_parts(std::current_exception());
      outcome = "failed";
      message = d.message;
    }
    // A known-bug fixture must still fail, with the recorded message.
    CHECK(outcome == t.outcome.kind);
    if (outcome == "failed") CHECK(message == t.outcome.message);
    ++replayed;
  }
  return replayed;
}

}  // namespace anyio::testing
