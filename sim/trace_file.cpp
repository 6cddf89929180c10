// SPDX-License-Identifier: MIT
// Double-buffered trace file; see trace_file.hpp for why the write happens
// on a thread of its own and why the output is the same as a plain write.
#include "trace_file.hpp"

#include <fcntl.h>
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

void trace_file::close() {
  if (fd_ < 0) return;
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
