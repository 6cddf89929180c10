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
  for (auto& slot : open_files)
    if (trace_file* f = slot.exchange(nullptr)) f->flush_after_crash();
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

void register_file(trace_file* f) {
  install_crash_handlers();
  for (auto& slot : open_files) {
    trace_file* empty = nullptr;
    if (slot.compare_exchange_strong(empty, f)) return;
  }  // more open traces than slots: this one is just not flushed on a crash
}

void unregister_file(trace_file* f) {
  for (auto& slot : open_files) {
    trace_file* expected = f;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
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
  register_file(this);
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
  if (used_ == 0) return;
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !pending_; });
  if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
  fill_.swap(spare_);
  spare_used_ = used_;
  used_ = 0;
  pending_ = true;
  in_flight_.store(true);
  if (fill_.size() < buffer_bytes) fill_.resize(buffer_bytes);
  cv_.notify_all();
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
  // The writer finishes the buffer it has (its write() is not interrupted
  // by a signal on another thread); if it is the thread that crashed, give
  // up after a second and leave the file as it is.
  const std::int64_t give_up = monotonic_ns() + 1'000'000'000;
  while (in_flight_.load() && monotonic_ns() < give_up) {
  }
  if (in_flight_.load() || fd_ < 0 || error_ != 0) return;
  const char* p = fill_.data();
  std::size_t n = used_;
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
  used_ = 0;
  if (allocated_ != 0 && allocated_ != UINT64_MAX)  // the blocks reserved past the end
    (void)::ftruncate(fd_, static_cast<off_t>(written_));
}

void trace_file::close() {
  if (fd_ < 0) return;
  unregister_file(this);
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !pending_; });
    stop_ = true;
    cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  int err = error_;
  if (err == 0 && used_ != 0) err = write_out(fill_.data(), used_);
  used_ = 0;
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
