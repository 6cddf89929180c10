// SPDX-License-Identifier: MIT
// The public file calls of files.hpp, written once over detail::filesystem
// so realio and sim differ only in how one system call is carried out:
// Python's open() modes, the read-ahead buffer behind readline and line
// iteration (and the position bookkeeping it needs), write() repeating short
// writes, the path helpers (mkdir with parents, glob over iterdir) and the
// file streams.
#include "runtime/kernel.hpp"

#include <anyio/detail/files.hpp>
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace anyio {

namespace detail {

filesystem& current_filesystem(const char* api) {
  kernel& k = kernel::require(api);
  detail::filesystem* fs = k.backend_.filesystem();
  if (fs == nullptr)
    throw_usage_error(std::string(api) + ": the " + k.backend_.name() +
                      " backend has no filesystem");
  return *fs;
}

void throw_file_error(int error, std::string_view op, std::string_view path) {
  std::string what(op);
  what += ' ';
  what += path;
  throw std::system_error(error, std::system_category(), what);
}

}  // namespace detail

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

detail::open_flags parse_mode(std::string_view mode) {
  detail::open_flags f;
  int primary = 0;
  bool plus = false, binary = false, text = false;
  for (char c : mode) {
    switch (c) {
      case 'r': f.read = true; ++primary; break;
      case 'w': f.write = f.create = f.truncate = true; ++primary; break;
      case 'a': f.write = f.create = f.append = true; ++primary; break;
      case 'x': f.write = f.create = f.exclusive = true; ++primary; break;
      case '+':
        if (plus) primary = 99;
        plus = true;
        break;
      case 'b':
        if (binary) primary = 99;
        binary = true;
        break;
      case 't':
        if (text) primary = 99;
        text = true;
        break;
      default: primary = 99; break;
    }
  }
  if (primary != 1 || (binary && text))
    throw std::invalid_argument("open_file: invalid mode \"" + std::string(mode) +
                                "\" (expected one of r, w, a, x, optionally with +, b or t)");
  if (plus) f.read = f.write = true;
  return f;
}

}  // namespace

// ------------------------------------------------------------------ async_file

async_file::async_file(std::unique_ptr<detail::file_handle> h, std::string name, bool readable,
                       bool writable) noexcept
    : handle_(std::move(h)), name_(std::move(name)), readable_(readable), writable_(writable) {}

async_file::async_file() noexcept = default;
async_file::async_file(async_file&&) noexcept = default;

async_file& async_file::operator=(async_file&& o) noexcept {
  if (this != &o) {
    if (handle_) handle_->close_now();
    handle_ = std::move(o.handle_);
    name_ = std::move(o.name_);
    buffer_ = std::move(o.buffer_);
    pos_ = o.pos_;
    readable_ = o.readable_;
    writable_ = o.writable_;
  }
  return *this;
}

async_file::~async_file() {
  if (handle_) handle_->close_now();
}

detail::file_handle& async_file::handle(const char* op) {
  if (!handle_) throw closed_resource_error(std::string(op) + " on closed file " + name_);
  return *handle_;
}

task<> async_file::drop_read_ahead() {
  // The OS position is past what was read ahead: move it back, so a write,
  // seek or tell sees the position the caller has read up to.
  const std::size_t ahead = buffer_.size() - pos_;
  buffer_.clear();
  pos_ = 0;
  if (ahead != 0)
    (void)co_await handle("seek").seek(-static_cast<std::int64_t>(ahead), seek_from::current);
}

task<bool> async_file::fill() {
  if (!readable_)
    detail::throw_file_error(EBADF, "read", name_);
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  const std::size_t old = buffer_.size();
  buffer_.resize(old + read_chunk);
  std::size_t n = 0;
  try {
    n = co_await handle("read").read(std::as_writable_bytes(std::span(buffer_)).subspan(old));
  } catch (...) {
    buffer_.resize(old);
    throw;
  }
  buffer_.resize(old + n);
  co_return n != 0;
}

