// SPDX-License-Identifier: MIT
// The simulated-world demo (docs/simulated-world.md) and the same key set
// on the real backend. Without a mode it sweeps seeds of the replicated key
// set (kv.hpp) under a swarmed plan of crashes and partitions, and for the
// first failing seed writes its trace, replays it and shrinks it to the
// faults the bug needs; `--fixed` sweeps the fixed version instead,
// `--seeds N` sets how many seeds (default 1000) and `--trace-dir DIR` where
// the traces go (default: anyio-kv-demo in the temporary directory).
//
// `--realio` runs the fixed version as real processes on loopback: this
// program re-executed once per role (`--role backup|primary|client`, each
// printing the port the OS gave it), a client writing keys, the primary
// killed with SIGKILL in the middle and restarted on its port, and then a
// second client checking that every acknowledged write is still there (the
// restarted primary has only what it recovered from the backup). The
// children die with the driver (PR_SET_PDEATHSIG), and a shielded cleanup
// kills and reaps them if the driver fails (`--realio --inject-failure`
// makes it fail with three children running, for the test of that).
#include "kv.hpp"

#include <anyio/process.hpp>
#include <anyio/sim.hpp>

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

// "host:port" (the last ':' splits, so "127.0.0.1:0" and "localhost:7000").
struct address {
  std::string host;
  std::uint16_t port = 0;
};

address parse_address(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
  const std::string digits = text.substr(colon + 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 5 ||
      std::stoul(digits) > 65535)
    throw std::invalid_argument("bad port in '" + text + "'");
  return {text.substr(0, colon), static_cast<std::uint16_t>(std::stoul(digits))};
}

std::string key(int i) { return "k" + std::to_string(i); }

