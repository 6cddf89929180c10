// SPDX-License-Identifier: MIT
// A small key-value store kept in a write-ahead log, in two versions, for
// examples/write_ahead_log.cpp and its test (tests/sim/file_wal_test.cpp).
//
// put(key, value) appends one record to the log and syncs it before it
// returns: once put() returned, the write is acknowledged and must survive
// a crash. recover() rebuilds the table from the log after a restart.
//
// The naive log writes "SET key value\n" and its recovery parses every line.
// That is right as long as each record reaches the disk whole — which is all
// a test on a real machine ever sees. A power cut between the write and the
// fsync can leave a torn record ("SET k2 val"), which the naive recovery
// takes for a real value that was never written. Only a crash in that
// window, tearing at a block boundary inside the record, shows it: the sim
// sweep finds such seeds.
//
// The checked log frames each record with its length and a checksum and
// stops recovery at the first record that does not verify, cutting the torn
// tail off the file so later appends follow a whole record.
//
// A failing disk shows a second bug (crash_test_under a fault plan of disk
// faults): a write cut short and then failing leaves part of a record in
// the file, and the naive log appends the next record right after it. The
// checked log stops taking records after any failed put (as databases stop
// after a failed fsync) until it is recovered.
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/sim_world.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <string>
#include <vector>

namespace wal {

/// A checked log that failed a put takes no more records until recovered.
class log_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// FNV-1a, enough to tell a torn record from a whole one.
inline std::uint32_t checksum(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

class log {
 public:
  log(std::string path, bool checked) : path_(std::move(path)), checked_(checked) {}

  /// Open for appending (after recover()).
  anyio::task<> open() { file_ = co_await anyio::open_file(path_, "a"); }

  /// Append one record and make it durable; the write is acknowledged when this returns.
  anyio::task<> put(const std::string& key, const std::string& value) {
    const std::string payload = key + " " + value;
    std::string record;
    if (checked_)
      record = std::to_string(payload.size()) + " " + std::to_string(checksum(payload)) + " " +
               payload + "\n";
    else
      record = "SET " + payload + "\n";
    auto held = co_await lock_.guard();
    if (failed_) throw log_failed("wal: an earlier put failed; recover the log first");
    // Whatever stops a put midway (an I/O error, a cancellation) may leave
    // part of the record in the file: nothing may follow it.
    failed_ = checked_;
    (void)co_await file_.write(record);
    co_await file_.sync();
    failed_ = false;
  }

  anyio::task<> close() { co_await file_.aclose(); }

  /// Read the log back into a table (after a restart or a crash).
  anyio::task<std::map<std::string, std::string>> recover() {
    std::map<std::string, std::string> table;
    const anyio::path p(path_);
    const bool exists = co_await p.exists();  // (g++ 12: no co_await in an if's condition)
    if (!exists) co_return table;
    auto f = co_await anyio::open_file(path_, checked_ ? "r+" : "r");
    std::uint64_t good = 0;  // bytes of whole records
    while (auto line = co_await f.next_line()) {
      std::string key, value;
      if (!(checked_ ? parse_checked(*line, key, value) : parse_naive(*line, key, value))) break;
      table[key] = value;
      good += line->size();
    }
    const anyio::file_stat st = co_await p.stat();
    if (checked_ && good != st.size) {
      // A torn tail: cut it, so the next record starts on a clean line.
      co_await f.truncate(good);
      co_await f.sync();
    }
    co_await f.aclose();
    co_return table;
  }

 private:
  static bool parse_naive(const std::string& line, std::string& key, std::string& value) {
    // "SET key value\n": trusts the line to be whole.
    const auto a = line.find(' ');
    const auto b = line.find(' ', a + 1);
    if (line.compare(0, 4, "SET ") != 0 || b == std::string::npos)
      throw std::runtime_error("recovery: malformed record '" + line + "'");
    key = line.substr(a + 1, b - a - 1);
    value = line.substr(b + 1);
    if (!value.empty() && value.back() == '\n') value.pop_back();
    return true;
  }

  static bool parse_checked(const std::string& line, std::string& key, std::string& value) {
    // "<length> <checksum> key value\n": anything else is a torn tail.
    if (line.empty() || line.back() != '\n') return false;
    const auto a = line.find(' ');
    const auto b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos) return false;
    const std::string payload = line.substr(b + 1, line.size() - b - 2);
    if (std::to_string(payload.size()) != line.substr(0, a) ||
        std::to_string(checksum(payload)) != line.substr(a + 1, b - a - 1))
      return false;
    const auto space = payload.find(' ');
    if (space == std::string::npos) return false;
    key = payload.substr(0, space);
    value = payload.substr(space + 1);
    return true;
  }

  std::string path_;
  bool checked_;
  anyio::async_file file_;
  anyio::lock lock_;
  bool failed_ = false;
};

/// What two clients wrote: every value written for each key, in order, and
/// the last acknowledged one (put() returned).
struct history {
  std::map<std::string, std::vector<std::string>> written;
  std::map<std::string, std::string> acknowledged;
};

/// The recovery of `l`, repeated while the disk fails it (an injected EIO).
inline anyio::task<std::map<std::string, std::string>> recover_retrying(log& l) {
  for (int attempt = 1;; ++attempt) {
    try {
      co_return co_await l.recover();
    } catch (const std::system_error&) {
      if (attempt == 100) throw;
    }
  }
}

/// The crash test: two clients put values until a seeded moment, the power
/// is cut (tearing unsynced writes, with `tear`), and recovery must return,
/// for every key, the acknowledged value or a later one that was written —
/// never a value no one wrote, never an older one. Throws std::runtime_error
/// otherwise (the naive log on some seeds). A client whose put fails (a
/// disk fault) stops: that write is not acknowledged.
inline anyio::task<> crash_test(bool checked, bool tear = true) {
  const std::string dir = "/wal";
  co_await anyio::path(dir).mkdir();
  co_await anyio::path("/").sync();
  log l(dir + "/log", checked);
  co_await l.open();
  co_await anyio::path(dir).sync();  // the log's name is durable
  history h;
  auto client = [&](int id) -> anyio::task<> {
    for (int i = 0;; ++i) {
      const std::string key = "k" + std::to_string((i + id) % 4);
      const std::string value = "value-" + std::to_string(id) + "-" + std::to_string(i) +
                                std::string(40 + (i * 7 + id) % 60, 'x');
      h.written[key].push_back(value);
      try {
        co_await l.put(key, value);
      } catch (const std::system_error&) {
        co_return;
      } catch (const log_failed&) {
        co_return;
      }
      h.acknowledged[key] = value;
    }
  };
  // The power cut comes at a seeded moment (a recorded draw: replay serves it).
  const auto cut = std::chrono::microseconds(100 + anyio::random_below(2000, "power cut"));
  co_await anyio::move_on_after(cut).run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(client, 0);
      tg.start_soon(client, 1);
      co_return;
    });
  });
  anyio::sim::crash_options power_cut;
  power_cut.tear = tear;
  (void)anyio::sim::crash_filesystem(power_cut);

  log restarted(dir + "/log", checked);
  const auto table = co_await recover_retrying(restarted);
  for (const auto& [key, value] : h.acknowledged) {
    auto it = table.find(key);
    if (it == table.end())
      throw std::runtime_error("recovery lost acknowledged key " + key);
    const auto& values = h.written[key];
    auto acked = std::find(values.begin(), values.end(), value);
    auto got = std::find(values.begin(), values.end(), it->second);
    if (got == values.end())
      throw std::runtime_error("recovery: " + key + " = '" + it->second.substr(0, 16) +
                               "...' was never written (a torn record)");
    if (got < acked) throw std::runtime_error("recovery: " + key + " went back in time");
  }
  // The log takes appends again after recovery (unless the disk fails it).
  co_await restarted.open();
  try {
    co_await restarted.put("after", "recovery");
  } catch (const std::system_error&) {
  }
  co_await restarted.close();
}

