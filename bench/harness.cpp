// SPDX-License-Identifier: MIT
// main() of every benchmark binary: parses the options, runs each registered
// variant in `rounds` forked children of `warmup + reps` repetitions each,
// and writes one JSON record per workload x backend (median of all timed
// repetitions). Rounds interleave the variants, so a burst of load from
// another process on a shared machine hits every backend, not just one.
// Children report raw samples and getrusage peak RSS over a pipe.
#include "harness.hpp"

#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace anyio_bench {

namespace {

using steady = std::chrono::steady_clock;

std::vector<workload>& registry() {
  static std::vector<workload> all;
  return all;
}

// CPU time of every thread of the process: a variant that moves work to a
// helper thread (the trace writer) shows it here even when wall time hides it.
double cpu_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct marks {
  steady::time_point t0{}, t1{};
  double c0 = 0, c1 = 0;  // process CPU seconds
  std::uint64_t a0 = 0, a1 = 0;  // heap allocations
  std::uint64_t n0 = 0, n1 = 0;  // operator new calls
  std::uint64_t b0 = 0, b1 = 0;  // operator new bytes
  std::uint64_t resident_growth = 0, frame_bytes = 0;  // note_memory
  int begun = 0, ended = 0;
};
marks current_marks;

struct sample {
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t allocations = 0;
  std::uint64_t new_calls = 0;
  std::uint64_t new_bytes = 0;
  std::uint64_t resident_growth = 0;  // note_memory; 0 if not reported
  std::uint64_t frame_bytes = 0;
};

struct child_trailer {
  std::uint32_t samples = 0;
  long base_rss_kb = 0;
  long peak_rss_kb = 0;
};

struct options {
  int rounds = 5;
  int reps = 3;
  int warmup = 1;
  std::uint64_t ops = 0;  // 0 = each workload's own
  double scale = 1.0;
  std::string filter{};
  std::string json_path{};
  bool list = false;
  bool fork = true;
};

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

sample run_once(const variant& v, std::uint64_t ops) {
  current_marks = {};
  const std::uint64_t n0 = operator_new_count();
  const std::uint64_t b0 = operator_new_bytes();
  const std::uint64_t a0 = allocation_count();
  const double c0 = cpu_now();
  const auto t0 = steady::now();
  v.run(ops);
  const auto t1 = steady::now();
  const double c1 = cpu_now();
  const std::uint64_t a1 = allocation_count();
  const std::uint64_t n1 = operator_new_count();
  const std::uint64_t b1 = operator_new_bytes();
  const marks& m = current_marks;
  if (m.begun == 0 && m.ended == 0)
    return {std::chrono::duration<double>(t1 - t0).count(), c1 - c0, a1 - a0, n1 - n0, b1 - b0,
            m.resident_growth, m.frame_bytes};
  if (m.begun != 1 || m.ended != 1)
    throw std::logic_error("a variant must call begin_measure() and end_measure() once each "
                           "per repetition (or neither)");
  return {std::chrono::duration<double>(m.t1 - m.t0).count(), m.c1 - m.c0, m.a1 - m.a0,
          m.n1 - m.n0, m.b1 - m.b0, m.resident_growth, m.frame_bytes};
}

bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

struct round_result {
  std::vector<sample> samples;
  child_trailer trailer;
};

// One round: warmup (untimed) then `reps` timed repetitions.
round_result run_reps(const variant& v, std::uint64_t ops, const options& o) {
  round_result out;
  out.trailer.base_rss_kb = max_rss_kb();
  for (int i = 0; i < o.warmup; ++i) run_once(v, ops);
  for (int i = 0; i < o.reps; ++i) out.samples.push_back(run_once(v, ops));
  out.trailer.samples = static_cast<std::uint32_t>(out.samples.size());
  out.trailer.peak_rss_kb = max_rss_kb();
  return out;
}

int child_main(int fd, const variant& v, std::uint64_t ops, const options& o) {
  try {
    const round_result r = run_reps(v, ops, o);
    if (!write_all(fd, r.samples.data(), r.samples.size() * sizeof(sample))) return 3;
    return write_all(fd, &r.trailer, sizeof r.trailer) ? 0 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "bench: unknown exception\n");
  }
  return 2;
}

round_result run_round(const variant& v, std::uint64_t ops, const options& o) {
  if (!o.fork) return run_reps(v, ops, o);
  round_result out;
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    _exit(child_main(fds[1], v, ops, o));
  }
  ::close(fds[1]);
  std::string bytes;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) bytes.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bytes.size() < sizeof(child_trailer))
    throw std::runtime_error("the benchmark child process failed");
  std::memcpy(&out.trailer, bytes.data() + bytes.size() - sizeof(child_trailer),
              sizeof(child_trailer));
  out.samples.resize(out.trailer.samples);
  if (bytes.size() != out.samples.size() * sizeof(sample) + sizeof(child_trailer))
    throw std::runtime_error("the benchmark child process sent a malformed report");
  std::memcpy(out.samples.data(), bytes.data(), out.samples.size() * sizeof(sample));
  return out;
}