void print_line(const std::string& line) {
  // The driver reads these through a pipe: each must arrive as it happens.
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// --role client: --writes N writes k0..kN-1 ("acked k" for each the primary
// acknowledged); --verify k1,k2,... asks for each and fails on a missing one.
anyio::task<int> client_role(kv::config cfg, int writes, std::string verify) {
  if (writes > 0) {
    for (int i = 0; i < writes; ++i) {
      if (co_await kv::ask_primary(cfg, "SET " + key(i)) == "OK") print_line("acked " + key(i));
      co_await anyio::sleep(20ms);
    }
    print_line("writes done");
    co_return 0;
  }
  int lost = 0;
  int have = 0;
  for (std::size_t p = 0; p < verify.size();) {
    std::size_t q = verify.find(',', p);
    if (q == std::string::npos) q = verify.size();
    const std::string k = verify.substr(p, q - p);
    p = q + 1;
    if (co_await kv::ask_primary(cfg, "GET " + k) == "HAVE") {
      ++have;
    } else {
      ++lost;
      print_line("LOST acknowledged write " + k);
    }
  }
  print_line("verified: " + std::to_string(have) + " present, " + std::to_string(lost) + " lost");
  co_return lost == 0 ? 0 : 1;
}

// One child role of the driver, with the line it printed when it listened.
struct child {
  std::optional<anyio::process> proc;
  std::string name;
};

// The port in "<role> listening on HOST:PORT", read from the child's stdout.
anyio::task<std::uint16_t> listening_port(child& c) {
  const std::string line = co_await kv::read_line(*c.proc->stdout_stream());
  const std::size_t at = line.find(" listening on ");
  if (at == std::string::npos)
    throw std::runtime_error(c.name + " did not report its port: '" + line + "'");
  co_return parse_address(line.substr(at + 14)).port;
}

class driver {
 public:
  driver(std::string exe, bool inject_failure)
      : exe_(std::move(exe)), inject_failure_(inject_failure) {}

  anyio::task<int> run() {
    std::exception_ptr failure;
    int status = 1;
    try {
      status = co_await anyio::fail_after(60s).run([&]() { return scenario(); });
    } catch (...) {  // also cancellation: the children go first, then it goes on
      failure = std::current_exception();
    }
    // Whatever happened, no child outlives the driver.
    anyio::cancel_scope shield{{.shield = true}};
    co_await shield.run([&]() -> anyio::task<> {
      co_await stop(client_);
      co_await stop(primary_);
      co_await stop(backup_);
    });
    for (const std::int64_t pid : pids_) {
      if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
        throw std::logic_error("child " + std::to_string(pid) + " is still there");
    }
    print_line("all " + std::to_string(pids_.size()) + " child processes reaped");
    if (failure) std::rethrow_exception(failure);
    co_return status;
  }

 private:
  anyio::task<> start(child& c, std::vector<std::string> role_args) {
    std::vector<std::string> argv{exe_};
    argv.insert(argv.end(), role_args.begin(), role_args.end());
    argv.insert(argv.end(), {"--parent", std::to_string(::getpid())});
    anyio::process_options o;
    o.stdin_mode = anyio::redirect::devnull;
    o.stderr_mode = anyio::redirect::inherit;
    c.proc = co_await anyio::open_process(argv, o);
    pids_.push_back(c.proc->pid());
  }

  static anyio::task<> stop(child& c) {
    if (!c.proc) co_return;
    c.proc->kill();
    co_await c.proc->aclose();
    c.proc.reset();
  }

  // A real crash: no cleanup runs, its memory (the keys) is gone. It comes
  // back on the same port, recovering from the backup.
  anyio::task<> crash_primary(std::size_t acked, std::string primary_at, std::string backup_at) {
    primary_.proc->kill();
    const int rc = co_await primary_.proc->wait();
    primary_.proc.reset();
    print_line("killed the primary with SIGKILL after " + std::to_string(acked) +
               " acknowledged writes (exit status " + std::to_string(rc) + ")");
    co_await anyio::sleep(100ms);  // the client meets a dead primary for a while
    std::vector<std::string> args{"--role", "primary", "--listen", primary_at, "--backup",
                                  backup_at};
    co_await start(primary_, args);
    (void)co_await listening_port(primary_);
    print_line("restarted the primary (pid " + std::to_string(primary_.proc->pid()) + ") on " +
               primary_at + "; it recovered its keys from the backup");
  }

  anyio::task<int> scenario() {
    constexpr int writes = 40;
    constexpr int kill_after = 12;
    backup_.name = "backup";
    // Named argument vectors: g++ 12 rejects a braced list alive across a co_await.
    std::vector<std::string> args{"--role", "backup", "--listen", "127.0.0.1:0"};
    co_await start(backup_, args);
    const std::uint16_t backup_port = co_await listening_port(backup_);
    const std::string backup_at = "127.0.0.1:" + std::to_string(backup_port);
    print_line("backup  (pid " + std::to_string(backup_.proc->pid()) + ") on " + backup_at);

    primary_.name = "primary";
    args = {"--role", "primary", "--listen", "127.0.0.1:0", "--backup", backup_at};
    co_await start(primary_, args);
    const std::uint16_t primary_port = co_await listening_port(primary_);
    const std::string primary_at = "127.0.0.1:" + std::to_string(primary_port);
    print_line("primary (pid " + std::to_string(primary_.proc->pid()) + ") on " + primary_at);

    client_.name = "client";
    args = {"--role", "client", "--primary", primary_at, "--writes", std::to_string(writes)};
    co_await start(client_, args);
    print_line("client  (pid " + std::to_string(client_.proc->pid()) + ") writes " +
               std::to_string(writes) + " keys");
    std::vector<std::string> acked;
    for (;;) {
      const std::string line = co_await kv::read_line(*client_.proc->stdout_stream());
      if (line == "writes done") break;
      if (line.rfind("acked ", 0) != 0)
        throw std::runtime_error("unexpected line from the client: '" + line + "'");
      acked.push_back(line.substr(6));
      if (inject_failure_ && acked.size() == 3)
        throw std::runtime_error("injected failure of the driver (--inject-failure)");
      if (acked.size() == kill_after) co_await crash_primary(kill_after, primary_at, backup_at);
    }
    const int client_rc = co_await client_.proc->wait();
    client_.proc.reset();
    if (client_rc != 0) throw std::runtime_error("the writing client failed");
    print_line(std::to_string(acked.size()) + " of " + std::to_string(writes) +
               " writes acknowledged");
    if (acked.size() <= kill_after)
      throw std::runtime_error("no write was acknowledged after the restart");

    std::string list;
    for (const auto& k : acked) list += (list.empty() ? "" : ",") + k;
    anyio::process_options o;
    o.check = false;
    o.stderr_mode = anyio::redirect::inherit;
    args = {exe_, "--role", "client", "--primary", primary_at, "--verify", list, "--parent",
            std::to_string(::getpid())};
    const auto verified = co_await anyio::run_process(args, o);
    std::printf("%s", verified.out.c_str());
    if (verified.returncode != 0) {
      print_line("FAILED: an acknowledged write was lost");
      co_return 1;
    }
    print_line("every acknowledged write survived the primary's crash");
    co_return 0;
  }

  std::string exe_;
  bool inject_failure_ = false;
  child backup_, primary_, client_;
  std::vector<std::int64_t> pids_;
};

int usage(const char* argv0, const std::string& problem) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--fixed] [--seeds N] [--trace-dir DIR]   sweep seeds on sim\n"
               "       %s --realio [--inject-failure]     the fixed version as real processes\n"
               "       %s --role backup --listen HOST:PORT\n"
               "       %s --role primary --listen HOST:PORT --backup HOST:PORT\n"
               "       %s --role client --primary HOST:PORT (--writes N | --verify k1,k2,...)\n"
               "(PORT 0: the OS chooses; each server prints \"listening on HOST:PORT\")\n",
               argv0, problem.c_str(), argv0, argv0, argv0, argv0, argv0);
  return 2;
}