/// Disk faults for crash_test_under: every kind of filesystem fault, from
/// 100 us (after the test has made its log), short writes the most often.
inline anyio::sim::fault_plan disk_faults() {
  anyio::sim::fault_plan p;
  p.start = std::chrono::microseconds(100);
  p.fs_read_error = p.fs_write_error = p.fs_sync_error = p.fs_no_space = 0.02;
  p.fs_short_write = 0.2;
  p.fs_slow = 0.3;
  return p;
}

/// crash_test under a fault plan: a world with no host but the test's,
/// whose nemesis gives the filesystem the plan's faults. The power cut tears
/// nothing, so what fails is what the faults cause.
inline anyio::task<> crash_test_under(anyio::sim::fault_plan plan, bool checked) {
  anyio::sim::world w;
  w.set_plan(plan);
  // Named before the co_await (g++ 12: docs/DESIGN's closure pitfall).
  anyio::sim::world::main_fn test = [checked]() { return crash_test(checked, false); };
  co_await w.run(std::move(test));
}

/// A sweep of seeds 0..seeds-1 over crash_test (or crash_test_under `plan`),
/// keeping the first failing trace in `trace_dir`.
inline anyio::sim::sweep_summary sweep(bool checked, const std::string& trace_dir,
                                       std::uint64_t seeds = 300,
                                       std::optional<anyio::sim::fault_plan> plan = {}) {
  anyio::sim::sweep_options opts;
  opts.seeds = {0, seeds};
  opts.test_name = std::string(checked ? "wal checked" : "wal naive") + (plan ? " faults" : "");
  opts.trace_dir = trace_dir;
  opts.max_traces = 1;
  opts.progress = false;
  if (plan)
    return anyio::sim::sweep([checked, p = *plan] { return crash_test_under(p, checked); }, opts);
  return anyio::sim::sweep([checked] { return crash_test(checked); }, opts);
}

}  // namespace wal
