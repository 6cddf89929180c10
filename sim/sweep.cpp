// SPDX-License-Identifier: MIT
// Seed sweeps: run a range of seeds (or one shard of it: every N-th seed
// starting at the K-th, so a Kubernetes Indexed Job, a Slurm array or GNU
// parallel can fan a sweep out), untraced for speed; a failing seed is rerun
// with a trace (the rerun is identical — that is the point of the
// simulator), the first max_traces of them. The summary serialises to JSON;
// `anyio-sim merge` and sweep_summary::merge combine shards.
// failure_pattern (failures that differ only in numbers) lives here too: a
// sweep's summary groups by it and shrinking matches by it.
#include <anyio/sim.hpp>

#include "strategy.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace anyio::sim {

namespace {


// Progress on a terminal, every 1% of the seeds: counted, not timed, since
// the simulator reads no clock (tests/tidy bans it here).
class progress_line {
 public:
  progress_line(bool enabled, const sweep_options& opts, std::uint64_t total)
      : enabled_(enabled && isatty(2) != 0), opts_(opts), total_(total),
        every_(total >= 100 ? total / 100 : 1) {}
  void update(std::uint64_t done, std::size_t failures, bool final = false) {
    if (!enabled_ || (!final && done % every_ != 0)) return;
    std::fprintf(stderr, "\r[sweep] %s: %llu/%llu seeds, %zu failing%s",
                 opts_.test_name.empty() ? "body" : opts_.test_name.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                 failures, final ? "\n" : "");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  const sweep_options& opts_;
  std::uint64_t total_;
  std::uint64_t every_;
};

}  // namespace

std::string file_stem(const std::string& test_name) {
  std::string out;
  for (char c : test_name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.size() > 80) out.resize(80);
  return out.empty() ? "test" : out;
}

std::string failure_pattern(const std::string& message) {
  // A digit run right after "name.ext:" with a source extension is a line
  // number: the failing assertion's identity, kept.
  static const char* const source_exts[] = {".c", ".cc", ".cpp", ".cxx", ".c++", ".h",
                                            ".hh", ".hpp", ".hxx", ".ipp", ".inl", ".tpp"};
  auto after_source_file = [&](std::size_t colon) {
    std::size_t start = colon;
    while (start > 0 && message[start - 1] != ' ' && message[start - 1] != '(' &&
           message[start - 1] != '\n' && message[start - 1] != '"')
      --start;
    const std::string token = message.substr(start, colon - start);
    for (const char* ext : source_exts) {
      const std::string e = ext;
      if (token.size() > e.size() && token.compare(token.size() - e.size(), e.size(), e) == 0)
        return true;
    }
    return false;
  };
  std::string out;
  for (std::size_t i = 0; i < message.size();) {
    if (message[i] < '0' || message[i] > '9') {
      out += message[i++];
      continue;
    }
    std::size_t end = i;
    while (end < message.size() && message[end] >= '0' && message[end] <= '9') ++end;
    if (i > 0 && message[i - 1] == ':' && after_source_file(i - 1))
      out.append(message, i, end - i);
    else
      out += '#';
    i = end;
  }
  return out;
}

void add_probe_counts(std::vector<probe_count>& into, const std::vector<probe_count>& from) {
  for (const probe_count& p : from) {
    auto it = std::lower_bound(
        into.begin(), into.end(), p.name,
        [](const probe_count& c, const std::string& n) { return c.name < n; });
    if (it == into.end() || it->name != p.name) {
      into.insert(it, p);
      continue;
    }
    it->hits += p.hits;
    it->evaluations += p.evaluations;
    it->seeds += p.seeds;
  }
}

std::vector<std::string> sweep_summary::never_fired() const {
  std::vector<std::string> out;
  for (const probe_count& p : probes)
    if (!p.fired()) out.push_back(p.name);
  for (const std::string& r : required_probes) {
    const bool known = std::any_of(probes.begin(), probes.end(),
                                   [&](const probe_count& p) { return p.name == r; });
    if (!known) out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void sweep_summary::check_required_probes() {
  std::erase_if(failures, [](const sweep_failure& f) { return f.outcome == "unfired-probe"; });
  const std::vector<std::string> unfired = never_fired();
  for (const std::string& r : required_probes) {
    if (!std::binary_search(unfired.begin(), unfired.end(), r)) continue;
    const auto it = std::find_if(probes.begin(), probes.end(),
                                 [&](const probe_count& p) { return p.name == r; });
    const std::string how =
        it == probes.end()
            ? "was never reached"
            : "was reached " + std::to_string(it->evaluations) + " times but never fired";
    sweep_failure f;
    f.seed = first_seed + shard.index;  // a seed of this shard (anyio-sim merge checks)
    f.test = tests.empty() ? std::string() : tests.front();
    f.outcome = "unfired-probe";
    f.exception_type = "anyio::sim::probe_failure";
    f.message = "required probe \"" + r + "\" " + how + " in " + std::to_string(seeds_run) +
                (strategy == "exhaustive" ? " schedules" : " seeds");
    failures.push_back(std::move(f));
  }
}

std::string trace_file_name(const std::string& test_name, std::uint64_t seed) {
  return file_stem(test_name) + "-seed" + std::to_string(seed) + ".jsonl";
}

options sweep_options::run_options(std::uint64_t seed) const {
  options run;
  run.seed = seed;
  run.strategy = strategy;
  run.pct_depth = pct_depth;
  run.pct_steps = pct_steps;
  run.max_steps = max_steps;
  run.max_virtual_time = max_virtual_time;
  run.buggify_site_probability = buggify_site_probability;
  run.buggify_fire_probability = buggify_fire_probability;
  run.liveness_after = liveness_after;
  run.liveness_bound = liveness_bound;
  run.liveness_progress = liveness_progress;
  run.plan = plan;
  run.test_name = test_name;
  return run;
}

sweep_summary sweep(const body_fn& body, const sweep_options& opts) {
  if (opts.shard.count == 0 || opts.shard.index >= opts.shard.count)
    throw std::invalid_argument("sim::sweep: shard " + std::to_string(opts.shard.index) + "/" +
                                std::to_string(opts.shard.count) +
                                " is invalid: need 0 <= K < N");
  if (opts.strategy == strategy::exhaustive) return exhaustive_sweep(body, opts);
  // pct: a run length estimated from the test unless given (strategy.hpp).
  const std::uint64_t pct_steps = opts.strategy == strategy::pct && opts.pct_steps == 0
                                      ? estimate_pct_steps(body, opts)
                                      : opts.pct_steps;
  sweep_summary summary;
  summary.strategy = to_string(opts.strategy);
  summary.pct_steps = pct_steps;
  summary.first_seed = opts.seeds.first;
  summary.seed_count = opts.seeds.count;
  summary.shard = opts.shard;
  if (!opts.test_name.empty()) summary.tests.push_back(opts.test_name);
  const std::uint64_t mine =
      opts.seeds.count / opts.shard.count +
      (opts.shard.index < opts.seeds.count % opts.shard.count ? 1 : 0);
  progress_line progress(opts.progress && !opts.on_progress, opts, mine);
  const std::uint64_t max_failures =
      opts.stop_at_first_failure ? 1 : opts.max_failures;  // 0: no limit
  std::uint64_t traced = 0;
  for (std::uint64_t k = opts.shard.index; k < opts.seeds.count; k += opts.shard.count) {
    options run = opts.run_options(opts.seeds.first + k);
    run.pct_steps = pct_steps;
    run_result r = run_body(body, run);
    ++summary.seeds_run;
    summary.steps += r.steps;
    summary.virtual_time_ns += r.virtual_time_ns;
    add_probe_counts(summary.probes, r.probes);
    if (!r.passed()) {
      // A long sweep of a common bug fails thousands of seeds: the first
      // few traces are all anyone reads.
      if (!opts.trace_dir.empty() && (opts.max_traces == 0 || traced < opts.max_traces)) {
        run.trace_path = opts.trace_dir + "/" + trace_file_name(opts.test_name, run.seed);
        r = run_body(body, run);
        ++traced;
      }
      summary.failures.push_back({run.seed, opts.test_name, r.outcome, r.exception_type,
                                  r.message, r.trace_path, r.steps, r.preemptions});
      if (opts.on_failure) opts.on_failure(summary.failures.back());
    }
    if (opts.on_progress) opts.on_progress(summary.seeds_run, mine, summary.failures.size());
    progress.update(summary.seeds_run, summary.failures.size());
    if (max_failures != 0 && summary.failures.size() >= max_failures) break;
  }
  progress.update(summary.seeds_run, summary.failures.size(), true);
  summary.required_probes = opts.required_probes;
  const std::size_t seed_failures = summary.failures.size();
  summary.check_required_probes();
  if (opts.on_failure)
    for (std::size_t k = seed_failures; k < summary.failures.size(); ++k)
      opts.on_failure(summary.failures[k]);
  return summary;
}

std::string sweep_summary::to_json() const {
  nlohmann::json j;
  j["format"] = "anyio-sim-sweep";
  j["version"] = 1;
  j["strategy"] = strategy;
  j["first_seed"] = first_seed;
  j["seed_count"] = seed_count;
  j["shard"] = {{"index", shard.index}, {"count", shard.count}};
  j["tests"] = tests;
  j["seeds_run"] = seeds_run;
  j["steps"] = steps;
  j["virtual_time_ns"] = virtual_time_ns;
  j["failures"] = nlohmann::json::array();
  for (const sweep_failure& f : failures)
    j["failures"].push_back({{"seed", f.seed},
                             {"test", f.test},
                             {"outcome", f.outcome},
                             {"exception", f.exception_type},
                             {"message", f.message},
                             {"trace", f.trace_path},
                             {"steps", f.steps},
                             {"preemptions", f.preemptions}});
  if (strategy == "exhaustive") {
    j["preemption_bound"] = preemption_bound;
    j["covered"] = covered;
  }
  // Only when probes were used: older summaries stay as they were.
  if (!probes.empty() || !required_probes.empty()) {
    j["probes"] = nlohmann::json::array();
    for (const probe_count& p : probes)
      j["probes"].push_back({{"name", p.name},
                             {"kind", p.kind},
                             {"hits", p.hits},
                             {"evaluations", p.evaluations},
                             {"seeds", p.seeds}});
    j["required_probes"] = required_probes;
    j["never_fired"] = never_fired();
  }
  return j.dump(2);
}

sweep_summary sweep_summary::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [](const std::string& why) {
    return std::invalid_argument("not an anyio-sim sweep summary: " + why);
  };
  if (j.is_discarded() || !j.is_object()) throw bad("not a JSON object");
  if (j.value("format", "") != "anyio-sim-sweep")
    throw bad("field 'format' is not anyio-sim-sweep");
  try {
    sweep_summary s;
    s.strategy = j.at("strategy").get<std::string>();
    s.first_seed = j.at("first_seed").get<std::uint64_t>();
    s.seed_count = j.at("seed_count").get<std::uint64_t>();
    s.shard.index = j.at("shard").at("index").get<std::uint64_t>();
    s.shard.count = j.at("shard").at("count").get<std::uint64_t>();
    s.tests = j.at("tests").get<std::vector<std::string>>();
    s.seeds_run = j.at("seeds_run").get<std::uint64_t>();
    s.steps = j.at("steps").get<std::uint64_t>();
    s.virtual_time_ns = j.at("virtual_time_ns").get<std::int64_t>();
    for (const auto& f : j.at("failures"))
      s.failures.push_back({f.at("seed").get<std::uint64_t>(), f.at("test").get<std::string>(),
                            f.at("outcome").get<std::string>(),
                            f.at("exception").get<std::string>(),
                            f.at("message").get<std::string>(), f.at("trace").get<std::string>(),
                            f.value("steps", std::uint64_t{0}),
                            f.value("preemptions", std::uint64_t{0})});
    s.preemption_bound = j.value("preemption_bound", 0);
    s.covered = j.value("covered", false);
    if (j.contains("probes"))
      for (const auto& p : j.at("probes"))
        s.probes.push_back({p.at("name").get<std::string>(), p.at("kind").get<std::string>(),
                            p.at("hits").get<std::uint64_t>(),
                            p.at("evaluations").get<std::uint64_t>(),
                            p.at("seeds").get<std::uint64_t>()});
    std::sort(s.probes.begin(), s.probes.end(),
              [](const probe_count& a, const probe_count& b) { return a.name < b.name; });
    if (j.contains("required_probes"))
      s.required_probes = j.at("required_probes").get<std::vector<std::string>>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
}

void sweep_summary::merge(const sweep_summary& other) {
  covered = seeds_run == 0 ? other.covered : covered && other.covered;  // exhaustive
  preemption_bound = std::max(preemption_bound, other.preemption_bound);
  seeds_run += other.seeds_run;
  steps += other.steps;
  virtual_time_ns += other.virtual_time_ns;
  for (const std::string& t : other.tests)
    if (std::find(tests.begin(), tests.end(), t) == tests.end()) tests.push_back(t);
  failures.insert(failures.end(), other.failures.begin(), other.failures.end());
  std::sort(failures.begin(), failures.end(), [](const sweep_failure& a, const sweep_failure& b) {
    return a.test != b.test ? a.test < b.test : a.seed < b.seed;
  });
  if (strategy.empty()) strategy = other.strategy;
  shard = {0, 1};
  // A probe that one shard never fired may have fired in another: the
  // merged counts decide.
  add_probe_counts(probes, other.probes);
  for (const std::string& r : other.required_probes)
    if (std::find(required_probes.begin(), required_probes.end(), r) == required_probes.end())
      required_probes.push_back(r);
  check_required_probes();
}

}  // namespace anyio::sim