// The roles and the driver run on realio.
int run_real(const std::string& role, const std::string& listen, const std::string& backup,
             const std::string& primary, int writes, const std::string& verify,
             bool inject_failure) {
  if (role.empty()) {
    return anyio::run([inject_failure]() -> anyio::task<int> {
      driver d(std::filesystem::canonical("/proc/self/exe").string(), inject_failure);
      co_return co_await d.run();
    });
  }
  kv::config cfg;
  if (role == "backup" || role == "primary") {
    const address l = parse_address(listen);
    cfg.listen_host = l.host;
    if (role == "backup") cfg.backup_port = l.port;
    if (role == "primary") cfg.primary_port = l.port;
    cfg.on_listening = [role, host = l.host](std::uint16_t port) {
      print_line(role + " listening on " + host + ":" + std::to_string(port));
    };
  }
  if (role == "primary") {
    const address b = parse_address(backup);
    cfg.backup_host = b.host;
    cfg.backup_port = b.port;
  }
  if (role == "client") {
    const address p = parse_address(primary);
    cfg.primary_host = p.host;
    cfg.primary_port = p.port;
  }
  if (role == "backup") {
    return anyio::run([cfg]() -> anyio::task<int> {
      std::set<std::string> disk;  // lives as long as the process: the backup never crashes
      co_await kv::backup_main(&disk, cfg);
      co_return 0;
    });
  }
  if (role == "primary") {
    return anyio::run([cfg]() -> anyio::task<int> {
      co_await kv::primary_main(true, cfg);
      co_return 0;
    });
  }
  return anyio::run([cfg, writes, verify]() { return client_role(cfg, writes, verify); });
}