template <class T> double median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? double(v[n / 2]) : (double(v[n / 2 - 1]) + double(v[n / 2])) / 2;
}

nlohmann::ordered_json make_record(const workload& w, const variant& v, std::uint64_t ops,
                                   const std::vector<round_result>& rounds) {
  std::vector<double> seconds, cpu;
  std::vector<std::uint64_t> allocs, news, new_bytes, resident, frames;
  long base = 0, peak = 0;
  for (const auto& r : rounds) {
    for (const auto& s : r.samples) {
      if (s.frame_bytes != 0) {
        resident.push_back(s.resident_growth);
        frames.push_back(s.frame_bytes);
      }
      seconds.push_back(s.seconds);
      cpu.push_back(s.cpu_seconds);
      allocs.push_back(s.allocations);
      news.push_back(s.new_calls);
      new_bytes.push_back(s.new_bytes);
    }
    base = std::max(base, r.trailer.base_rss_kb);
    peak = std::max(peak, r.trailer.peak_rss_kb);
  }
  const double secs = median(seconds);
  const double n = double(ops);
  nlohmann::ordered_json rec;
  rec["workload"] = w.name;
  rec["name"] = w.name + "/" + v.backend;
  rec["backend"] = v.backend;
  rec["unit"] = w.unit;
  rec["ops"] = ops;
  rec["repetitions"] = seconds.size();
  rec["statistic"] = "median";
  rec["seconds"] = secs;
  rec["seconds_min"] = *std::min_element(seconds.begin(), seconds.end());
  rec["seconds_max"] = *std::max_element(seconds.begin(), seconds.end());
  rec["rate"] = n / secs;
  rec["ns_per_op"] = secs * 1e9 / n;
  rec["cpu_seconds"] = median(cpu);
  rec["cpu_ns_per_op"] = median(cpu) * 1e9 / n;
  rec["allocs_per_op"] = median(allocs) / n;
  rec["allocs_max"] = *std::max_element(allocs.begin(), allocs.end());
  rec["new_per_op"] = median(news) / n;
  rec["new_bytes_per_op"] = median(new_bytes) / n;
  rec["peak_rss_kb"] = peak;
  rec["base_rss_kb"] = base;
  if (!frames.empty()) {
    const double per_op = median(resident) / n;
    const double frame = median(frames);
    rec["rss_bytes_per_op"] = per_op;
    rec["frame_bytes"] = frame;
    rec["bytes_beyond_frame"] = per_op - frame;
  }
  rec["samples_seconds"] = seconds;
  return rec;
}

nlohmann::ordered_json describe(const workload& w) {
  nlohmann::ordered_json j;
  j["name"] = w.name;
  j["label"] = w.label;
  j["unit"] = w.unit;
  if (w.bytes_per_op > 0) j["bytes_per_op"] = w.bytes_per_op;
  j["ops"] = w.ops;
  nlohmann::ordered_json t = nlohmann::ordered_json::object();
  if (w.goals.min_ratio_vs_asio > 0) t["min_ratio_vs_asio"] = w.goals.min_ratio_vs_asio;
  if (w.goals.min_sim_rate > 0) {
    t["min_sim_rate"] = w.goals.min_sim_rate;
    t["sim_rate_unit"] = w.goals.sim_rate_unit;
  }
  if (w.goals.max_allocs_per_op >= 0) t["max_allocs_per_op"] = w.goals.max_allocs_per_op;
  if (w.goals.min_ratio_vs_floor > 0) t["min_ratio_vs_floor"] = w.goals.min_ratio_vs_floor;
  if (w.goals.max_trace_cost > 0) t["max_trace_cost"] = w.goals.max_trace_cost;
  if (w.goals.max_bytes_beyond_frame > 0)
    t["max_bytes_beyond_frame"] = w.goals.max_bytes_beyond_frame;
  j["targets"] = t;
  return j;
}

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s [--rounds N] [--reps N] [--warmup N] [--ops N] [--scale F]\n"
               "          [--filter SUBSTR] [--json PATH] [--list] [--no-fork]\n"
               "Runs each workload/backend in N rounds of forked children, each doing\n"
               "warmup + reps repetitions; writes JSON (to stdout without --json).\n"
               "--no-fork runs in-process (for perf/callgrind; peak RSS then mixes).\n",
               argv0);
  std::exit(code);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0], 2);
      return argv[++i];
    };
    if (a == "--rounds") o.rounds = std::stoi(value());
    else if (a == "--reps") o.reps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--ops") o.ops = std::stoull(value());
    else if (a == "--scale") o.scale = std::stod(value());
    else if (a == "--filter") o.filter = value();
    else if (a == "--json") o.json_path = value();
    else if (a == "--list") o.list = true;
    else if (a == "--no-fork") o.fork = false;
    else if (a == "--help" || a == "-h") usage(argv[0], 0);
    else usage(argv[0], 2);
  }
  if (o.rounds < 1 || o.reps < 1 || o.warmup < 0 || o.scale <= 0) usage(argv[0], 2);
  return o;
}

