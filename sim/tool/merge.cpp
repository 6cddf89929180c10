// SPDX-License-Identifier: MIT
// `anyio-sim merge`: one summary from the JSON shards of a sweep spread over
// machines (sweep --shard K/N --json). Counting is sweep_summary::merge's;
// this file adds the checks a batch job needs — the same shard given twice
// would count its seeds twice, shards of different strategies are not one
// sweep, missing shards are reported — and prints every failure with the
// command that replays it.
#include "tool.hpp"

#include <anyio/sim.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace anyio::sim::tool {

const char* const merge_usage =
    "usage: anyio-sim merge [options] OUT.json IN.json...\n"
    "       anyio-sim merge [options] IN.json... -o OUT.json\n"
    "\n"
    "Combines sweep summaries (the --json files of '--anyio-sweep ... --shard K/N') into one:\n"
    "seeds, steps and virtual time are summed, failures listed by test and seed. Prints the\n"
    "totals and, for each failure, the command that replays it. Exit status 0 when no seed\n"
    "failed, 1 when some did, 2 on bad usage or an unreadable summary. Refuses the same shard\n"
    "twice (its seeds would count twice) and shards of different strategies; warns about\n"
    "missing shards. In the first form OUT must not be an existing shard (a likely mix-up).\n"
    "\n"
    "options:\n"
    "  -o OUT         write the merged summary to OUT ('-' for standard output)\n"
    "  --program P    the test binary, for the replay commands (default: <test-binary>)\n"
    "  -h, --help     this text\n";

namespace {

struct input {
  std::string path;
  sweep_summary summary;
};

sweep_summary load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open sweep summary");
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    return sweep_summary::from_json(buf.str());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::string shard_name(const sweep_summary& s) {
  return std::to_string(s.shard.index) + "/" + std::to_string(s.shard.count);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// Rejects inputs that are not shards of one sweep; warns about missing shards.
void check_shards(const std::vector<input>& inputs) {
  // A shard is identified by what it ran: its tests, range, strategy and K/N.
  std::map<std::string, std::string> seen;
  std::map<std::uint64_t, std::set<std::uint64_t>> indices_by_count;
  for (const input& in : inputs) {
    const sweep_summary& s = in.summary;
    if (s.strategy != inputs[0].summary.strategy)
      throw std::runtime_error(in.path + " ran strategy '" + s.strategy + "' but " +
                               inputs[0].path + " ran '" + inputs[0].summary.strategy +
                               "': these are not shards of one sweep");
    if (s.shard.count == 0 || s.shard.index >= s.shard.count)
      throw std::runtime_error(in.path + ": field 'shard' is " + shard_name(s) +
                               ", not K/N with 0 <= K < N");
    std::string key = join(s.tests) + "|" + std::to_string(s.first_seed) + "+" +
                      std::to_string(s.seed_count) + "|" + shard_name(s);
    auto [it, fresh] = seen.emplace(key, in.path);
    if (!fresh)
      throw std::runtime_error(in.path + " repeats shard " + shard_name(s) + " of " + it->second +
                               " (same tests and seeds): its seeds would be counted twice");
    indices_by_count[s.shard.count].insert(s.shard.index);
  }
  for (const auto& [count, indices] : indices_by_count) {
    if (count == 1 || indices.size() == count) continue;
    std::string missing;
    for (std::uint64_t k = 0; k < count && missing.size() < 200; ++k)
      if (indices.count(k) == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    std::fprintf(stderr, "anyio-sim merge: warning: missing shard(s) %s of %llu\n",
                 missing.c_str(), static_cast<unsigned long long>(count));
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
  for (const sweep_failure& f : m.failures) {
    out.print("");
    std::string what = printable(f.outcome);
    if (!f.exception_type.empty()) what += ": " + printable(f.exception_type);
    if (!f.message.empty()) what += ": " + printable(f.message);
    out.print("seed " + std::to_string(f.seed) + " of '" + printable(f.test) + "': " + what);
    if (!f.trace_path.empty())
      out.print("  replay: " + printable(program + " " + shell_quote(f.test) +
                                         " --anyio-replay " + shell_quote(f.trace_path)));
    // ANYIO_SEED reruns with the default strategy (random); other strategies
    // need a one-seed sweep, which also traces the seed if it fails.
    if (m.strategy == "random" || m.strategy.empty())
      out.print("  rerun:  " + printable("ANYIO_BACKEND=sim ANYIO_SEED=" +
                                         std::to_string(f.seed) + " " + program + " " +
                                         shell_quote(f.test)));
    else
      out.print("  rerun:  " + printable(program + " " + shell_quote(f.test) + " --anyio-sweep " +
                                         std::to_string(f.seed) + ".." +
                                         std::to_string(f.seed + 1) + " --strategy " +
                                         shell_quote(m.strategy)));
  }
}

}  // namespace

int run_merge(const std::vector<std::string>& args) {
  arguments a(args, {"-o", "--program"}, {});
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
        existing = load(out_path);
      } catch (const std::runtime_error&) {  // not a summary: a plain output file
      }
      if (existing && existing->shard.count > 1)
        throw usage_error(out_path + " is shard " + shard_name(*existing) +
                          " of a sweep, not an output; to print a merge, use -o -");
    }
  }
  if (in_paths.empty()) throw usage_error("no input summaries given");
  for (const std::string& p : in_paths)
    if (p == out_path) throw usage_error(p + " is both an input and the output");
  std::vector<input> inputs;
  for (const std::string& p : in_paths) inputs.push_back({p, load(p)});
  check_shards(inputs);
  sweep_summary merged = inputs[0].summary;
  for (std::size_t i = 1; i < inputs.size(); ++i) merged.merge(inputs[i].summary);
  write_summary(out_path, merged);
  output out(out_path == "-" ? stderr : stdout);
  report(out, inputs, merged, a.value("--program").value_or("<test-binary>"), out_path);
  return merged.failures.empty() ? exit_ok : exit_found;
}

}  // namespace anyio::sim::tool
