// SPDX-License-Identifier: MIT
// Subprocesses (anyio's run_process / open_process / Process). On realio a
// child is started with posix_spawn, watched through a pidfd and talked to
// through close-on-exec pipes that are Asio stream descriptors; on sim the
// "program" is a coroutine registered with sim::programs(), run as a task of
// the simulated run, so the same test drives a fake `git` deterministically.
// Either way the child's stdin/stdout/stderr are byte streams (streams.hpp),
// cancellation kills and reaps the child, and no zombie or descriptor is left
// behind. CPU work in worker processes (to_process) is in to_process.hpp,
// which needs nlohmann_json for its arguments.
#pragma once
#include <anyio/errors.hpp>
#include <anyio/streams.hpp>
#include <anyio/task.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace anyio {

namespace detail {
class process_impl;
}

/// Where a child's standard stream goes (anyio's PIPE, DEVNULL, None).
enum class redirect {
  pipe,     ///< a byte stream in the parent (process::stdin_stream() etc.)
  devnull,  ///< /dev/null (sim: nothing comes in, what goes out is dropped)
  inherit,  ///< the parent's own descriptor (sim: as devnull)
};

/// Options of run_process and open_process. Every member has a default, so
/// designated initializers stay warning-free on g++.
struct process_options {
  /// run_process: bytes written to the child's stdin, which is then closed
  /// (no input: stdin is /dev/null). open_process rejects it.
  std::optional<std::string> input{};
  /// run_process: a non-zero exit throws process_error (anyio's default).
  bool check = true;
  /// The child's working directory (default: the parent's).
  std::optional<std::string> cwd{};
  /// The child's whole environment (default: the parent's).
  std::optional<std::map<std::string, std::string>> env{};
  redirect stdin_mode = redirect::pipe;   ///< open_process only
  redirect stdout_mode = redirect::pipe;
  redirect stderr_mode = redirect::pipe;
};

/// What run_process returns (anyio's CompletedProcess). `out` and `err`
/// because stdout and stderr are macros in `<cstdio>`.
struct completed_process {
  std::vector<std::string> args{};
  int returncode = 0;  ///< the exit status, or minus the signal that ended it
  std::string out{};   ///< everything the child wrote to stdout
  std::string err{};   ///< everything the child wrote to stderr
  /// Throws process_error (naming the command and its stderr's tail) if
  /// returncode is not 0.
  void check_returncode() const;
};

/// A running child process (anyio's Process). Move-only. Destroying it
/// while the child still runs kills and reaps the child (no zombies); use
/// wait() or aclose() to let it finish.
class process {
 public:
  explicit process(std::unique_ptr<detail::process_impl> impl) noexcept;
  process(process&&) noexcept;
  process& operator=(process&&) noexcept;
  ~process();

  /// The pipes, or null when that stream was not redirect::pipe.
  byte_send_stream* stdin_stream() const noexcept;
  byte_receive_stream* stdout_stream() const noexcept;
  byte_receive_stream* stderr_stream() const noexcept;

  /// The OS process id (sim: a number of the simulated run, from 1000).
  std::int64_t pid() const noexcept;
  /// The exit status once known (minus the signal that ended it), else
  /// nothing. Known after wait() returned.
  std::optional<int> returncode() const noexcept;
  /// Wait for the child to exit; returns returncode(). Checkpoint: yes.
  /// Cancellation: the child keeps running (kill it to stop it).
  task<int> wait();
  /// SIGTERM, SIGKILL, or any signal. No effect once the child has exited.
  void terminate();
  void kill();
  void send_signal(int signal);
  /// Close the pipes and wait for the child (anyio's aclose). If cancelled,
  /// kills the child and still reaps it before returning.
  task<> aclose();
  /// The command line, for messages.
  const std::vector<std::string>& args() const noexcept;

 private:
  std::unique_ptr<detail::process_impl> impl_;
};

/// Start `argv` (argv[0] is looked up in PATH) with pipes to it. Throws
/// std::system_error naming the program if it cannot be run (missing: "No
/// such file or directory"), std::invalid_argument for an empty argv or an
/// `input`. Checkpoint: yes.
task<process> open_process(std::vector<std::string> argv, process_options options = {});

/// Run `argv` to completion, feeding it options.input, collecting its
/// stdout and stderr. Throws process_error on a non-zero exit with
/// options.check. Cancellation kills the child and reaps it.
task<completed_process> run_process(std::vector<std::string> argv, process_options options = {});

namespace sim {

/// What a simulated program sees: its arguments, environment and standard
/// streams (stdin ends when the parent closes it; what the handler writes
/// the parent reads).
struct program_context {
  std::vector<std::string> args{};                ///< args[0] is the program name
  std::map<std::string, std::string> env{};       ///< empty unless options.env was given
  std::string cwd{};                              ///< options.cwd, or ""
  byte_receive_stream* in = nullptr;
  byte_send_stream* out = nullptr;
  byte_send_stream* err = nullptr;
};

/// A simulated program: returns its exit status. terminate()/kill() cancel
/// it (its returncode is then minus the signal); an exception escaping it is
/// written to its stderr and it exits with status 1.
using program_handler = std::function<task<int>(program_context&)>;

/// The programs open_process/run_process find on sim, by argv[0] (exactly,
/// or by its last path component: "/bin/cat" finds "cat"). Shared by every
/// run in the process; an unregistered program is "not found"
/// (std::system_error with ENOENT, as on realio).
class program_registry {
 public:
  /// Register (or replace) a program.
  void add(std::string name, program_handler handler);
  /// Forget a program; false if it was not registered.
  bool remove(const std::string& name);
  bool contains(const std::string& name) const;
  /// The handler for argv0, or null.
  const program_handler* find(const std::string& argv0) const;

 private:
  std::map<std::string, program_handler, std::less<>> programs_;
};

program_registry& programs();

}  // namespace sim

}  // namespace anyio
