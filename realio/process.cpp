// SPDX-License-Identifier: MIT
// realio's child processes (mirrors sim/process.cpp). A child is started
// with posix_spawnp: its signal mask cleared and every signal back to its
// default (the parent may ignore SIGPIPE, as Asio does, or block signals for
// a signal receiver). Its pipes are made with O_CLOEXEC, so a child never
// inherits another child's pipe (which would keep that pipe open and hide
// its end of stream); dup2 onto 0/1/2 clears the flag for the child's own
// three. The parent's ends are Asio stream descriptors driven through the
// io_operation seam, like sockets. The exit is watched through a pidfd (Linux
// 5.3), opened only when a wait has to park: it becomes readable when the
// child exits, and waitpid reaps. Without pidfds the wait polls waitpid with
// a growing sleep. A process object destroyed while its child runs kills the
// child and reaps it, so no zombie is left whatever path the caller took.
//
// Speed (bench/proc_spawn.cpp, run_process of `true`): run_process reads
// the pipes with plain non-blocking reads and returns at their end instead
// of throwing end_of_stream (two throws per call were ~37k instructions); a
// child whose outputs all ended is polled for up to `reap_window` before
// wait parks, since the kernel closes a dying child's files a few
// microseconds before it becomes a zombie, and parking would cost a pidfd
// (open, register, unregister, close) and a second wake-up.
#include "process_support.hpp"

#include <anyio/detail/assert.hpp>
#include <anyio/detail/process.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/time.hpp>

#include <asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace anyio::realio {

namespace {

using descriptor = asio::posix::stream_descriptor;

std::error_code last_error() noexcept { return {errno, std::system_category()}; }

/// Closes a raw descriptor unless released.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// What the two ends of a pipe share: the parent's descriptor, the name its
/// errors carry, the one operation parked on it, and closing.
class pipe_end {
 protected:
  pipe_end(asio::io_context& ctx, int fd, std::string what)
      : fd_(ctx, fd), what_(std::move(what)) {}
  ~pipe_end() { close_now(); }

  void close_now() noexcept {
    if (closed_) return;
    closed_ = true;
    if (parked_ != nullptr) parked_->orphan();
    std::error_code ignored;
    fd_.close(ignored);
  }

  task<> aclose_end() {
    close_now();
    co_await checkpoint();
  }

  /// Marks the pipe busy (one task at a time per direction) until destroyed.
  struct busy_guard {
    bool& b;
    explicit busy_guard(bool& flag) : b(flag) { b = true; }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;
    ~busy_guard() { b = false; }
  };

  /// Park until the descriptor is ready for `w` (the reactor's wait).
  task<> await_ready(descriptor::wait_type w) {
    asio_op op;
    op.signal = &signal_;
    parked_ = &op;
    struct unpark {
      asio_op*& slot;
      ~unpark() { slot = nullptr; }
    } unpark_on_exit{parked_};
    auto start = [&] { fd_.async_wait(w, op_handler{&op}); };
    const std::error_code ec = co_await detail::run_io(op, start, what_.c_str());
    if (ec) detail::throw_io_error(ec, what_);
  }

  descriptor fd_;
  std::string what_;
  asio::cancellation_signal signal_;
  asio_op* parked_ = nullptr;
  bool busy_ = false;
  bool closed_ = false;
};

class pipe_receive_stream final : public byte_receive_stream, private pipe_end {
 public:
  pipe_receive_stream(asio::io_context& ctx, int fd, std::string what)
      : pipe_end(ctx, fd, std::move(what)) {}

  /// The child closed its end (every writer did): it is probably exiting.
  bool at_eof() const noexcept { return eof_; }

