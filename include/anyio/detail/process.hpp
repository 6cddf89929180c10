// SPDX-License-Identifier: MIT
// The child processes a backend provides (realio/process.cpp: posix_spawn,
// pidfds and pipes; sim/process.cpp: registered programs run as tasks). The
// public calls of process.hpp and to_process.hpp are built on it once, in
// runtime/process.cpp and runtime/to_process.cpp. Only backends and runtime/
// include this header.
#pragma once
#include <anyio/process.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace anyio::detail {

/// One child. The backend fills the streams that were redirect::pipe.
class process_impl {
 public:
  virtual ~process_impl() = default;
  virtual std::int64_t pid() const noexcept = 0;
  virtual std::optional<int> returncode() const noexcept = 0;
  /// Wait for the exit and reap; returns the status (minus the signal).
  virtual task<int> wait() = 0;
  /// No effect once the child has exited. Throws std::system_error for a
  /// signal number the OS rejects.
  virtual void send_signal(int signal) = 0;
  /// run_process: append what `stream` (this child's `out` or `err`) yields
  /// until its end. The default receives until end_of_stream; a backend may
  /// override it to skip the exception (realio: two throws per run_process).
  virtual task<> read_to_end(byte_receive_stream& stream, std::string& into);

  std::vector<std::string> args;
  std::unique_ptr<byte_send_stream> in;
  std::unique_ptr<byte_receive_stream> out;
  std::unique_ptr<byte_receive_stream> err;
};

/// State to_process keeps for the whole run (its worker pool); owned by the
/// backend's process service so it ends with the run.
class run_state {
 public:
  virtual ~run_state() = default;
};

/// The processes a backend provides.
class process_service {
 public:
  virtual ~process_service() = default;
  /// Start argv with options' redirections, cwd and env. Throws
  /// std::system_error naming the program when it cannot be started.
  virtual task<std::unique_ptr<process_impl>> spawn(std::vector<std::string> argv,
                                                    process_options options) = 0;
  /// True on sim: to_process runs functions inline (through JSON).
  virtual bool simulated() const noexcept = 0;
  /// to_process's per-run state (created by runtime/to_process.cpp).
  std::unique_ptr<run_state> to_process_state;
};

/// The running backend's process service. Throws usage_error outside
/// anyio::run() or on a backend without processes.
process_service& current_process_service(const char* api);

}  // namespace anyio::detail
