// SPDX-License-Identifier: MIT
// Double-buffered trace file; see trace_file.hpp for why the write happens
// on a thread of its own and why the output is the same as a plain write.
#include "trace_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace anyio::sim::detail {

namespace {
constexpr std::size_t buffer_bytes = std::size_t{1} << 20;
constexpr std::uint64_t first_reservation = std::uint64_t{8} << 20;

// The files a fatal signal must flush. Slots, not a container: the signal
// handler may only read atomics.
constexpr int max_open_files = 32;
std::atomic<trace_file*> open_files[max_open_files];

constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction previous_actions[std::size(fatal_signals)];
std::mutex install_mutex;

void on_fatal_signal(int sig, siginfo_t*, void*) {
  const int saved_errno = errno;
  // exchange: of two threads crashing at once, one flushes each file, and a
  // file taken here is one its owner's close() will wait for.
  for (auto& slot : open_files)
    if (trace_file* f = slot.exchange(nullptr)) f->flush_after_crash();
  errno = saved_errno;
  // Then whoever handled the signal before us: raised again, it is
  // delivered to that handler (or the default action) once we return.
  for (std::size_t i = 0; i < std::size(fatal_signals); ++i)
    if (fatal_signals[i] == sig) ::sigaction(sig, &previous_actions[i], nullptr);
  ::raise(sig);
}

// (Re)install the handler: Catch2 sets and restores its own handlers around
// every test case, which removes ours, so this runs whenever a file opens.
void install_crash_handlers() {
  std::lock_guard lock(install_mutex);
  for (std::size_t i = 0; i < std::size(fatal_signals); ++i) {
    struct sigaction current {};
    if (::sigaction(fatal_signals[i], nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == on_fatal_signal)
      continue;
    struct sigaction ours {};
    ours.sa_sigaction = on_fatal_signal;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK;  // an alternate stack, if there is one
    sigemptyset(&ours.sa_mask);
    ::sigaction(fatal_signals[i], &ours, &previous_actions[i]);
  }
}

bool register_file(trace_file* f) {
  install_crash_handlers();
  for (auto& slot : open_files) {
    trace_file* empty = nullptr;
    if (slot.compare_exchange_strong(empty, f)) return true;
  }
  return false;  // more open traces than slots: this one is just not flushed on a crash
}

/// False if a crash handler took `f` out of its slot first.
bool unregister_file(trace_file* f) {
  for (auto& slot : open_files) {
    trace_file* expected = f;
    if (slot.compare_exchange_strong(expected, nullptr)) return true;
  }
  return false;
}

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void pause_briefly() noexcept {  // async-signal-safe, and leaves the core to others
  const timespec ms{0, 1'000'000};
  ::nanosleep(&ms, nullptr);
}

// How long a crash handler waits for the run's buffer swap and for the
// writer's write: long enough for a loaded machine, short enough that a
// writer stuck on a dead file system does not keep a crashed process alive.
constexpr std::int64_t crash_wait_ns = 5'000'000'000;
}  // namespace

trace_file::trace_file(const std::string& path) : path_(path) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("sim: cannot write trace file '" + path +
                             "': " + std::strerror(errno));
  fill_.resize(buffer_bytes);
  registered_ = register_file(this);
}

trace_file::~trace_file() {
  if (fd_ < 0) return;
  try {
    close();
  } catch (...) {  // a run that is already failing reports its own error
  }
}

void trace_file::make_room(std::size_t bytes) {
  submit();
  if (bytes > fill_.size()) fill_.resize(bytes);
}

void trace_file::submit() {
  const std::size_t used = used_.load(std::memory_order_relaxed);
  if (used == 0) return;
  if (abandoned_) {  // a crash handler has written the file; the process is dying
    used_.store(0, std::memory_order_relaxed);
    return;
  }
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !pending_; });
  if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
  int state = idle;
  if (!crash_state_.compare_exchange_strong(state, swapping, std::memory_order_acquire)) {
    lock.unlock();
    abandon();  // claimed between two swaps: the handler writes fill_ as it is
    return;
  }
  fill_.swap(spare_);
  spare_used_ = used;
  used_.store(0, std::memory_order_relaxed);
  pending_ = true;
  in_flight_.store(true);
  if (fill_.size() < buffer_bytes) fill_.resize(buffer_bytes);
  cv_.notify_all();
  state = swapping;
  if (crash_state_.compare_exchange_strong(state, idle, std::memory_order_release)) return;
  // Claimed during the swap: hand over the finished swap (unless the handler
  // gave up waiting for it and is already done).
  state = claimed_in_swap;
  (void)crash_state_.compare_exchange_strong(state, claimed, std::memory_order_release);
  lock.unlock();
  abandon();
}