  /// run_process's read (process_impl::read_to_end): plain non-blocking
  /// reads straight into `into`, parking only on EAGAIN, and a return at
  /// the end instead of end_of_stream.
  task<> read_to_end(std::string& into) {
    check_receivable();
    busy_guard busy(busy_);
    if (!non_blocking_) {
      std::error_code ec;
      fd_.non_blocking(true, ec);
      if (ec) detail::throw_io_error(ec, what_);
      non_blocking_ = true;
    }
    // Most children write little: a small buffer in the frame first, and a
    // large one on the heap only once output arrives (neither is zeroed).
    char small[512];
    std::unique_ptr<char[]> large;
    char* buffer = small;
    std::size_t size = sizeof small;
    while (!eof_) {
      const ssize_t n = ::read(fd_.native_handle(), buffer, size);
      if (n > 0) {
        into.append(buffer, static_cast<std::size_t>(n));
        if (large == nullptr) {
          large.reset(new char[16384]);
          buffer = large.get();
          size = 16384;
        }
      } else if (n == 0) {
        eof_ = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        co_await await_ready(descriptor::wait_read);
        if (closed_) throw closed_resource_error("anyio: receive on a closed pipe");
      } else if (errno != EINTR) {
        detail::throw_io_error(last_error(), what_);
      }
    }
  }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override {
    check_receivable();
    if (buffer.empty())
      throw std::invalid_argument("anyio::byte_receive_stream::receive(): empty buffer");
    if (eof_) {
      co_await checkpoint();
      throw end_of_stream(what_);
    }
    busy_guard busy(busy_);
    asio_op op;
    op.signal = &signal_;
    parked_ = &op;
    struct unpark {
      asio_op*& slot;
      ~unpark() { slot = nullptr; }
    } unpark_on_exit{parked_};
    auto start = [&] {
      fd_.async_read_some(asio::mutable_buffer(buffer.data(), buffer.size()), op_handler{&op});
    };
    const std::error_code ec = co_await detail::run_io(op, start, what_.c_str());
    if (ec == asio::error::eof) {
      eof_ = true;
      throw end_of_stream(what_);
    }
    if (ec) detail::throw_io_error(ec, what_);
    co_return op.transferred();
  }

  task<> do_aclose() override { return aclose_end(); }

 private:
  void check_receivable() const {
    if (closed_) throw closed_resource_error("anyio: receive on a closed pipe");
    if (busy_) throw busy_resource_error("anyio: another task is already receiving on this pipe");
  }

  bool eof_ = false;
  bool non_blocking_ = false;
};

/// write() with SIGPIPE blocked in this thread: a child that closed its
/// stdin must give the parent EPIPE (broken_resource_error), not kill it.
/// The SIGPIPE the write raised, if any, is taken off the pending set so it
/// is not delivered when the mask is restored; one already pending is left.
ssize_t write_without_sigpipe(int fd, const void* data, std::size_t size) {
  sigset_t pipe_only, pending, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  const ssize_t n = ::write(fd, data, size);
  const int error = errno;
  if (n < 0 && error == EPIPE && !was_pending) {
    const timespec zero{};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = error;
  return n;
}

class pipe_send_stream final : public byte_send_stream, private pipe_end {
 public:
  pipe_send_stream(asio::io_context& ctx, int fd, std::string what)
      : pipe_end(ctx, fd, std::move(what)) {
    std::error_code ignored;
    fd_.non_blocking(true, ignored);
  }

 protected:
  task<> do_send(std::span<const std::byte> data) override {
    if (closed_) throw closed_resource_error("anyio: send on a closed pipe");
    if (busy_) throw busy_resource_error("anyio: another task is already sending on this pipe");
    busy_guard busy(busy_);
    co_await checkpoint();
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = write_without_sigpipe(fd_.native_handle(), data.data() + sent,
                                              data.size() - sent);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) detail::throw_io_error(last_error(), what_);
      // The pipe is full: wait until the child has read some.
      co_await await_ready(descriptor::wait_write);
    }
  }

  task<> do_aclose() override { return aclose_end(); }
};

int decode_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return status;
}

class realio_process final : public detail::process_impl {
 public:
  realio_process(asio::io_context& ctx, pid_t pid)
      : pid_(pid), pidfd_(ctx), wait_what_("wait for process " + std::to_string(pid)) {}

