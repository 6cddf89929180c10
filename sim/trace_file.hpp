// SPDX-License-Identifier: MIT
// The trace file sink: a run encodes lines into one buffer while a writer
// thread hands the previous buffer to the kernel (double buffering). The
// write(2) into the page cache costs about as much per traced step as the
// encoding does (bench/sim_tracing.cpp), and it needs nothing from the run,
// so it is taken off the simulating thread; the file's blocks are reserved
// ahead (fallocate, keeping the size), which halves that cost on ext4. The
// bytes and their order are exactly those of a synchronous writer: buffers
// are written in the order they were submitted, one at a time, and a run
// that dies leaves a clean prefix of its trace. The thread is started only
// when the first buffer fills, so short traces are written at close().
//
// A run that crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) still leaves
// every line it committed: a handler writes the pending buffer out and then
// hands the signal to whatever handled it before (Catch2's reporter, or the
// default action). Such a trace has no outcome line; replay follows it to
// the crash again (docs/trace-format.md, "Unfinished traces").
//
// The crashing thread need not be the run's: then the run goes on filling
// its buffer while the handler writes it. The handler claims the file
// (crash_state_) before touching it, which stops buffer swaps, and reads
// only the committed bytes (used_, published with release); the run, on
// finding the file claimed, waits for the handler and drops what it writes
// after that. The process is about to die; what matters is that the file
// holds each committed line once, in order, and nothing torn.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace anyio::sim::detail {

class trace_file {
 public:
  /// Opens `path` for writing (creating its directory); throws
  /// std::runtime_error naming the path and the reason on failure.
  explicit trace_file(const std::string& path);
  ~trace_file();
  trace_file(const trace_file&) = delete;
  trace_file& operator=(const trace_file&) = delete;

  /// Where the next `bytes` bytes go; valid until the next call. The caller
  /// writes there and then calls commit() with the new end.
  char* reserve(std::size_t bytes) {
    if (used_.load(std::memory_order_relaxed) + bytes > fill_.size()) [[unlikely]]
      make_room(bytes);
    return fill_.data() + used_.load(std::memory_order_relaxed);
  }
  // A release store is a plain store on x86 and ARM64's stlr: the hot path
  // costs what it did with a plain size_t.
  void commit(char* end) noexcept {
    used_.store(static_cast<std::size_t>(end - fill_.data()), std::memory_order_release);
  }

  /// Writes everything, waits for the writer and closes the file; throws
  /// std::runtime_error naming the path and the reason if a write failed.
  void close();

  /// After a fatal signal, on any thread: write what the run committed, in
  /// order. Only async-signal-safe calls; waits at most a few seconds for
  /// the run to finish a buffer swap and for the writer.
  void flush_after_crash() noexcept;

 private:
  // crash_state_: idle -> swapping -> idle on the run's thread (submit);
  // a handler takes idle -> claimed, or swapping -> claimed_in_swap, which
  // the run turns into claimed when its swap is done; the handler ends in
  // flushed. Once claimed, only the handler touches the buffers and fd_
  // until it stores flushed.
  enum crash_state : int { idle, swapping, claimed_in_swap, claimed, flushed };

  void make_room(std::size_t bytes);
  void submit();  // hand `fill_` to the writer
  void abandon() noexcept;  // a handler claimed the file: wait for it, drop the rest
  void writer_loop();
  int write_out(const char* data, std::size_t n);  // 0 or an errno

  std::string path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;    // by write_out, on one thread at a time
  std::uint64_t allocated_ = 0;  // reserved with fallocate
  std::vector<char> fill_;       // being filled by the run
  std::atomic<std::size_t> used_{0};  // committed bytes of fill_; read by a crash handler
  std::vector<char> spare_;  // being written by the writer, or free
  std::size_t spare_used_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;  // spare_ holds bytes the writer has not written yet
  std::atomic<bool> in_flight_{false};  // pending_, readable from a signal handler
  bool stop_ = false;
  int error_ = 0;  // the first failed write's errno
  std::thread writer_;

  std::atomic<int> crash_state_{idle};
  bool registered_ = false;  // in a crash slot (there are 32)
  bool abandoned_ = false;   // a crash handler has written the file out
};

}  // namespace anyio::sim::detail
