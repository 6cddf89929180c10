// SPDX-License-Identifier: MIT
// to_process: the function registry, the worker side (serve_if_worker) and
// the parent's pool of workers, built on open_process (so realio's pipes,
// pidfds and reaping apply) and kept per run in the backend's process
// service. The protocol is one line each way: "<name>\t<args JSON>\n" to the
// worker, "ok\t<result JSON>\n" or "error\t<message>\n" back (JSON text has
// no raw newline). A new worker first writes "anyio-worker ready\n", so a
// program whose main never calls serve_if_worker is reported instead of
// running twice. In the worker, fd 1 is pointed at stderr so that what the
// function prints cannot break the protocol, which keeps a private
// duplicate of the original stdout. On sim the function runs inline at a
// checkpoint, through the same JSON text.
#include "runtime/kernel.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/detail/process.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/to_process.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace anyio::to_process {

namespace {

constexpr const char* marker = "ANYIO_TO_PROCESS_WORKER";
constexpr const char* ready_line = "anyio-worker ready";
// anyio's WORKER_MAX_IDLE_TIME: an idle worker older than this is retired.
constexpr std::int64_t max_idle_ns = 300'000'000'000;

struct registry {
  std::mutex mutex;
  std::map<std::string, detail::erased_function, std::less<>> functions;
  std::map<const void*, std::string> names;
};

registry& functions() {
  static registry r;
  return r;
}

detail::erased_function find(const std::string& name) {
  registry& r = functions();
  std::lock_guard lock(r.mutex);
  auto it = r.functions.find(name);
  if (it == r.functions.end()) return {};
  return it->second;
}

/// Runs a registered function: "ok" and the result, or "error" and why.
std::pair<bool, std::string> invoke(const std::string& name, const std::string& args) {
  detail::erased_function fn = find(name);
  if (!fn) return {false, "no function is registered as '" + name + "' in the worker"};
  try {
    return {true, fn(args)};
  } catch (const std::exception& e) {
    return {false, e.what()};
  } catch (...) {
    return {false, "an exception that is not a std::exception"};
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

// ------------------------------------------------------------- the parent

struct worker {
  explicit worker(process p) : proc(std::move(p)) {}
  process proc;
  std::string buffered;       // received, not yet consumed
  std::int64_t idle_since = 0;
};

class pool final : public anyio::detail::run_state {
 public:
  explicit pool(std::size_t cpus) : limiter(cpus) {}
  capacity_limiter limiter;
  std::vector<std::unique_ptr<worker>> idle;  // most recently used last
};

pool& pool_of(anyio::detail::process_service& service) {
  if (!service.to_process_state) {
    const unsigned n = std::thread::hardware_concurrency();
    service.to_process_state = std::make_unique<pool>(n == 0 ? 1 : n);
  }
  return static_cast<pool&>(*service.to_process_state);
}

/// The next line from the worker; end_of_stream if it closed stdout.
task<std::string> read_line(worker& w) {
  for (;;) {
    const auto nl = w.buffered.find('\n');
    if (nl != std::string::npos) {
      std::string line = w.buffered.substr(0, nl);
      w.buffered.erase(0, nl + 1);
      co_return line;
    }
    w.buffered += co_await w.proc.stdout_stream()->receive();
  }
}

[[noreturn]] void throw_not_started(bool ended, const std::string& first) {
  throw broken_worker_process(
      "to_process: the worker process did not start (it " +
      (ended ? std::string("exited") : "wrote '" + first.substr(0, 80) + "'") +
      " instead of answering): main() must call "
      "anyio::to_process::serve_if_worker(argc, argv) before anything else");
}

task<std::unique_ptr<worker>> start_worker() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr)
      env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  env[marker] = "1";
  process_options options;
  options.env = std::move(env);
  options.stderr_mode = redirect::inherit;
  // (Not a braced list of literals: g++ 12 rejects one inside a coroutine.)
  std::vector<std::string> argv(2);
  argv[0] = "/proc/self/exe";
  argv[1] = "--anyio-to-process-worker";
  auto w = std::make_unique<worker>(co_await open_process(std::move(argv), std::move(options)));
  std::string first;
  bool ended = false;
  try {
    first = co_await read_line(*w);
  } catch (const end_of_stream&) {
    ended = true;
  }
  if (ended || first != ready_line) throw_not_started(ended, first);
  co_return w;
}

task<std::string> call_in_worker(const std::string& name, const std::string& args,
                                 capacity_limiter& limiter,
                                 anyio::detail::process_service& service) {
  pool& p = pool_of(service);
  auto token = co_await limiter.guard();
  const std::int64_t now = anyio::detail::current_time_ns("anyio::to_process::run_sync()");
  std::erase_if(p.idle, [&](const std::unique_ptr<worker>& w) {
    return now - w->idle_since > max_idle_ns || w->proc.returncode().has_value();
  });  // a retired worker's destructor kills and reaps it
  std::unique_ptr<worker> w;
  if (!p.idle.empty()) {
    w = std::move(p.idle.back());
    p.idle.pop_back();
  } else {
    w = co_await start_worker();
  }
  // From here a cancellation or failure destroys `w`: the worker is killed
  // and reaped (process's destructor), never reused half-way through.
  std::string line;
  bool died = false;
  try {
    co_await w->proc.stdin_stream()->send(name + "\t" + args + "\n");
    line = co_await read_line(*w);
  } catch (const end_of_stream&) {
    died = true;
  } catch (const broken_resource_error&) {
    died = true;
  }
  if (died) {
    cancel_scope shield{{.shield = true}};
    auto reap = [&]() -> task<int> {
      w->proc.kill();
      co_return co_await w->proc.wait();
    };
    const std::optional<int> status = co_await shield.run(reap);
    const int code = status.value_or(0);
    throw broken_worker_process("to_process: the worker process running '" + name + "' died (" +
                                (code < 0 ? "signal " + std::to_string(-code)
                                          : "exit status " + std::to_string(code)) +
                                ")");
  }
  const auto tab = line.find('\t');
  const std::string kind = line.substr(0, tab);
  std::string payload = tab == std::string::npos ? std::string() : line.substr(tab + 1);
  if (kind == "ok") {
    w->idle_since = anyio::detail::current_time_ns("anyio::to_process::run_sync()");
    p.idle.push_back(std::move(w));
    co_return payload;
  }
  if (kind == "error") {
    w->idle_since = anyio::detail::current_time_ns("anyio::to_process::run_sync()");
    p.idle.push_back(std::move(w));
    throw worker_error(name, payload);
  }
  throw broken_worker_process("to_process: the worker process running '" + name +
                              "' broke the protocol: '" + line.substr(0, 80) + "'");
}

}  // namespace

