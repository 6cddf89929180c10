// SPDX-License-Identifier: MIT
// realio's detail::filesystem (mirrors sim/files.cpp): each call is one
// POSIX system call. Regular files cannot be waited on with epoll, so, as
// anyio does, the call runs on a worker thread (blocking() below) while the
// loop runs other tasks; the result comes back to the loop thread, where the
// error, if any, becomes std::system_error naming the operation and path.
#include "files.hpp"

#include <anyio/detail/assert.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/threads.hpp>

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio::realio {

namespace {

/// A system call's result and, when it failed, its errno (read on the
/// thread that made the call).
struct sys_result {
  long value = 0;
  int error = 0;
};

template <class F> sys_result capture(F&& f) {
  sys_result r;
  r.value = static_cast<long>(f());
  if (r.value < 0) r.error = errno;
  return r;
}

/// Run one blocking call on a worker thread (to_thread::run_sync, under the
/// default thread limiter). Not cancellable: a cancelled call waits for its
/// thread, since the buffers it reads or writes live in the caller's frame.
template <class F> task<sys_result> blocking(F f) {
  co_return co_await to_thread::run_sync([f = std::move(f)]() mutable { return capture(f); });
}

task<long> call(const char* op, const std::string& path, auto f) {
  sys_result r = co_await blocking(std::move(f));
  if (r.error != 0) detail::throw_file_error(r.error, op, path);
  co_return r.value;
}

class posix_file final : public detail::file_handle {
 public:
  posix_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~posix_file() override { close_now(); }

  task<std::size_t> read(std::span<std::byte> buffer) override {
    const int fd = fd_;
    co_return static_cast<std::size_t>(co_await call(
        "read", path_, [fd, buffer] { return ::read(fd, buffer.data(), buffer.size()); }));
  }
  task<std::size_t> write(std::span<const std::byte> data) override {
    const int fd = fd_;
    co_return static_cast<std::size_t>(co_await call(
        "write", path_, [fd, data] { return ::write(fd, data.data(), data.size()); }));
  }
  task<std::uint64_t> seek(std::int64_t offset, seek_from whence) override {
    const int fd = fd_;
    const int w = whence == seek_from::start ? SEEK_SET
                  : whence == seek_from::current ? SEEK_CUR
                                                 : SEEK_END;
    co_return static_cast<std::uint64_t>(co_await call(
        "seek", path_, [fd, offset, w] { return ::lseek(fd, static_cast<off_t>(offset), w); }));
  }
  task<> sync(bool data_only) override {
    const int fd = fd_;
    (void)co_await call(data_only ? "sync_data" : "sync", path_,
                        [fd, data_only] { return data_only ? ::fdatasync(fd) : ::fsync(fd); });
  }
  task<> truncate(std::uint64_t size) override {
    const int fd = fd_;
    (void)co_await call("truncate", path_,
                        [fd, size] { return ::ftruncate(fd, static_cast<off_t>(size)); });
  }
  task<> close() override {
    const int fd = std::exchange(fd_, -1);
    if (fd < 0) co_return;
    (void)co_await call("close", path_, [fd] { return ::close(fd); });
  }
  void close_now() noexcept override {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
  std::string path_;
};

file_stat to_stat(const struct ::stat& st) {
  file_stat s;
  s.kind = S_ISREG(st.st_mode)   ? file_stat::type::regular
           : S_ISDIR(st.st_mode) ? file_stat::type::directory
           : S_ISLNK(st.st_mode) ? file_stat::type::symlink
                                 : file_stat::type::other;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mode = st.st_mode & 07777;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.nlink = st.st_nlink;
  return s;
}

class posix_filesystem final : public detail::filesystem {
 public:
  task<std::unique_ptr<detail::file_handle>> open(std::string path,
                                                  detail::open_flags f) override {
    int flags = O_CLOEXEC;
    flags |= f.read && f.write ? O_RDWR : f.write ? O_WRONLY : O_RDONLY;
    if (f.create) flags |= O_CREAT;
    if (f.truncate) flags |= O_TRUNC;
    if (f.exclusive) flags |= O_EXCL;
    if (f.append) flags |= O_APPEND;
    const unsigned mode = f.mode;
    const char* p = path.c_str();
    // open(2) lets a directory be opened for reading; Python's open() (and
    // so anyio's) refuses it with "Is a directory".
    sys_result r = co_await blocking([p, flags, mode]() -> long {
      const int fd = ::open(p, flags, mode);
      if (fd < 0) return -1;
      struct ::stat st {};
      if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        errno = EISDIR;
        return -1;
      }
      return fd;
    });
    if (r.error != 0) detail::throw_file_error(r.error, "open_file", path);
    co_return std::make_unique<posix_file>(static_cast<int>(r.value), std::move(path));
  }

  task<file_stat> stat(std::string path) override {
    struct ::stat st {};
    const char* p = path.c_str();
    struct ::stat* out = &st;
    (void)co_await call("stat", path, [p, out] { return ::stat(p, out); });
    co_return to_stat(st);
  }

  task<> mkdir(std::string path, unsigned mode) override {
    const char* p = path.c_str();
    (void)co_await call("mkdir", path, [p, mode] { return ::mkdir(p, mode); });
  }

  task<std::vector<std::string>> list(std::string path) override {
    std::vector<std::string> names;
    const char* p = path.c_str();
    std::vector<std::string>* out = &names;
    (void)co_await call("iterdir", path, [p, out]() -> int {
      DIR* d = ::opendir(p);
      if (d == nullptr) return -1;
      errno = 0;
      while (const dirent* e = ::readdir(d)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != "..") out->emplace_back(n);
      }
      const int err = errno;
      ::closedir(d);
      errno = err;
      return err != 0 ? -1 : 0;
    });
    co_return names;
  }

  task<> unlink(std::string path) override {
    const char* p = path.c_str();
    (void)co_await call("unlink", path, [p] { return ::unlink(p); });
  }

  task<> rename(std::string from, std::string to) override {
    const char* a = from.c_str();
    const char* b = to.c_str();
    (void)co_await call("rename", from + " to " + to, [a, b] { return ::rename(a, b); });
  }

  task<> rmdir(std::string path) override {
    const char* p = path.c_str();
    (void)co_await call("rmdir", path, [p] { return ::rmdir(p); });
  }

  task<> sync_dir(std::string path) override {
    const char* p = path.c_str();
    (void)co_await call("sync", path, [p]() -> int {
      const int fd = ::open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return -1;
      const int r = ::fsync(fd);
      const int err = errno;
      ::close(fd);
      errno = err;
      return r;
    });
  }
};

}  // namespace

std::unique_ptr<detail::filesystem> make_filesystem() {
  return std::make_unique<posix_filesystem>();
}

}  // namespace anyio::realio