task<std::string> async_file::read() {
  (void)handle("read");
  std::string out = buffer_.substr(pos_);
  buffer_.clear();
  pos_ = 0;
  // g++ 12 miscompiles a co_await in an if or while condition whose body
  // leaves the coroutine (co_return); this file never puts one there.
  for (;;) {
    const bool more = co_await fill();
    if (!more) break;
    out += buffer_;
    buffer_.clear();
  }
  co_return out;
}

task<std::string> async_file::read(std::size_t n) {
  (void)handle("read");
  if (pos_ == buffer_.size() && n != 0) {
    const bool more = co_await fill();
    (void)more;
  }
  const std::size_t take = std::min(n, buffer_.size() - pos_);
  std::string out = buffer_.substr(pos_, take);
  pos_ += take;
  co_return out;
}

task<std::size_t> async_file::read_into(std::span<std::byte> out) {
  detail::file_handle& h = handle("read");
  if (pos_ < buffer_.size()) {
    const std::size_t take = std::min(out.size(), buffer_.size() - pos_);
    std::memcpy(out.data(), buffer_.data() + pos_, take);
    pos_ += take;
    co_await checkpoint();
    co_return take;
  }
  if (!readable_) detail::throw_file_error(EBADF, "read", name_);
  co_return co_await h.read(out);
}

task<std::size_t> async_file::write_some(std::span<const std::byte> data) {
  detail::file_handle& h = handle("write");
  if (!writable_) detail::throw_file_error(EBADF, "write", name_);
  co_await drop_read_ahead();
  co_return co_await h.write(data);
}

task<std::size_t> async_file::write(std::span<const std::byte> data) {
  std::size_t done = 0;
  do {
    done += co_await write_some(data.subspan(done));
  } while (done < data.size());
  co_return data.size();
}

task<std::size_t> async_file::write(std::string_view data) {
  co_return co_await write(std::as_bytes(std::span(data)));
}

task<std::uint64_t> async_file::seek(std::int64_t offset, seek_from whence) {
  detail::file_handle& h = handle("seek");
  co_await drop_read_ahead();
  co_return co_await h.seek(offset, whence);
}

task<std::uint64_t> async_file::tell() {
  detail::file_handle& h = handle("tell");
  const std::uint64_t os = co_await h.seek(0, seek_from::current);
  co_return os - (buffer_.size() - pos_);
}

task<> async_file::flush() {
  (void)handle("flush");
  co_await checkpoint();
}

task<> async_file::sync() { co_await handle("sync").sync(false); }

task<> async_file::sync_data() { co_await handle("sync_data").sync(true); }

task<> async_file::truncate(std::optional<std::uint64_t> size) {
  detail::file_handle& h = handle("truncate");
  if (!writable_) detail::throw_file_error(EBADF, "truncate", name_);
  co_await drop_read_ahead();
  const std::uint64_t to = size ? *size : co_await h.seek(0, seek_from::current);
  co_await h.truncate(to);
}

task<std::string> async_file::readline() {
  auto line = co_await next_line();
  co_return line ? std::move(*line) : std::string();
}

task<std::optional<std::string>> async_file::next_line() {
  (void)handle("readline");
  for (;;) {
    const std::size_t nl = buffer_.find('\n', pos_);
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(pos_, nl + 1 - pos_);
      pos_ = nl + 1;
      co_return line;
    }
    const bool more = co_await fill();
    if (!more) break;
  }
  if (pos_ == buffer_.size()) co_return std::nullopt;
  std::string rest = buffer_.substr(pos_);
  buffer_.clear();
  pos_ = 0;
  co_return rest;
}

task<> async_file::aclose() {
  if (!handle_) {
    co_await checkpoint();
    co_return;
  }
  auto h = std::move(handle_);
  buffer_.clear();
  pos_ = 0;
  co_await h->close();
}

