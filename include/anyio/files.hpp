// SPDX-License-Identifier: MIT
// Files and paths (anyio's open_file, AsyncFile, Path and the file streams
// of anyio.streams.file). On realio every call runs the system call on a
// worker thread (to_thread::run_sync), as anyio does; on sim it is an
// operation of the simulated host's in-memory filesystem, which takes a
// little seeded virtual time, can fail by injected faults and keeps only
// what was synced across a crash (anyio::sim::crash_filesystem in
// <anyio/sim_files.hpp>). The calls and their errors are the same on both.
//
// Errors: a missing file, a directory where a file was expected, no
// permission (and any other OS failure) are std::system_error whose code is
// the errno and whose what() names the operation, the path and the errno
// text: "open_file /data/x.log: No such file or directory".
#pragma once
#include <anyio/streams.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace anyio {

namespace detail {
class file_handle;
}

/// Where seek() counts from (os.SEEK_SET, SEEK_CUR, SEEK_END).
enum class seek_from { start, current, end };

/// What stat() reports (the fields anyio users look at).
struct file_stat {
  enum class type { regular, directory, symlink, other };
  file_stat::type kind = type::regular;
  std::uint64_t size = 0;      ///< bytes (a directory: its entry count on sim)
  unsigned mode = 0;           ///< permission bits (0644)
  std::int64_t mtime_ns = 0;   ///< last modification, ns since the epoch (sim: virtual)
  std::uint64_t nlink = 1;
  bool is_file() const noexcept { return kind == type::regular; }
  bool is_dir() const noexcept { return kind == type::directory; }
};

/// An open file (anyio.AsyncFile). Move-only; close with aclose() (the
/// destructor closes it too, synchronously, without reporting errors).
/// Reads are buffered so that line iteration is cheap; tell(), seek() and
/// writes account for what was read ahead. Two tasks using one file at once
/// see the calls in some order (each call is one operation), as in anyio.
class async_file {
 public:
  async_file() noexcept;
  async_file(async_file&&) noexcept;
  async_file& operator=(async_file&&) noexcept;
  ~async_file();

  /// Everything from the position to the end of the file.
  task<std::string> read();
  /// Up to `n` bytes ("" at the end of the file).
  task<std::string> read(std::size_t n);
  /// Up to buffer.size() bytes into `buffer`; 0 at the end of the file.
  task<std::size_t> read_into(std::span<std::byte> buffer);
  /// Write all of `data` (repeating short writes); returns data.size().
  task<std::size_t> write(std::string_view data);
  task<std::size_t> write(std::span<const std::byte> data);
  /// One write call: may write less than asked (a short write); returns how much.
  task<std::size_t> write_some(std::span<const std::byte> data);
  /// Move the position; returns the new one.
  task<std::uint64_t> seek(std::int64_t offset, seek_from whence = seek_from::start);
  task<std::uint64_t> tell();
  /// Nothing is buffered for writing, so flush() is a checkpoint that checks
  /// the file is open (anyio's flush hands Python's buffer to the OS).
  task<> flush();
  /// fsync: the file's data and metadata are durable when it returns.
  task<> sync();
  /// fdatasync: the data is durable (and the size, if it changed).
  task<> sync_data();
  /// Cut or extend to `size` bytes (default: the position).
  task<> truncate(std::optional<std::uint64_t> size = std::nullopt);
  /// One line, with its '\n' ("" at the end of the file: Python's readline).
  task<std::string> readline();
  /// The next line for iteration: `while (auto line = co_await f.next_line())`;
  /// std::nullopt at the end of the file. Lines keep their '\n'.
  task<std::optional<std::string>> next_line();
  /// Close; further calls are closed_resource_error. Closing twice is fine.
  task<> aclose();

  /// The path it was opened with.
  const std::string& name() const noexcept { return name_; }
  bool closed() const noexcept { return handle_ == nullptr; }

 private:
  friend task<async_file> open_file(std::string path, std::string_view mode);
  async_file(std::unique_ptr<detail::file_handle> h, std::string name, bool readable,
             bool writable) noexcept;
  detail::file_handle& handle(const char* op);
  /// Give back read-ahead bytes before an operation that needs the real position.
  task<> drop_read_ahead();
  task<bool> fill();