namespace detail {

void register_erased(std::string name, erased_function fn, const void* identity) {
  if (name.empty() || name.find_first_of("\t\n") != std::string::npos)
    throw std::invalid_argument(
        "anyio::to_process::register_function(): the name must be non-empty, without tabs or "
        "newlines");
  registry& r = functions();
  std::lock_guard lock(r.mutex);
  if (identity != nullptr) r.names[identity] = name;
  r.functions.insert_or_assign(std::move(name), std::move(fn));
}

const std::string& name_of(const void* identity) {
  registry& r = functions();
  std::lock_guard lock(r.mutex);
  auto it = r.names.find(identity);
  if (it == r.names.end())
    anyio::detail::throw_usage_error(
        "anyio::to_process::run_sync(): this function was not registered; call "
        "anyio::to_process::register_function(\"name\", fn) before the run (and before "
        "serve_if_worker)");
  return it->second;
}

task<std::string> call(std::string name, std::string args_json, capacity_limiter* limiter) {
  anyio::detail::process_service& service =
      anyio::detail::current_process_service("anyio::to_process::run_sync()");
  if (!find(name))
    anyio::detail::throw_usage_error(
        "anyio::to_process::run_sync(): no function is registered as '" + name +
        "'; call anyio::to_process::register_function first");
  if (service.simulated()) {
    if (limiter != nullptr) {
      auto token = co_await limiter->guard();
      co_return co_await call(name, std::move(args_json), nullptr);
    }
    co_await checkpoint();
    auto [ok, text] = invoke(name, args_json);
    if (!ok) throw worker_error(name, text);
    co_return text;
  }
  if (is_worker())
    anyio::detail::throw_usage_error(
        "anyio::to_process::run_sync() was called in a worker process: main() must call "
        "anyio::to_process::serve_if_worker(argc, argv) before it starts a run");
  capacity_limiter& l = limiter != nullptr ? *limiter : pool_of(service).limiter;
  co_return co_await call_in_worker(name, args_json, l, service);
}

}  // namespace detail

bool is_worker() noexcept {
  const char* v = std::getenv(marker);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

capacity_limiter& current_default_process_limiter() {
  return pool_of(anyio::detail::current_process_service(
                     "anyio::to_process::current_default_process_limiter()"))
      .limiter;
}

void serve_if_worker(int argc, char** argv) {
  (void)argc;
  (void)argv;
  if (!is_worker()) return;
  ::unsetenv(marker);  // the function's own children are not workers
  // The protocol gets a descriptor of its own; fd 1 goes to stderr.
  const int reply = ::dup(1);
  if (reply < 0 || ::dup2(2, 1) < 0) std::_Exit(70);
  if (!write_all(reply, std::string(ready_line) + "\n")) std::_Exit(0);
  std::string pending;
  char chunk[65536];
  for (;;) {
    const auto nl = pending.find('\n');
    if (nl == std::string::npos) {
      const ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the parent closed the pipe (or went away)
      pending.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    std::string line = pending.substr(0, nl);
    pending.erase(0, nl + 1);
    const auto tab = line.find('\t');
    auto [ok, text] = tab == std::string::npos
                          ? std::pair<bool, std::string>{false, "malformed request"}
                          : invoke(line.substr(0, tab), line.substr(tab + 1));
    if (!write_all(reply, (ok ? "ok\t" : "error\t") + one_line(std::move(text)) + "\n")) break;
  }
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace anyio::to_process