  ~realio_process() override {
    // The caller is gone: nobody will wait, so reap now (SIGKILL makes the
    // wait short).
    if (!code_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    std::error_code ignored;
    pidfd_.close(ignored);
  }

  std::int64_t pid() const noexcept override { return pid_; }
  std::optional<int> returncode() const noexcept override { return code_; }

  /// The pipes this child's stdout and stderr came with (null: not piped).
  pipe_receive_stream* outputs[2] = {nullptr, nullptr};

  task<> read_to_end(byte_receive_stream& stream, std::string& into) override {
    // Only run_process calls it, with this child's own out or err.
    ANYIO_ASSERT(&stream == out.get() || &stream == err.get());
    return static_cast<pipe_receive_stream&>(stream).read_to_end(into);
  }

  task<int> wait() override {
    if (!try_reap() && outputs_ended()) reap_soon();
    std::int64_t pause = 1'000'000;  // the fallback's first poll: 1 ms
    while (!try_reap()) {
      if (open_pidfd()) {
        own_signal_op op;
        auto start = [&] { pidfd_.async_wait(descriptor::wait_read, op_handler{&op}); };
        const std::error_code ec = co_await detail::run_io(op, start, wait_what_.c_str());
        if (ec) detail::throw_io_error(ec, wait_what_);
      } else {
        co_await sleep(std::chrono::nanoseconds(pause));
        pause = std::min<std::int64_t>(pause * 2, 50'000'000);
      }
    }
    co_await checkpoint();
    co_return *code_;
  }

  void send_signal(int signal) override {
    if (code_) return;  // reaped: the pid may belong to someone else now
    // Until we reap it, the pid stays this child's (a zombie keeps it), so
    // kill() is as safe as pidfd_send_signal.
    const int rc = pidfd_.is_open()
                       ? static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd_.native_handle(),
                                                    signal, nullptr, 0))
                       : ::kill(pid_, signal);
    // ESRCH: it exited on its own and is a zombie waiting to be reaped.
    if (rc != 0 && errno != ESRCH)
      throw std::system_error(last_error(), "send signal " + std::to_string(signal) +
                                                " to process " + std::to_string(pid_));
  }

 private:
  /// How long wait() polls for a child whose output pipes all ended before
  /// it parks on the pidfd: such a child is usually in the last microseconds
  /// of its exit (the kernel closes its files before it becomes a zombie),
  /// and a second trip through the reactor would cost a second wake-up.
  static constexpr std::chrono::microseconds reap_window{50};

  bool outputs_ended() const noexcept {
    bool any = false;
    for (const pipe_receive_stream* o : outputs) {
      if (o == nullptr) continue;
      if (!o->at_eof()) return false;
      any = true;
    }
    return any;
  }

  void reap_soon() {
    const auto until = std::chrono::steady_clock::now() + reap_window;
    do {
      ::sched_yield();  // on a busy CPU, lets the exiting child finish
      if (try_reap()) return;
    } while (std::chrono::steady_clock::now() < until);
  }

  /// The pidfd is opened only when wait() must park: a child reaped at once
  /// (run_process of a short command) never needs one.
  bool open_pidfd() {
    if (pidfd_.is_open()) return true;
    if (no_pidfd_) return false;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd < 0) {
      no_pidfd_ = true;  // Linux < 5.3: poll waitpid instead
      return false;
    }
    std::error_code ec;
    pidfd_.assign(fd, ec);
    if (ec) {
      ::close(fd);
      no_pidfd_ = true;
      return false;
    }
    return true;
  }

  bool try_reap() {
    if (code_) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      code_ = decode_status(status);
      // Reaped: the pidfd has nothing left to say (no wait is parked on it:
      // wait() reaps only between its waits).
      std::error_code ignored;
      pidfd_.close(ignored);
      return true;
    }
    if (r < 0 && errno != EINTR)
      throw std::system_error(last_error(), wait_what_);
    return false;
  }

  pid_t pid_;
  descriptor pidfd_;
  bool no_pidfd_ = false;
  std::string wait_what_;
  std::optional<int> code_;
};

