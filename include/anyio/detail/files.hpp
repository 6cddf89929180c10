// SPDX-License-Identifier: MIT
// The filesystem a backend provides (realio/files.cpp: POSIX calls on worker
// threads; sim/files.cpp: the simulated host's in-memory filesystem), one
// system call's worth at a time. The public calls of files.hpp — modes,
// read-ahead and lines, the path helpers, mkdir with parents, glob — are
// written once over it, in runtime/files.cpp. Only backends and runtime/
// include this header.
#pragma once
#include <anyio/files.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace anyio::detail {

/// What open_file's mode asks of open(2).
struct open_flags {
  bool read = false;
  bool write = false;
  bool create = false;
  bool truncate = false;
  bool exclusive = false;
  bool append = false;
  unsigned mode = 0666;
};

/// One open file. Reads and writes start at the handle's own position
/// (append: writes go to the end). Every call throws std::system_error
/// naming the operation and the path (file_error below).
class file_handle {
 public:
  virtual ~file_handle() = default;
  virtual task<std::size_t> read(std::span<std::byte> buffer) = 0;
  /// One write: may write less than asked (returns how much).
  virtual task<std::size_t> write(std::span<const std::byte> data) = 0;
  virtual task<std::uint64_t> seek(std::int64_t offset, seek_from whence) = 0;
  virtual task<> sync(bool data_only) = 0;
  virtual task<> truncate(std::uint64_t size) = 0;
  virtual task<> close() = 0;
  /// Close without waiting or reporting (the owner's destructor).
  virtual void close_now() noexcept = 0;
};

class filesystem {
 public:
  virtual ~filesystem() = default;
  virtual task<std::unique_ptr<file_handle>> open(std::string path, open_flags flags) = 0;
  virtual task<file_stat> stat(std::string path) = 0;
  virtual task<> mkdir(std::string path, unsigned mode) = 0;
  /// The names in a directory (no "." or ".."), in any order.
  virtual task<std::vector<std::string>> list(std::string path) = 0;
  virtual task<> unlink(std::string path) = 0;
  virtual task<> rename(std::string from, std::string to) = 0;
  virtual task<> rmdir(std::string path) = 0;
  /// fsync a directory: its entries become durable.
  virtual task<> sync_dir(std::string path) = 0;
};

/// The running backend's filesystem. Throws usage_error outside anyio::run().
filesystem& current_filesystem(const char* api);

/// The error every file call throws: std::system_error(errno) whose what()
/// is "<op> <path>: <errno text>".
[[noreturn]] void throw_file_error(int error, std::string_view op, std::string_view path);

}  // namespace anyio::detail