void trace_file::abandon() noexcept {
  while (crash_state_.load(std::memory_order_acquire) != flushed) pause_briefly();
  abandoned_ = true;
  used_.store(0, std::memory_order_relaxed);
}

void trace_file::writer_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (!pending_) return;  // stop_ with nothing left to write
    const std::size_t n = spare_used_;
    lock.unlock();  // spare_ is the writer's until pending_ is cleared
    const int err = error_ == 0 ? write_out(spare_.data(), n) : 0;
    lock.lock();
    if (error_ == 0) error_ = err;
    pending_ = false;
    in_flight_.store(false);  // last: a crash handler that sees it sees error_ and written_
    cv_.notify_all();
  }
}

int trace_file::write_out(const char* data, std::size_t n) {
  if (written_ + n > allocated_) {
    // Reserve blocks ahead, doubling; best effort (not every file system
    // has fallocate), and KEEP_SIZE so the file never shows unwritten bytes.
    const std::uint64_t want = std::max(first_reservation, allocated_);
#ifdef FALLOC_FL_KEEP_SIZE
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(allocated_),
                    static_cast<off_t>(want)) != 0)
      allocated_ = UINT64_MAX;  // unsupported or full: stop trying; write() reports ENOSPC
    else
#endif
      allocated_ += want;
  }
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
  return 0;
}

void trace_file::flush_after_crash() noexcept {
  const std::int64_t give_up = monotonic_ns() + crash_wait_ns;
  // Claim the file: no buffer swap after this. If the run is in the middle
  // of one, it finishes it and hands over (claimed_in_swap -> claimed);
  // if that does not come (this is the run's thread, interrupted in the
  // swap), leave the buffers alone.
  int state = crash_state_.load(std::memory_order_acquire);
  for (;;) {
    if (state == claimed) break;
    if (state == idle || state == swapping) {
      const int next = state == idle ? claimed : claimed_in_swap;
      if (crash_state_.compare_exchange_weak(state, next, std::memory_order_acquire)) state = next;
      continue;
    }
    if (state != claimed_in_swap || monotonic_ns() >= give_up) {
      crash_state_.store(flushed, std::memory_order_release);
      return;
    }
    pause_briefly();
    state = crash_state_.load(std::memory_order_acquire);
  }
  // The writer finishes the buffer it has (its write() is not interrupted
  // by a signal on another thread); if it is the thread that crashed, give
  // up and leave the file as it is.
  while (in_flight_.load() && monotonic_ns() < give_up) pause_briefly();
  if (!in_flight_.load() && fd_ >= 0 && error_ == 0) {
    const char* p = fill_.data();
    std::size_t n = used_.load(std::memory_order_acquire);
    bool complete = true;
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        complete = false;
        break;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
    if (complete && allocated_ != 0 && allocated_ != UINT64_MAX)  // blocks reserved past the end
      (void)::ftruncate(fd_, static_cast<off_t>(written_));
  }
  crash_state_.store(flushed, std::memory_order_release);
}

void trace_file::close() {
  if (fd_ < 0) return;
  // A crash handler on another thread that took this file from its slot
  // is writing it out: wait for it (the process is about to die), and
  // write nothing more.
  if (registered_ && !unregister_file(this) && !abandoned_) abandon();
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !pending_; });
    stop_ = true;
    cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  if (abandoned_) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int err = error_;
  const std::size_t used = used_.load(std::memory_order_relaxed);
  if (err == 0 && used != 0) err = write_out(fill_.data(), used);
  used_.store(0, std::memory_order_relaxed);
  // Give back what was reserved past the end (KEEP_SIZE blocks stay
  // allocated until the file is truncated).
  if (err == 0 && allocated_ != 0 && allocated_ != UINT64_MAX &&
      ::ftruncate(fd_, static_cast<off_t>(written_)) != 0)
    err = errno;
  if (::close(fd_) != 0 && err == 0) err = errno;
  fd_ = -1;
  if (err != 0)
    throw std::runtime_error("sim: writing trace file '" + path_ + "' failed: " +
                             std::strerror(err));
}

}  // namespace anyio::sim::detail
