// SPDX-License-Identifier: MIT
// Sweep summaries as anyio-sim reads them (merge, show): checked the way the
// trace reader checks traces before sweep_summary::from_json converts them.
// from_json takes what it is given — "version": 7 or a missing version, a
// count of -5 (which it turns into 18446744073709551611) — and merge would
// write that back as a valid version-1 summary, so every field is checked
// here for presence, type and range, and the failures against the shard's
// seeds; the first problem is an error naming the file and the field.
// Fields this build does not know are accepted: a newer sweep may add some.
#include "tool.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

namespace anyio::sim::tool {

namespace {

using json = nlohmann::json;

}  // namespace

// From the writer itself, so the two cannot drift apart.
std::int64_t summary_version() {
  static const std::int64_t v = [] {
    const json j = json::parse(sweep_summary{}.to_json(), nullptr, false);
    return j.is_object() && j.contains("version") && j["version"].is_number_integer()
               ? j["version"].get<std::int64_t>()
               : std::int64_t{1};
  }();
  return v;
}

namespace {

class checker {
 public:
  checker(const std::string& path, const json& j, std::string prefix = "")
      : path_(path), j_(j), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw std::runtime_error(path_ + ": field '" + prefix_ + field + "' " + problem);
  }
  const json& get(const char* field) const {
    auto it = j_.find(field);
    if (it == j_.end()) fail(field, "is missing");
    return *it;
  }
  std::uint64_t u64(const char* field) const {
    const json& v = get(field);
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return v.get<std::uint64_t>();
    if (v.is_number_integer())
      fail(field, "is " + std::to_string(v.get<std::int64_t>()) + ", not a count (negative)");
    fail(field, "must be a non-negative integer, got " + shown(v));
  }
  std::string str(const char* field) const {
    const json& v = get(field);
    if (!v.is_string()) fail(field, "must be a string, got " + shown(v));
    return v.get<std::string>();
  }
  const json& array(const char* field) const {
    const json& v = get(field);
    if (!v.is_array()) fail(field, "must be an array, got " + shown(v));
    return v;
  }
  const json& object(const char* field) const {
    const json& v = get(field);
    if (!v.is_object()) fail(field, "must be an object, got " + shown(v));
    return v;
  }

 private:
  static std::string shown(const json& v) { return quote_trace_line(v.dump(), 60); }
  const std::string& path_;
  const json& j_;
  std::string prefix_;
};

/// How many seeds of `count` shard `k` of `n` runs (every n-th from the k-th).
std::uint64_t seeds_of_shard(std::uint64_t count, std::uint64_t k, std::uint64_t n) {
  return count / n + (k < count % n ? 1 : 0);
}

void validate(const std::string& path, const json& j) {
  const checker c(path, j);
  const std::int64_t want = summary_version();
  const json& version = c.get("version");
  if (!version.is_number_integer())
    c.fail("version", "must be an integer, got " + quote_trace_line(version.dump(), 60));
  if (version.get<std::int64_t>() != want)
    c.fail("version", "is " + version.dump() + ", but this build reads version " +
                          std::to_string(want));
  const std::string strategy = c.str("strategy");
  try {
    (void)strategy_from_string(strategy);
  } catch (const std::invalid_argument&) {
    c.fail("strategy", "has unknown name \"" + printable(quote_trace_line(strategy, 60)) + "\"");
  }
  const std::uint64_t first = c.u64("first_seed");
  const std::uint64_t count = c.u64("seed_count");
  if (count > std::numeric_limits<std::uint64_t>::max() - first)
    c.fail("seed_count", "runs the seed range past 2^64");
  const checker shard(path, c.object("shard"), "shard.");
  const std::uint64_t n = shard.u64("count");
  const std::uint64_t k = shard.u64("index");
  if (n == 0) shard.fail("count", "is 0 (a sweep has at least one shard)");
  if (k >= n)
    shard.fail("index", "is " + std::to_string(k) + ", not below the shard count " +
                            std::to_string(n));
  std::vector<std::string> tests;
  for (const json& t : c.array("tests")) {
    if (!t.is_string()) c.fail("tests", "must hold strings");
    tests.push_back(t.get<std::string>());
  }
  const std::uint64_t run = c.u64("seeds_run");
  // Each test runs the shard's seeds once (fewer if the sweep stopped at
  // its first failure); a merged summary is shard 0/1 of the whole range.
  const std::uint64_t mine = seeds_of_shard(count, k, n);
  const std::uint64_t per = std::max<std::uint64_t>(1, tests.size());
  // An exhaustive sweep counts schedules of its one seed, not seeds.
  if (strategy != "exhaustive" && mine <= std::numeric_limits<std::uint64_t>::max() / per &&
      run > mine * per)
    c.fail("seeds_run", "is " + std::to_string(run) + ", more than the " + std::to_string(mine) +
                            " seeds of shard " + std::to_string(k) + "/" + std::to_string(n) +
                            (per == 1 ? "" : " times " + std::to_string(per) + " tests"));
  (void)c.u64("steps");
  (void)c.u64("virtual_time_ns");
  const json& failures = c.array("failures");
  if (failures.size() > run)
    c.fail("failures", "lists " + std::to_string(failures.size()) + " failures of " +
                           std::to_string(run) + " seeds run");
  for (std::size_t i = 0; i < failures.size(); ++i) {
    const std::string prefix = "failures[" + std::to_string(i) + "].";
    if (!failures[i].is_object()) c.fail("failures", "must hold objects");
    const checker f(path, failures[i], prefix);
    const std::uint64_t seed = f.u64("seed");
    if (seed < first || seed - first >= count || (seed - first) % n != k)
      f.fail("seed", "is " + std::to_string(seed) + ", not a seed of shard " + std::to_string(k) +
                         "/" + std::to_string(n) + " of seeds " + std::to_string(first) + ".." +
                         std::to_string(first + count));
    const std::string test = f.str("test");
    if (!tests.empty() && std::find(tests.begin(), tests.end(), test) == tests.end())
      f.fail("test", "is \"" + printable(quote_trace_line(test, 60)) +
                         "\", not one of the summary's 'tests'");
    for (const char* field : {"outcome", "exception", "message", "trace"}) (void)f.str(field);
  }
}

std::string read_all(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
    if (std::cin.bad()) throw std::runtime_error("<stdin>: cannot read");
    return buf.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open sweep summary");
  buf << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": cannot read sweep summary");
  return buf.str();
}

}  // namespace

