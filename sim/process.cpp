// SPDX-License-Identifier: MIT
// sim's child processes (mirrors realio/process.cpp). A "program" is a
// handler registered with sim::programs(); starting it runs the handler as a
// system task of the run (detail::spawn_system_task: beside the caller, in
// no task group), so the scheduler interleaves it with the parent like any
// task and the same seed gives the same interleaving. Its stdin, stdout and
// stderr are in-memory byte stream pairs; /dev/null is a stream that ends at
// once or swallows everything. terminate()/kill()/send_signal() cancel the
// handler's scope; the handler's exit closes its ends, so the parent sees end
// of stream as after a real exit. Pids count from 1000 in each run. Every
// spawn, signal and exit is a `process` trace line (docs/trace-format.md).
#include "process_support.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/detail/process.hpp>
#include <anyio/detail/root_task.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/sync.hpp>

#include <csignal>
#include <stdexcept>

namespace anyio::sim::detail {

namespace {

/// /dev/null as the child's stdin: ends at once.
class null_receive_stream final : public byte_receive_stream {
 protected:
  task<std::size_t> do_receive(std::span<std::byte>) override {
    co_await checkpoint();
    throw end_of_stream("receive from /dev/null");
  }
  task<> do_aclose() override { co_await checkpoint(); }
};

/// /dev/null as the child's stdout or stderr: takes everything.
class null_send_stream final : public byte_send_stream {
 protected:
  task<> do_send(std::span<const std::byte>) override { co_await checkpoint(); }
  task<> do_aclose() override { co_await checkpoint(); }
};

/// What the parent's process object and the handler's task share.
struct child_state {
  program_context context;
  std::string program;
  std::int64_t pid = 0;
  std::unique_ptr<byte_receive_stream> in;  // the child's ends
  std::unique_ptr<byte_send_stream> out;
  std::unique_ptr<byte_send_stream> err;
  std::optional<int> code;
  int signal = 0;  // the signal that ended it, once sent
  cancel_scope* scope = nullptr;
  event done;
  process_tracer* trace = nullptr;
};

/// The handler's task: runs it in a scope that signals cancel, then closes
/// its ends and records the exit status.
task<> run_program(std::shared_ptr<child_state> st, program_handler handler) {
  std::optional<int> code;
  std::string failure;
  try {
    cancel_scope scope;
    st->scope = &scope;
    if (st->signal != 0) scope.cancel();  // signalled before it ran
    struct unhook {
      cancel_scope*& slot;
      ~unhook() { slot = nullptr; }
    } unhook_on_exit{st->scope};
    auto body = [&]() -> task<int> { co_return co_await handler(st->context); };
    code = co_await scope.run(body);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    // `cancelled` from outside: the run is ending (its main task finished).
    if (st->signal == 0) st->signal = SIGKILL;
  }
  if (!failure.empty() && st->out != nullptr && st->err != nullptr) {
    // As an uncaught exception in a real program: a message on stderr.
    try {
      cancel_scope shield{{.shield = true}};
      auto write = [&]() -> task<> {
        co_await st->err->send(std::string_view("uncaught exception: " + failure + "\n"));
      };
      co_await shield.run(write);
    } catch (...) {
    }
  }
  // Closing without a checkpoint: the parent sees end of stream on stdout
  // and stderr, and a broken pipe on stdin.
  st->in.reset();
  st->out.reset();
  st->err.reset();
  st->code = code ? *code : !failure.empty() ? 1 : -(st->signal != 0 ? st->signal : SIGKILL);
  if (st->trace != nullptr) st->trace->process_event("exit", st->program, st->pid, *st->code);
  st->done.set();
}

class sim_process final : public anyio::detail::process_impl {
 public:
  explicit sim_process(std::shared_ptr<child_state> st) noexcept : st_(std::move(st)) {}
  ~sim_process() override {
    if (!st_->code) deliver(SIGKILL);
  }

  std::int64_t pid() const noexcept override { return st_->pid; }
  std::optional<int> returncode() const noexcept override { return st_->code; }

  task<int> wait() override {
    co_await st_->done.wait();
    co_return *st_->code;
  }

  void send_signal(int signal) override {
    if (signal < 0 || signal >= NSIG)
      throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                              "send signal " + std::to_string(signal) + " to process " +
                                  std::to_string(st_->pid));
    if (st_->code || signal == 0) return;
    if (st_->trace != nullptr) st_->trace->process_event("signal", st_->program, st_->pid, signal);
    // What a default disposition ignores leaves the program running.
    if (signal == SIGCHLD || signal == SIGURG || signal == SIGWINCH || signal == SIGCONT) return;
    deliver(signal);
  }

 private:
  void deliver(int signal) noexcept {
    if (st_->signal == 0) st_->signal = signal;
    if (st_->scope != nullptr) st_->scope->cancel();
  }

  std::shared_ptr<child_state> st_;
};

class sim_processes final : public anyio::detail::process_service {
 public:
  explicit sim_processes(process_tracer& trace) noexcept : trace_(trace) {}

  task<std::unique_ptr<anyio::detail::process_impl>> spawn(std::vector<std::string> argv,
                                                           process_options options) override {
    co_await checkpoint();
    const program_handler* handler = programs().find(argv[0]);
    if (handler == nullptr) {
      trace_.process_event("not_found", argv[0], 0, 0);
      throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                              "open_process: cannot run '" + argv[0] + "'" +
                                  (options.cwd ? " in '" + *options.cwd + "'" : std::string()));
    }
    auto st = std::make_shared<child_state>();
    st->program = argv[0];
    st->pid = next_pid_++;
    st->trace = &trace_;
    auto p = std::make_unique<sim_process>(st);
    // stdin: the parent sends on `first`, the child receives on `second`.
    if (options.stdin_mode == redirect::pipe) {
      auto pair = create_memory_byte_stream_pair();
      p->in = std::move(pair.first);
      st->in = std::move(pair.second);
    } else {
      st->in = std::make_unique<null_receive_stream>();
    }
    auto output = [](redirect mode, std::unique_ptr<byte_receive_stream>& parent,
                     std::unique_ptr<byte_send_stream>& child) {
      if (mode == redirect::pipe) {
        auto pair = create_memory_byte_stream_pair();
        parent = std::move(pair.first);
        child = std::move(pair.second);
      } else {
        child = std::make_unique<null_send_stream>();
      }
    };
    output(options.stdout_mode, p->out, st->out);
    output(options.stderr_mode, p->err, st->err);
    st->context.args = argv;
    if (options.env) st->context.env = *options.env;
    st->context.cwd = options.cwd.value_or("");
    st->context.in = st->in.get();
    st->context.out = st->out.get();
    st->context.err = st->err.get();
    p->args = std::move(argv);
    trace_.process_event("spawn", st->program, st->pid, 0);
    auto root = anyio::detail::make_child_root(run_program, st, *handler);
    auto h = root.handle();
    std::string name = "process " + std::to_string(st->pid) + " (" + st->program + ")";
    anyio::detail::spawn_system_task(h.promise().record(), h, std::move(name));
    (void)root.release();
    co_return p;
  }

  bool simulated() const noexcept override { return true; }

 private:
  process_tracer& trace_;
  std::int64_t next_pid_ = 1000;
};

}  // namespace

std::unique_ptr<anyio::detail::process_service> make_process_service(process_tracer& trace) {
  return std::make_unique<sim_processes>(trace);
}

}  // namespace anyio::sim::detail
