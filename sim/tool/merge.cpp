// SPDX-License-Identifier: MIT
// `anyio-sim merge`: one summary from the JSON shards of a sweep spread over
// machines (sweep --shard K/N --json). Counting is sweep_summary::merge's;
// this file adds the checks a batch job needs — every field of every summary
// (summary.cpp); the same shard given twice, or overlapping sweeps, would
// count seeds twice; shards of different strategies are not one sweep; a
// missing shard would pass off part of a sweep as all of it — and prints
// every failure with the command that replays it. Any of these problems
// exits non-zero, as do failures: a merge never turns a failure into a pass.
#include "tool.hpp"

#include <anyio/sim.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>

namespace anyio::sim::tool {

const char* const merge_usage =
    "usage: anyio-sim merge [options] OUT.json IN.json...\n"
    "       anyio-sim merge [options] IN.json... -o OUT.json\n"
    "\n"
    "Combines sweep summaries (the --json files of '--anyio-sweep ... --shard K/N') into one:\n"
    "seeds, steps and virtual time are summed, failures listed by test and seed. Prints the\n"
    "totals and, for each failure, the command that replays it. Exit status 0 when no seed\n"
    "failed, 1 when some did, 2 on bad usage, an invalid summary, or summaries that are not\n"
    "whole sweeps: the same shard twice or overlapping seeds (they would count twice), shards\n"
    "of different strategies, or a missing shard (K/N of a sweep without the other K). Every\n"
    "field of a summary is checked (version, counts, shard, failures). IN may be '-' for\n"
    "standard input. In the first form OUT must not be an existing shard (a likely mix-up).\n"
    "\n"
    "options:\n"
    "  -o OUT         write the merged summary to OUT ('-' for standard output)\n"
    "  --allow-missing  merge what is there when shards are missing (a warning, not an error)\n"
    "  --program P    the test binary, for the replay commands (default: <test-binary>)\n"
    "  -h, --help     this text\n";

namespace {

struct input {
  std::string path;
  sweep_summary summary;
};

/// One sweep: its tests, seed range and shard count. Its shards are the
/// inputs that share these.
struct sweep_key {
  std::vector<std::string> tests;
  std::uint64_t first_seed = 0, seed_count = 0, shards = 1;
  bool operator<(const sweep_key& o) const {
    return std::tie(tests, first_seed, seed_count, shards) <
           std::tie(o.tests, o.first_seed, o.seed_count, o.shards);
  }
  std::string describe() const {
    return "seeds " + std::to_string(first_seed) + ".." + std::to_string(first_seed + seed_count) +
           (tests.empty() ? std::string() : " of " + printable(join(tests)));
  }
};

sweep_key key_of(const sweep_summary& s) {
  std::vector<std::string> tests = s.tests;
  std::sort(tests.begin(), tests.end());
  return {tests, s.first_seed, s.seed_count, s.shard.count};
}

bool share_a_test(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty();
  for (const std::string& t : a)
    if (std::binary_search(b.begin(), b.end(), t)) return true;
  return false;
}

/// Rejects inputs that are not whole sweeps: the same shard twice (its
/// seeds would count twice), sweeps that overlap, different strategies, and
/// missing shards, unless `allow_missing` (then a warning).
void check_shards(const std::vector<input>& inputs, bool allow_missing) {
  std::map<sweep_key, std::map<std::uint64_t, std::string>> sweeps;  // shard index -> path
  for (const input& in : inputs) {
    const sweep_summary& s = in.summary;
    if (s.strategy != inputs[0].summary.strategy)
      throw std::runtime_error(in.path + " ran strategy '" + s.strategy + "' but " +
                               inputs[0].path + " ran '" + inputs[0].summary.strategy +
                               "': these are not shards of one sweep");
    auto [it, fresh] = sweeps[key_of(s)].emplace(s.shard.index, in.path);
    if (!fresh)
      throw std::runtime_error(in.path + " repeats shard " + shard_name(s) + " of " + it->second +
                               " (same tests and seeds): its seeds would be counted twice");
  }
  // Two sweeps of one test over overlapping seeds would count seeds twice.
  for (auto a = sweeps.begin(); a != sweeps.end(); ++a)
    for (auto b = std::next(a); b != sweeps.end(); ++b) {
      const sweep_key &ka = a->first, &kb = b->first;
      const bool overlap = ka.first_seed < kb.first_seed + kb.seed_count &&
                           kb.first_seed < ka.first_seed + ka.seed_count;
      if (overlap && share_a_test(ka.tests, kb.tests))
        throw std::runtime_error(b->second.begin()->second + " (" + kb.describe() + ", " +
                                 std::to_string(kb.shards) + " shards) overlaps " +
                                 a->second.begin()->second + " (" + ka.describe() + ", " +
                                 std::to_string(ka.shards) +
                                 " shards): seeds would be counted twice");
    }
  for (const auto& [key, shards] : sweeps) {
    if (shards.size() == key.shards) continue;
    std::string missing;
    std::uint64_t n_missing = 0;
    for (std::uint64_t k = 0; k < key.shards; ++k)
      if (shards.count(k) == 0 && n_missing++ < 20)
        missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    if (n_missing > 20) missing += " and " + std::to_string(n_missing - 20) + " more";
    const std::string what = "missing shard(s) " + missing + " of " + std::to_string(key.shards) +
                             " (" + key.describe() + "; given: " +
                             shards.begin()->second + (shards.size() > 1 ? ", ..." : "") + ")";
    if (!allow_missing)
      throw std::runtime_error(what +
                               ": the merge would not cover the sweep (--allow-missing merges "
                               "what is there)");
    std::fprintf(stderr, "anyio-sim merge: warning: %s\n", what.c_str());
  }
}

void write_summary(const std::string& out_path, const sweep_summary& merged) {
  const std::string text = merged.to_json() + "\n";
  if (out_path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(out_path + ": cannot write the merged summary");
}

void report(output& out, const std::vector<input>& inputs, const sweep_summary& m,
            const std::string& program, const std::string& out_path) {
  out.print("merged " + std::to_string(inputs.size()) + " summar" +
            (inputs.size() == 1 ? "y" : "ies") + (out_path == "-" ? "" : " into " + out_path));
  out.print("  tests         " + printable(join(m.tests)));
  out.print("  strategy      " + printable(m.strategy));
  out.print("  seeds run     " + std::to_string(m.seeds_run));
  out.print("  steps         " + std::to_string(m.steps));
  out.print("  virtual time  " + human_duration(m.virtual_time_ns));
  out.print("  failures      " + std::to_string(m.failures.size()));
  describe_failures(out, m, program);
}

}  // namespace

int run_merge(const std::vector<std::string>& args) {
  arguments a(args, {"-o", "--program"}, {"--allow-missing"});
  if (a.help()) {
    std::fputs(merge_usage, stdout);
    return exit_ok;
  }
  std::vector<std::string> in_paths = a.operands();
  std::string out_path;
  if (auto o = a.value("-o")) {
    out_path = *o;
  } else if (!in_paths.empty()) {
    out_path = in_paths.front();
    in_paths.erase(in_paths.begin());
    std::error_code ec;
    if (std::filesystem::exists(out_path, ec)) {
      std::optional<sweep_summary> existing;
      try {
        existing = read_summary(out_path);
      } catch (const std::runtime_error&) {  // not a summary: a plain output file
      }
      if (existing && existing->shard.count > 1)
        throw usage_error(out_path + " is shard " + shard_name(*existing) +
                          " of a sweep, not an output; to print a merge, use -o -");
    }
  }
  if (in_paths.empty()) throw usage_error("no input summaries given");
  for (const std::string& p : in_paths)
    if (p == out_path && p != "-") throw usage_error(p + " is both an input and the output");
  std::vector<input> inputs;
  if (std::count(in_paths.begin(), in_paths.end(), "-") > 1)
    throw usage_error("standard input ('-') given twice");
  for (const std::string& p : in_paths)
    inputs.push_back({p == "-" ? "<stdin>" : p, read_summary(p)});
  check_shards(inputs, a.flag("--allow-missing"));
  sweep_summary merged = inputs[0].summary;
  for (std::size_t i = 1; i < inputs.size(); ++i) merged.merge(inputs[i].summary);
  write_summary(out_path, merged);
  output out(out_path == "-" ? stderr : stdout);
  report(out, inputs, merged, a.value("--program").value_or("<test-binary>"), out_path);
  return merged.failures.empty() ? exit_ok : exit_found;
}

}  // namespace anyio::sim::tool