bool file_is_sweep_summary(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > (std::uintmax_t{64} << 20)) return false;  // summaries are small
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return in && is_sweep_summary(buf.str());
}

trace_reader open_trace(const std::string& path) {
  try {
    return trace_reader(path, unfinished_trace::accept);
  } catch (const trace_error& e) {
    if (e.line() == 1 && file_is_sweep_summary(path))
      throw std::runtime_error(path + ": a sweep summary (format anyio-sim-sweep), not a trace; "
                               "'anyio-sim show " + path + "' prints it");
    throw;
  }
}

bool is_sweep_summary(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  return j.is_object() && j.contains("format") && j["format"] == "anyio-sim-sweep";
}

sweep_summary parse_summary(const std::string& text, const std::string& path) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    // A trace (JSON Lines) is the likely mix-up: say so.
    const json first = json::parse(text.substr(0, text.find('\n')), nullptr, false);
    if (first.is_object() && first.contains("format") && first["format"] == "anyio-sim-trace")
      throw std::runtime_error(path + ": a trace (format anyio-sim-trace), not a sweep summary; "
                               "'anyio-sim show " + path + "' prints it");
    throw std::runtime_error(path + ": not an anyio-sim sweep summary: not valid JSON");
  }
  if (!j.is_object())
    throw std::runtime_error(path + ": not an anyio-sim sweep summary: not a JSON object");
  auto format = j.find("format");
  if (format == j.end())
    throw std::runtime_error(path +
                             ": not an anyio-sim sweep summary: field 'format' is missing");
  if (*format != "anyio-sim-sweep")
    throw std::runtime_error(path + ": not an anyio-sim sweep summary: field 'format' is " +
                             printable(quote_trace_line(format->dump(), 60)) +
                             ", expected \"anyio-sim-sweep\"");
  validate(path, j);
  try {
    return sweep_summary::from_json(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

sweep_summary read_summary(const std::string& path) {
  return parse_summary(read_all(path), path == "-" ? "<stdin>" : path);
}

std::string shard_name(const sweep_summary& s) {
  return std::to_string(s.shard.index) + "/" + std::to_string(s.shard.count);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void describe_failures(output& out, const sweep_summary& m, const std::string& program) {
  // A common bug fails thousands of seeds: the first few are all anyone
  // reads, and every one stays in the JSON.
  constexpr std::size_t shown = 20;
  for (std::size_t i = 0; i < m.failures.size() && i < shown; ++i) {
    const sweep_failure& f = m.failures[i];
    out.print("");
    std::string what = printable(f.outcome);
    if (!f.exception_type.empty()) what += ": " + printable(f.exception_type);
    if (!f.message.empty()) what += ": " + printable(quote_trace_line(f.message));
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
  if (m.failures.size() > shown)
    out.print("\n... and " + std::to_string(m.failures.size() - shown) +
              " more failing seeds (every one is in the summary's JSON)");
}

}  // namespace anyio::sim::tool