  std::unique_ptr<detail::file_handle> handle_;
  std::string name_;
  std::string buffer_;          // read ahead, not yet returned: [pos_, size)
  std::size_t pos_ = 0;
  bool readable_ = false;
  bool writable_ = false;
};

/// Open `path` as Python's open() does: mode "r", "w", "a", "x", with "+"
/// for reading and writing, and "b"/"t" accepted (bytes either way).
/// Throws std::system_error (missing file, a directory, no permission,
/// exists with "x") and std::invalid_argument for a bad mode.
task<async_file> open_file(std::string path, std::string_view mode = "r");

/// anyio.Path: a path with async methods. The string is kept as given;
/// operator/ joins with '/'.
class path {
 public:
  path() = default;
  path(std::string p) : p_(std::move(p)) {}  // NOLINT: implicit, like pathlib
  path(const char* p) : p_(p) {}              // NOLINT
  path(std::string_view p) : p_(p) {}         // NOLINT

  const std::string& str() const noexcept { return p_; }
  /// The last component ("b.txt" of "/a/b.txt").
  std::string name() const;
  /// The extension with its dot (".txt"), or "".
  std::string suffix() const;
  /// The name without its suffix ("b").
  std::string stem() const;
  /// The path without its last component ("/a"; "." for a bare name).
  path parent() const;
  path operator/(std::string_view child) const;
  friend bool operator==(const path&, const path&) = default;

  task<std::string> read_bytes() const;
  task<std::string> read_text() const;
  task<> write_bytes(std::string_view data) const;
  task<> write_text(std::string_view text) const;
  task<async_file> open(std::string_view mode = "r") const;
  /// False if nothing is there (other errors, e.g. no permission, throw).
  task<bool> exists() const;
  task<bool> is_file() const;
  task<bool> is_dir() const;
  task<file_stat> stat() const;

  struct mkdir_options {
    unsigned mode = 0777;
    bool parents = false;   ///< create missing parents too
    bool exist_ok = false;  ///< an existing directory is not an error
  };
  task<> mkdir(mkdir_options opts) const;
  task<> mkdir() const { return mkdir(mkdir_options{}); }
  /// The entries of this directory, sorted by name (no "." or "..").
  task<std::vector<path>> iterdir() const;
  /// Entries matching `pattern` relative to this directory: '*', '?' and
  /// '[...]' within a component, "**" for any depth of directories. Sorted.
  task<std::vector<path>> glob(std::string_view pattern) const;
  task<> unlink(bool missing_ok = false) const;
  /// Rename to `target` (replacing a file there); returns target.
  task<path> rename(const path& target) const;
  task<> rmdir() const;
  /// fsync this directory, so the entries created, renamed or removed in it
  /// are durable (POSIX: a new file's name survives a crash only then).
  task<> sync() const;

 private:
  std::string p_;
};

/// A file read as a byte stream (anyio.streams.file.FileReadStream).
class file_read_stream final : public byte_receive_stream {
 public:
  explicit file_read_stream(async_file f) : file_(std::move(f)) {}
  static task<std::unique_ptr<file_read_stream>> from_path(path p);
  /// Move the position (anyio's seek on the stream).
  task<std::uint64_t> seek(std::int64_t offset, seek_from whence = seek_from::start) {
    return file_.seek(offset, whence);
  }
  task<std::uint64_t> tell() { return file_.tell(); }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  async_file file_;
};

/// A file written as a byte stream (anyio.streams.file.FileWriteStream).
class file_write_stream final : public byte_send_stream {
 public:
  explicit file_write_stream(async_file f) : file_(std::move(f)) {}
  /// Truncates the file unless `append`.
  static task<std::unique_ptr<file_write_stream>> from_path(path p, bool append = false);

 protected:
  task<> do_send(std::span<const std::byte> data) override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  async_file file_;
};

namespace file_attribute {
/// The path a file stream was opened with (anyio's FileStreamAttribute.path).
inline constexpr typed_attribute<std::string> path{"file path"};
}  // namespace file_attribute

}  // namespace anyio