// The sim mode: sweep, and for a failure replay and shrink (see the top).
int sweep_sim(bool fixed, std::uint64_t seeds, const std::string& trace_dir) {
  auto body = [fixed]() { return kv::scenario(fixed, kv::demo_plan()); };
  const std::string dir = !trace_dir.empty()
                              ? trace_dir
                              : (std::filesystem::temp_directory_path() / "anyio-kv-demo").string();
  std::filesystem::create_directories(dir);
  anyio::sim::sweep_options so;
  so.seeds = {0, seeds};
  so.trace_dir = dir;
  so.test_name = fixed ? "kv_fixed" : "kv";
  so.stop_at_first_failure = true;
  so.progress = false;
  const auto summary = anyio::sim::sweep(body, so);
  if (summary.failures.empty()) {
    std::printf("%s: %llu seeds passed\n", so.test_name.c_str(),
                static_cast<unsigned long long>(summary.seeds_run));
    return 0;
  }
  const auto& f = summary.failures[0];
  std::printf("seed %llu fails: %s\ntrace: %s\n", static_cast<unsigned long long>(f.seed),
              f.message.c_str(), f.trace_path.c_str());
  try {
    anyio::sim::replay(body, f.trace_path);
  } catch (const std::exception& e) {
    std::printf("the replay fails the same way: %s\n", e.what());
  }
  anyio::sim::shrink_options sh;
  sh.progress = false;
  const auto shrunk = anyio::sim::shrink(body, f.trace_path, dir + "/kv-min.jsonl", sh);
  std::printf("shrunk: %s\nminimal trace: %s\n", shrunk.summary().c_str(),
              shrunk.trace_path.c_str());
  return 1;
}

// What a role lacks among its arguments, or "".
std::string missing_argument(const std::string& role, const std::string& listen,
                             const std::string& backup, const std::string& primary, int writes,
                             const std::string& verify) {
  if ((role == "backup" || role == "primary") && listen.empty())
    return "--role " + role + " needs --listen HOST:PORT";
  if (role == "primary" && backup.empty()) return "--role primary needs --backup HOST:PORT";
  if (role == "client" && (primary.empty() || (writes <= 0) == verify.empty()))
    return "--role client needs --primary HOST:PORT and one of --writes N, --verify";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  bool fixed = false;
  bool realio = false;
  bool inject_failure = false;
  std::uint64_t seeds = 1000;
  std::string role, listen, backup, primary, verify, trace_dir;
  int writes = 0;
  long parent = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const bool has_value = i + 1 < argc;
      if (a == "--help" || a == "-h") {
        (void)usage(argv[0], "the replicated key set of docs/simulated-world.md");
        return 0;
      } else if (a == "--fixed") {
        fixed = true;
      } else if (a == "--realio") {
        realio = true;
      } else if (a == "--inject-failure") {
        inject_failure = true;
      } else if (a == "--seeds" && has_value) {
        seeds = std::stoull(argv[++i]);
      } else if (a == "--trace-dir" && has_value) {
        trace_dir = argv[++i];
      } else if (a == "--role" && has_value) {
        role = argv[++i];
        if (role != "backup" && role != "primary" && role != "client")
          return usage(argv[0], "unknown role '" + role + "'");
      } else if (a == "--listen" && has_value) {
        listen = argv[++i];
      } else if (a == "--backup" && has_value) {
        backup = argv[++i];
      } else if (a == "--primary" && has_value) {
        primary = argv[++i];
      } else if (a == "--writes" && has_value) {
        writes = std::stoi(argv[++i]);
      } else if (a == "--verify" && has_value) {
        verify = argv[++i];
      } else if (a == "--parent" && has_value) {
        parent = std::stol(argv[++i]);
      } else {
        return usage(argv[0], "unknown or incomplete argument '" + a + "'");
      }
    }
    const std::string missing = missing_argument(role, listen, backup, primary, writes, verify);
    if (!missing.empty()) return usage(argv[0], missing);
  } catch (const std::exception& e) {  // std::stoi and parse_address on bad numbers
    return usage(argv[0], std::string("bad argument: ") + e.what());
  }
  if (parent != 0) {
    // Started by the driver: die with it, even if it is killed itself.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 1;  // it died before prctl took effect
  }
  if (realio || !role.empty()) {
    try {
      return run_real(role, listen, backup, primary, writes, verify, inject_failure);
    } catch (const std::exception& e) {
      // E.g. "address in use" for a fixed --listen port: a message, not a crash.
      std::fprintf(stderr, "%s%s: %s\n", argv[0], role.empty() ? "" : (" " + role).c_str(),
                   e.what());
      return 1;
    }
  }

  return sweep_sim(fixed, seeds, trace_dir);
}