task<async_file> open_file(std::string path, std::string_view mode) {
  const detail::open_flags flags = parse_mode(mode);
  auto& fs = detail::current_filesystem("anyio::open_file");
  auto h = co_await fs.open(path, flags);
  co_return async_file(std::move(h), std::move(path), flags.read, flags.write);
}

// ------------------------------------------------------------------------ path

std::string path::name() const {
  std::string_view s = p_;
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  const auto slash = s.rfind('/');
  return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

std::string path::suffix() const {
  const std::string n = name();
  const auto dot = n.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == n.size()) return {};
  return n.substr(dot);
}

std::string path::stem() const {
  const std::string n = name();
  return n.substr(0, n.size() - suffix().size());
}

path path::parent() const {
  std::string_view s = p_;
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  const auto slash = s.rfind('/');
  if (slash == std::string_view::npos) return path(".");
  if (slash == 0) return path("/");
  return path(std::string(s.substr(0, slash)));
}

path path::operator/(std::string_view child) const {
  if (!child.empty() && child.front() == '/') return path(child);
  if (p_.empty()) return path(child);
  std::string joined = p_;
  if (joined.back() != '/') joined += '/';
  joined += child;
  return path(std::move(joined));
}

// The path methods are plain functions that hand a copy of the path to
// these coroutines, so `co_await path(s).read_bytes()` on a temporary is
// safe (a coroutine member would keep a pointer to the temporary).
namespace {

task<std::string> do_read_bytes(path self) {
  auto f = co_await open_file(self.str(), "rb");
  std::string data = co_await f.read();
  co_await f.aclose();
  co_return data;
}

task<std::string> do_read_text(path self) { co_return co_await self.read_bytes(); }

task<> do_write_bytes(path self, std::string data) {
  auto f = co_await open_file(self.str(), "wb");
  (void)co_await f.write(data);
  co_await f.aclose();
}

task<> do_write_text(path self, std::string text) { co_await self.write_bytes(text); }

task<async_file> do_open(path self, std::string mode) {
  co_return co_await open_file(self.str(), mode);
}

task<file_stat> do_stat(path self) {
  co_return co_await detail::current_filesystem("anyio::path::stat").stat(self.str());
}

namespace {
// stat() that answers nullopt for "nothing there" (ENOENT, or ENOTDIR for
// a path through a file), as pathlib's exists() does.
task<std::optional<file_stat>> stat_if_exists(const std::string& p) {
  try {
    co_return co_await detail::current_filesystem("anyio::path::exists").stat(p);
  } catch (const std::system_error& e) {
    if (e.code().value() != ENOENT && e.code().value() != ENOTDIR) throw;
  }
  co_return std::nullopt;
}
}  // namespace

task<bool> do_exists(path self) { co_return (co_await stat_if_exists(self.str())).has_value(); }

task<bool> do_is_file(path self) {
  auto st = co_await stat_if_exists(self.str());
  co_return st && st->is_file();
}

task<bool> do_is_dir(path self) {
  auto st = co_await stat_if_exists(self.str());
  co_return st && st->is_dir();
}

task<> do_mkdir(path self, path::mkdir_options opts) {
  auto& fs = detail::current_filesystem("anyio::path::mkdir");
  try {
    co_await fs.mkdir(self.str(), opts.mode);
    co_return;
  } catch (const std::system_error& e) {
    const int err = e.code().value();
    if (err == ENOENT && opts.parents && self.parent() != self) {
      // Fall through to create the parents, then this one.
    } else if (err == EEXIST && opts.exist_ok) {
      // Only an existing directory is fine (pathlib).
    } else {
      throw;
    }
  }
  if (opts.parents) {
    const bool there = co_await self.is_dir();
    if (there) {
      if (opts.exist_ok) co_return;
      detail::throw_file_error(EEXIST, "mkdir", self.str());
    }
    co_await self.parent().mkdir({opts.mode, true, true});
    try {
      co_await fs.mkdir(self.str(), opts.mode);
    } catch (const std::system_error& e) {
      if (e.code().value() != EEXIST || !opts.exist_ok) throw;
    }
    co_return;
  }
  // exist_ok with EEXIST: a file of that name is still an error.
  const bool dir = co_await self.is_dir();
  if (!dir) detail::throw_file_error(EEXIST, "mkdir", self.str());
}

task<std::vector<path>> do_iterdir(path self) {
  auto names = co_await detail::current_filesystem("anyio::path::iterdir").list(self.str());
  std::sort(names.begin(), names.end());
  std::vector<path> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(self / n);
  co_return out;
}

namespace {

// fnmatch without FNM_PATHNAME subtleties: one component at a time.
bool match_component(std::string_view pat, std::string_view s) {
  std::size_t p = 0, i = 0, star_p = std::string_view::npos, star_i = 0;
  auto class_match = [&](std::size_t& pp, char c) {
    // pp points after '['; returns whether c matches and moves pp past ']'.
    bool negate = pp < pat.size() && (pat[pp] == '!' || pat[pp] == '^');
    if (negate) ++pp;
    bool hit = false, first = true;
    while (pp < pat.size() && (first || pat[pp] != ']')) {
      first = false;
      char lo = pat[pp];
      if (pp + 2 < pat.size() && pat[pp + 1] == '-' && pat[pp + 2] != ']') {
        hit = hit || (c >= lo && c <= pat[pp + 2]);
        pp += 3;
      } else {
        hit = hit || c == lo;
        ++pp;
      }
    }
    if (pp < pat.size()) ++pp;  // the ']'
    return hit != negate;
  };
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star_p = p++;
      star_i = i;
      continue;
    }
    if (p < pat.size()) {
      if (pat[p] == '?' && !(i == 0 && s[0] == '.')) {
        ++p;
        ++i;
        continue;
      }
      if (pat[p] == '[') {
        std::size_t pp = p + 1;
        if (class_match(pp, s[i])) {
          p = pp;
          ++i;
          continue;
        }
      } else if (pat[p] == s[i]) {
        ++p;
        ++i;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    i = ++star_i;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  // Hidden files match only a pattern that starts with a dot (glob's rule).
  if (!s.empty() && s[0] == '.' && (pat.empty() || pat[0] != '.')) return false;
  return p == pat.size();
}

task<> glob_into(const path& dir, std::vector<std::string_view> parts, std::size_t k,
                 std::vector<path>& out) {
  if (k == parts.size()) {
    out.push_back(dir);
    co_return;
  }
  const std::string_view part = parts[k];
  if (part == "**") {
    // Zero directories here, then each subdirectory, recursively.
    co_await glob_into(dir, parts, k + 1, out);
    for (const path& child : co_await dir.iterdir()) {
      if (child.name().front() == '.') continue;
      const bool sub = co_await child.is_dir();
      if (sub) co_await glob_into(child, parts, k, out);
    }
    co_return;
  }
  if (part.find_first_of("*?[") == std::string_view::npos) {
    path child = dir / part;
    const bool there = co_await child.exists();
    if (there) co_await glob_into(child, parts, k + 1, out);
    co_return;
  }
  const bool is_dir = co_await dir.is_dir();
  if (!is_dir) co_return;
  for (const path& child : co_await dir.iterdir()) {
    if (!match_component(part, child.name())) continue;
    if (k + 1 < parts.size()) {
      const bool sub = co_await child.is_dir();
      if (!sub) continue;
    }
    co_await glob_into(child, parts, k + 1, out);
  }
}

}  // namespace

task<std::vector<path>> do_glob(path self, std::string pattern) {
  if (pattern.empty() || pattern.front() == '/')
    throw std::invalid_argument("path::glob: the pattern must be relative and not empty: \"" +
                                std::string(pattern) + "\"");
  std::vector<std::string_view> parts;  // views of `pattern`, which outlives them
  const std::string_view whole = pattern;
  std::size_t start = 0;
  while (start <= whole.size()) {
    const auto slash = whole.find('/', start);
    const auto end = slash == std::string_view::npos ? whole.size() : slash;
    if (end > start) parts.push_back(whole.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::vector<path> out;
  co_await glob_into(self, std::move(parts), 0, out);
  std::sort(out.begin(), out.end(),
            [](const path& a, const path& b) { return a.str() < b.str(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  co_return out;
}

task<> do_unlink(path self, bool missing_ok) {
  try {
    co_await detail::current_filesystem("anyio::path::unlink").unlink(self.str());
  } catch (const std::system_error& e) {
    if (!missing_ok || e.code().value() != ENOENT) throw;
  }
}

task<path> do_rename(path self, path target) {
  co_await detail::current_filesystem("anyio::path::rename").rename(self.str(), target.str());
  co_return target;
}

task<> do_rmdir(path self) {
  co_await detail::current_filesystem("anyio::path::rmdir").rmdir(self.str());
}

task<> do_sync(path self) {
  co_await detail::current_filesystem("anyio::path::sync").sync_dir(self.str());
}

}  // namespace

task<std::string> path::read_bytes() const { return do_read_bytes(*this); }
task<std::string> path::read_text() const { return do_read_text(*this); }
task<> path::write_bytes(std::string_view data) const {
  return do_write_bytes(*this, std::string(data));
}
task<> path::write_text(std::string_view text) const {
  return do_write_text(*this, std::string(text));
}
task<async_file> path::open(std::string_view mode) const {
  return do_open(*this, std::string(mode));
}
task<file_stat> path::stat() const { return do_stat(*this); }
task<bool> path::exists() const { return do_exists(*this); }
task<bool> path::is_file() const { return do_is_file(*this); }
task<bool> path::is_dir() const { return do_is_dir(*this); }
task<> path::mkdir(mkdir_options opts) const { return do_mkdir(*this, opts); }
task<std::vector<path>> path::iterdir() const { return do_iterdir(*this); }
task<std::vector<path>> path::glob(std::string_view pattern) const {
  return do_glob(*this, std::string(pattern));
}
task<> path::unlink(bool missing_ok) const { return do_unlink(*this, missing_ok); }
task<path> path::rename(const path& target) const { return do_rename(*this, target); }
task<> path::rmdir() const { return do_rmdir(*this); }
task<> path::sync() const { return do_sync(*this); }

// ---------------------------------------------------------------- file streams

task<std::unique_ptr<file_read_stream>> file_read_stream::from_path(path p) {
  auto f = co_await open_file(p.str(), "rb");
  co_return std::make_unique<file_read_stream>(std::move(f));
}

task<std::size_t> file_read_stream::do_receive(std::span<std::byte> buffer) {
  if (file_.closed()) throw closed_resource_error("receive on a closed file stream");
  const std::size_t n = co_await file_.read_into(buffer);
  if (n == 0 && !buffer.empty()) throw end_of_stream("end of file " + file_.name());
  co_return n;
}

task<> file_read_stream::do_aclose() { co_await file_.aclose(); }

std::any file_read_stream::find_attribute(const void* key) const {
  if (is_attribute(key, file_attribute::path)) return file_.name();
  return {};
}

task<std::unique_ptr<file_write_stream>> file_write_stream::from_path(path p, bool append) {
  auto f = co_await open_file(p.str(), append ? "ab" : "wb");
  co_return std::make_unique<file_write_stream>(std::move(f));
}

task<> file_write_stream::do_send(std::span<const std::byte> data) {
  if (file_.closed()) throw closed_resource_error("send on a closed file stream");
  (void)co_await file_.write(data);
}

task<> file_write_stream::do_aclose() { co_await file_.aclose(); }

std::any file_write_stream::find_attribute(const void* key) const {
  if (is_attribute(key, file_attribute::path)) return file_.name();
  return {};
}

}  // namespace anyio