void print_progress(const nlohmann::ordered_json& r) {
  std::fprintf(stderr,
               "%-28s %9.3f M %s/s %9.2f ns/op (cpu %.2f) %8.3f allocs/op  peak RSS %.1f MiB\n",
               r["name"].get<std::string>().c_str(), r["rate"].get<double>() / 1e6,
               r["unit"].get<std::string>().c_str(), r["ns_per_op"].get<double>(),
               r["cpu_ns_per_op"].get<double>(),
               r["allocs_per_op"].get<double>(), double(r["peak_rss_kb"].get<long>()) / 1024);
  if (r.contains("frame_bytes"))
    std::fprintf(stderr,
                 "%-28s %9.1f resident bytes/%s: frame %.0f + %.1f beyond (operator new: %.1f)\n",
                 "", r["rss_bytes_per_op"].get<double>(), r["unit"].get<std::string>().c_str(),
                 r["frame_bytes"].get<double>(), r["bytes_beyond_frame"].get<double>(),
                 r["new_bytes_per_op"].get<double>());
}

}  // namespace

int add(workload w) {
  registry().push_back(std::move(w));
  return 0;
}

void begin_measure() noexcept {
  ++current_marks.begun;
  current_marks.n0 = operator_new_count();
  current_marks.b0 = operator_new_bytes();
  current_marks.a0 = allocation_count();
  current_marks.c0 = cpu_now();
  current_marks.t0 = steady::now();
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages))
    throw std::runtime_error("cannot read the resident set size from /proc/self/statm");
  return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void note_memory(std::uint64_t resident_growth_bytes, std::uint64_t frame_bytes) noexcept {
  current_marks.resident_growth = resident_growth_bytes;
  current_marks.frame_bytes = frame_bytes;
}

void end_measure() noexcept {
  current_marks.t1 = steady::now();
  current_marks.c1 = cpu_now();
  current_marks.a1 = allocation_count();
  current_marks.n1 = operator_new_count();
  current_marks.b1 = operator_new_bytes();
  ++current_marks.ended;
}

}  // namespace anyio_bench

namespace {

// Runs every selected variant of `w`, round by round; returns the failures.
int run_workload(const anyio_bench::workload& w, const anyio_bench::options& o,
                 nlohmann::ordered_json& doc) {
  using namespace anyio_bench;
  std::uint64_t ops = o.ops ? o.ops : std::uint64_t(double(w.ops) * o.scale);
  ops = std::max<std::uint64_t>(ops, 1);
  anyio_bench::options round_options = o;
  if (w.one_shot) {
    round_options.warmup = 0;
    round_options.reps = 1;
  }
  int failures = 0;
  std::vector<std::vector<round_result>> results(w.variants.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t i = 0; i < w.variants.size(); ++i) {
      const std::string name = w.name + "/" + w.variants[i].backend;
      if (name.find(o.filter) == std::string::npos) continue;
      if (o.list) {
        if (round == 0) std::printf("%s\n", name.c_str());
        continue;
      }
      try {
        results[i].push_back(run_round(w.variants[i], ops, round_options));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench: %s failed: %s\n", name.c_str(), e.what());
        ++failures;
      }
    }
  }
  doc["workloads"].push_back(describe(w));
  for (std::size_t i = 0; i < w.variants.size(); ++i) {
    if (results[i].empty()) continue;
    auto rec = make_record(w, w.variants[i], ops, results[i]);
    print_progress(rec);
    doc["records"].push_back(std::move(rec));
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace anyio_bench;
  const options o = parse(argc, argv);
  nlohmann::ordered_json doc;
  doc["schema"] = "anyio-bench/1";
  doc["config"] = {{"rounds", o.rounds}, {"reps", o.reps}, {"warmup", o.warmup},
                   {"scale", o.scale}, {"fork", o.fork}};
  doc["workloads"] = nlohmann::ordered_json::array();
  doc["records"] = nlohmann::ordered_json::array();
  int failures = 0;
  for (const workload& w : registry()) failures += run_workload(w, o, doc);
  if (o.list) return 0;
  const std::string text = doc.dump(2) + "\n";
  if (o.json_path.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::ofstream out(o.json_path);
    out << text;
    if (!out) {
      std::fprintf(stderr, "bench: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
  }
  return failures ? 1 : 0;
}