class realio_processes final : public detail::process_service {
 public:
  explicit realio_processes(asio::io_context& ctx) noexcept : ctx_(ctx) {}

  task<std::unique_ptr<detail::process_impl>> spawn(std::vector<std::string> argv,
                                                    process_options options) override {
    co_await checkpoint();
    co_return start(std::move(argv), options);
  }

  bool simulated() const noexcept override { return false; }

 private:
  /// The pipes (O_CLOEXEC: only the child's dup2'd copies survive exec) and
  /// /dev/null redirections of the child's descriptors 0, 1 and 2.
  static void redirect_stdio(const process_options& options, posix_spawn_file_actions_t& actions,
                             unique_fd (&parent)[3], unique_fd (&child)[3],
                             const std::string& what) {
    const redirect modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
    for (int i = 0; i < 3; ++i) {
      if (modes[i] == redirect::pipe) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(last_error(), what + " (pipe)");
        // fds[0] reads, fds[1] writes: the child reads its stdin.
        parent[i].reset(i == 0 ? fds[1] : fds[0]);
        child[i].reset(i == 0 ? fds[0] : fds[1]);
        posix_spawn_file_actions_adddup2(&actions, child[i].get(), i);
      } else if (modes[i] == redirect::devnull) {
        posix_spawn_file_actions_addopen(&actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY,
                                         0);
      }
    }
  }

  std::unique_ptr<detail::process_impl> start(std::vector<std::string> argv,
                                              const process_options& options) {
    const std::string what = "open_process: cannot run '" + argv[0] + "'" +
                             (options.cwd ? " in '" + *options.cwd + "'" : std::string());
    struct file_actions {
      posix_spawn_file_actions_t a;
      file_actions() { posix_spawn_file_actions_init(&a); }
      ~file_actions() { posix_spawn_file_actions_destroy(&a); }
    } actions;
    struct attributes {
      posix_spawnattr_t a;
      attributes() { posix_spawnattr_init(&a); }
      ~attributes() { posix_spawnattr_destroy(&a); }
    } attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr.a, &none);
    posix_spawnattr_setsigdefault(&attr.a, &all);
    posix_spawnattr_setflags(&attr.a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    // parent[i]: our end of the child's descriptor i, when piped.
    unique_fd parent[3];
    unique_fd child[3];
    redirect_stdio(options, actions.a, parent, child, what);
    if (options.cwd) posix_spawn_file_actions_addchdir_np(&actions.a, options.cwd->c_str());

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    std::vector<char*> env;
    if (options.env) {
      for (const auto& [k, v] : *options.env) env_strings.push_back(k + "=" + v);
      for (std::string& e : env_strings) env.push_back(e.data());
      env.push_back(nullptr);
    }

    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, args[0], &actions.a, &attr.a, args.data(),
                                  options.env ? env.data() : environ);
    if (rc != 0) throw std::system_error(std::error_code(rc, std::system_category()), what);
    for (unique_fd& c : child) c.reset();

    auto p = std::make_unique<realio_process>(ctx_, pid);
    p->args = std::move(argv);
    const std::string name = "process " + std::to_string(pid) + " (" + p->args[0] + ")";
    if (parent[0].get() >= 0)
      p->in = std::make_unique<pipe_send_stream>(ctx_, parent[0].release(),
                                                 "send to stdin of " + name);
    for (int i = 1; i <= 2; ++i) {
      if (parent[i].get() < 0) continue;
      const char* which = i == 1 ? "receive from stdout of " : "receive from stderr of ";
      auto pipe = std::make_unique<pipe_receive_stream>(ctx_, parent[i].release(), which + name);
      p->outputs[i - 1] = pipe.get();
      (i == 1 ? p->out : p->err) = std::move(pipe);
    }
    return p;
  }

  asio::io_context& ctx_;
};

}  // namespace

std::unique_ptr<detail::process_service> make_process_service(asio::io_context& ctx) {
  return std::make_unique<realio_processes>(ctx);
}

}  // namespace anyio::realio
