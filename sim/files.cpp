// SPDX-License-Identifier: MIT
// sim's detail::filesystem (mirrors realio/files.cpp) and the model behind
// it (fs_world.hpp): POSIX's answers for paths (ENOENT, ENOTDIR, EISDIR,
// EEXIST, ENOTEMPTY, EACCES from the owner's permission bits), the
// durability rules — data durable at a file sync, entries at a directory
// sync — and the crash that keeps only what was durable (or a torn prefix
// of the rest). Each call is one operation queued in virtual time; its
// effect, faults and trace line happen when it is delivered. Faults follow
// sim/faults_api.hpp: each is a decision "fault:fs_<kind>:<path>" whose
// value the injector acts on, never what it would have drawn, so replay
// serves the recorded faults and the shrinker's zeros and lower strengths.
#include "fs_world.hpp"

#include <anyio/detail/assert.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/errors.hpp>

#include <anyio/lowlevel.hpp>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <stdexcept>

namespace anyio::sim::detail::fs {

const char* errno_name(int error) noexcept {
  switch (error) {
    case 0: return "ok";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EACCES: return "EACCES";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    default: return "error";
  }
}

bool op::cancel() noexcept {
  // Synchronous: a queued operation has done nothing yet.
  if (queued && owner != nullptr) owner->unqueue(*this);
  return true;
}

world::world(services& s) : services_(&s) {}

std::int64_t world::now() const noexcept { return services_ ? services_->fs_now() : 0; }

std::int64_t world::wall_clock() const noexcept {
  return services_ ? services_->fs_wall_clock() : 0;
}

std::uint64_t world::draw(std::uint64_t bound, std::string_view purpose) {
  return services_ ? services_->fs_draw(bound, purpose) : 0;
}

const char* fault_kind_name(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::read_error: return "fs_read_error";
    case fault_kind::write_error: return "fs_write_error";
    case fault_kind::sync_error: return "fs_sync_error";
    case fault_kind::short_write: return "fs_short_write";
    case fault_kind::no_space: return "fs_no_space";
    case fault_kind::slow: return "fs_slow";
  }
  return "fs";
}

void world::note_rates() noexcept {
  const filesystem_options& o = opts_;
  const plan_rates& p = plan_;
  any_rate_ = o.read_error > 0 || o.write_error > 0 || o.sync_error > 0 || o.short_write > 0 ||
              o.no_space > 0 || o.slow > 0 || p.read_error > 0 || p.write_error > 0 ||
              p.sync_error > 0 || p.short_write > 0 || p.no_space > 0 || p.slow > 0;
}

std::uint64_t world::decide(fault_kind k, std::string_view path, std::uint64_t max_strength) {
  if (services_ == nullptr || max_strength == 0) return 0;
  auto pick = [this](double configured, double planned) {
    return std::max(configured, now() >= plan_.start ? planned : 0.0);
  };
  double p = 0;
  switch (k) {
    case fault_kind::read_error: p = pick(opts_.read_error, plan_.read_error); break;
    case fault_kind::write_error: p = pick(opts_.write_error, plan_.write_error); break;
    case fault_kind::sync_error: p = pick(opts_.sync_error, plan_.sync_error); break;
    case fault_kind::short_write: p = pick(opts_.short_write, plan_.short_write); break;
    case fault_kind::no_space: p = pick(opts_.no_space, plan_.no_space); break;
    case fault_kind::slow: p = pick(opts_.slow, plan_.slow); break;
  }
  // No decision at all when the fault is off: a run without faults keeps
  // its trace and schedule.
  if (p <= 0) return 0;
  return services_->fs_fault(fault_kind_name(k), path, p, max_strength);
}

void world::trace(std::string_view op_name, std::string_view path, std::uint64_t bytes,
                  std::string_view result) {
  if (services_) services_->fs_trace(op_name, path, bytes, result);
}

host_fs& world::host(const std::string& name) {
  auto [it, fresh] = hosts_.try_emplace(name);
  host_fs& h = it->second;
  if (fresh) {
    // "/" and "/tmp", both durable: a crash never loses them.
    node root;
    root.dir = true;
    root.mode = 0755;
    node tmp;
    tmp.dir = true;
    tmp.mode = 01777;
    h.nodes.emplace(1, std::move(root));
    h.nodes.emplace(2, std::move(tmp));
    h.nodes[1].entries["tmp"] = 2;
    h.nodes[1].durable_entries["tmp"] = 2;
    h.next_id = 3;
  }
  return h;
}

void world::unqueue(op& o) noexcept {
  queue_.erase(o.key);
  o.queued = false;
}

void world::deliver_due() {
  if (services_ == nullptr) {
    queue_.clear();
    return;
  }
  const std::int64_t t = services_->fs_now();
  while (!queue_.empty() && queue_.begin()->first.first <= t) {
    op* o = queue_.begin()->second;
    queue_.erase(queue_.begin());
    o->queued = false;
    std::size_t result = 0;
    int error = 0;
    if (host(o->host).generation != o->generation) {
      error = EIO;  // started before a crash: the process that asked is gone
    } else {
      try {
        error = o->apply(result);
      } catch (const std::bad_alloc&) {
        error = ENOMEM;
      }
    }
    o->complete(error != 0 ? std::error_code(error, std::system_category()) : std::error_code{},
                result);
  }
}

task<std::size_t> world::perform(std::string host_name, const char* op_name, std::string path,
                                 std::function<int(std::size_t&)> apply) {
  op o;
  o.owner = this;
  o.host = host_name;
  o.generation = host(host_name).generation;
  const std::string what = std::string("file ") + op_name + " " + path;
  // The effect, the faults and the trace line happen at delivery, so an
  // operation cancelled or cut by a crash before then did nothing.
  o.apply = [this, op_name, &path, inner = std::move(apply)](std::size_t& result) {
    const int error = inner(result);
    trace(op_name, path, result, error == 0 ? "ok" : errno_name(error));
    return error;
  };
  auto start = [&] {
    std::int64_t latency = opts_.min_latency.count();
    const std::int64_t spread = opts_.max_latency.count() - latency;
    if (spread > 0) latency += static_cast<std::int64_t>(draw(spread + 1, "fs.latency"));
    // A slow operation: its strength is the extra delay in tenths of
    // slow_latency, so the shrinker's lower strengths are shorter delays.
    if (const std::uint64_t slow = fault(fault_kind::slow, path, slow_levels))
      latency += opts_.slow_latency.count() * static_cast<std::int64_t>(slow) /
                 static_cast<std::int64_t>(slow_levels);
    o.key = {now() + latency, sequence_++};
    queue_.emplace(o.key, &o);
    o.queued = true;
  };
  const std::error_code ec = co_await anyio::detail::run_io(o, start, what.c_str());
  if (ec) anyio::detail::throw_file_error(ec.value(), op_name, path);
  co_return o.transferred();
}

namespace {

void apply_change(std::string& data, const change& c);

/// Apply `c` to `n` and remember it (with what it replaced) as unsynced.
void record_change(node& n, change c) {
  c.old_size = n.data.size();
  c.old_at = c.offset;
  if (c.offset < n.data.size()) {
    const std::uint64_t span = c.truncate ? n.data.size() - c.offset : c.bytes.size();
    c.old_bytes = n.data.substr(c.offset, span);
  }
  apply_change(n.data, c);
  n.unsynced.push_back(std::move(c));
}

/// What the file held at its last sync.
std::string durable_of(const node& n) {
  std::string d = n.data;
  for (auto it = n.unsynced.rbegin(); it != n.unsynced.rend(); ++it) {
    d.resize(std::max<std::uint64_t>(d.size(), it->old_size));
    d.replace(it->old_at, it->old_bytes.size(), it->old_bytes);
    d.resize(it->old_size);
  }
  return d;
}

void apply_change(std::string& data, const change& c) {
  if (c.truncate) {
    data.resize(c.offset);
    return;
  }
  if (data.size() < c.offset + c.bytes.size()) data.resize(c.offset + c.bytes.size());
  data.replace(c.offset, c.bytes.size(), c.bytes);
}

}  // namespace

crash_report world::crash(const std::string& host_name, const crash_options& opts) {
  host_fs& h = host(host_name);
  crash_report report;
  ++h.generation;
  // What survives is what the durable entries reach from "/".
  std::map<std::uint64_t, node> kept;
  std::vector<std::pair<std::uint64_t, std::string>> stack{{1, "/"}};
  while (!stack.empty()) {
    auto [id, p] = stack.back();
    stack.pop_back();
    if (kept.count(id) != 0) continue;
    node n = std::move(h.nodes.at(id));
    if (n.dir) {
      for (const auto& [name, child] : n.entries)
        if (n.durable_entries.find(name) == n.durable_entries.end()) ++report.entries_lost;
      n.entries = n.durable_entries;
      // Reverse order, so children are visited by name (traces stay readable).
      for (auto it = n.entries.rbegin(); it != n.entries.rend(); ++it)
        stack.emplace_back(it->second, (p == "/" ? "/" : p + "/") + it->first);
    } else if (!n.unsynced.empty()) {
      std::string after = durable_of(n);
      std::uint64_t torn = 0;
      if (opts.tear && !n.unsynced.empty()) {
        // A prefix of the unsynced changes reached the disk, and the next
        // one, a write, only up to a block boundary.
        const std::size_t keep = draw(n.unsynced.size() + 1, "fs.crash.keep");
        for (std::size_t i = 0; i < keep; ++i) apply_change(after, n.unsynced[i]);
        if (keep < n.unsynced.size() && !n.unsynced[keep].truncate) {
          const change& c = n.unsynced[keep];
          const std::uint64_t block = opts_.block_size;
          std::vector<std::uint64_t> cuts{0};  // 0: none of it reached the disk
          for (std::uint64_t b = (c.offset / block + 1) * block; b < c.offset + c.bytes.size();
               b += block)
            cuts.push_back(b - c.offset);
          if (cuts.size() > 1) {
            const std::uint64_t cut = cuts[draw(cuts.size(), "fs.crash.tear")];
            if (cut != 0) {
              apply_change(after, change{false, c.offset, c.bytes.substr(0, cut)});
              torn = cut;
              ++report.torn_writes;
            }
          }
        }
      }
      trace("crash", p, torn != 0 ? torn : after.size(), torn != 0 ? "torn" : "ok");
      ++report.files_changed;
      n.data = std::move(after);
      n.unsynced.clear();
    }
    kept.emplace(id, std::move(n));
  }
  h.nodes = std::move(kept);
  h.used = 0;
  for (const auto& [id, n] : h.nodes) h.used += n.data.size();
  trace("crash", "/", report.files_changed, "ok");
  return report;
}

namespace {

/// A resolved path: its parent directory and last name (or the root).
struct where {
  std::uint64_t parent = 0;  ///< 0: the path is "/"
  std::string name{};
  std::uint64_t id = 0;      ///< the node there, 0 if none
};

/// Parse "/a/./b/../c" into components; relative paths start at "/".
std::vector<std::string> components(std::string_view p) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= p.size()) {
    auto slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view part = p.substr(start, slash - start);
    if (part == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!part.empty() && part != ".") {
      out.emplace_back(part);
    }
    start = slash + 1;
  }
  return out;
}

/// errno of resolving `p` in `h`, or 0 with `out` set.
int resolve(host_fs& h, std::string_view p, where& out) {
  if (p.empty()) return ENOENT;
  const auto parts = components(p);
  std::uint64_t dir = 1;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    node& d = h.nodes.at(dir);
    if ((d.mode & 0100) == 0) return EACCES;
    auto it = d.entries.find(parts[i]);
    if (it == d.entries.end()) return ENOENT;
    if (!h.nodes.at(it->second).dir) return ENOTDIR;
    dir = it->second;
  }
  if (parts.empty()) {
    out = {0, "/", 1};
    return 0;
  }
  node& d = h.nodes.at(dir);
  if ((d.mode & 0100) == 0) return EACCES;
  auto it = d.entries.find(parts.back());
  out = {dir, parts.back(), it == d.entries.end() ? 0 : it->second};
  // "file/" names a directory: a file there is ENOTDIR.
  if (out.id != 0 && p.back() == '/' && !h.nodes.at(out.id).dir) return ENOTDIR;
  return 0;
}

class sim_filesystem;

class sim_file final : public anyio::detail::file_handle {
 public:
  sim_file(std::shared_ptr<world> w, std::string host, std::uint64_t id, std::uint64_t generation,
           std::string path, bool append)
      : w_(std::move(w)),
        host_(std::move(host)),
        id_(id),
        generation_(generation),
        path_(std::move(path)),
        append_(append) {}

  task<std::size_t> read(std::span<std::byte> buffer) override {
    co_return co_await w_->perform(host_, "read", path_, [this, buffer](std::size_t& n) {
      node* f = file();
      if (f == nullptr) return EIO;
      if (w_->fault(fault_kind::read_error, path_) != 0) return EIO;
      if (pos_ >= f->data.size()) return 0;
      n = std::min<std::size_t>(buffer.size(), f->data.size() - pos_);
      std::memcpy(buffer.data(), f->data.data() + pos_, n);
      pos_ += n;
      return 0;
    });
  }

  task<std::size_t> write(std::span<const std::byte> data) override {
    co_return co_await w_->perform(host_, "write", path_, [this, data](std::size_t& n) {
      node* f = file();
      if (f == nullptr) return EIO;
      if (data.empty()) return 0;
      const filesystem_options& o = w_->options();
      if (w_->fault(fault_kind::write_error, path_) != 0) return EIO;
      if (w_->fault(fault_kind::no_space, path_) != 0) return ENOSPC;
      host_fs& h = w_->host(host_);
      const std::uint64_t at = append_ ? f->data.size() : pos_;
      std::size_t len = data.size();
      // A short write's strength is the number of bytes it leaves out.
      if (const std::uint64_t cut = w_->fault(fault_kind::short_write, path_, len - 1)) {
        len -= static_cast<std::size_t>(cut);
        w_->trace("write", path_, len, "short");
      }
      if (o.capacity != 0) {
        const std::uint64_t end = at + len;
        const std::uint64_t grow = end > f->data.size() ? end - f->data.size() : 0;
        const std::uint64_t room = o.capacity > h.used ? o.capacity - h.used : 0;
        if (grow > room) {
          const std::uint64_t fits = len - (grow - room);
          if (fits == 0 || at + fits <= at) return ENOSPC;
          len = static_cast<std::size_t>(fits);
        }
      }
      const std::uint64_t before = f->data.size();
      const auto* bytes = reinterpret_cast<const char*>(data.data());
      record_change(*f, change{false, at, std::string(bytes, len)});
      h.used += f->data.size() - before;
      f->mtime = w_->wall_clock();
      pos_ = at + len;
      n = len;
      return 0;
    });
  }

  task<std::uint64_t> seek(std::int64_t offset, seek_from whence) override {
    co_return co_await w_->perform(host_, "seek", path_, [this, offset, whence](std::size_t& n) {
      node* f = file();
      if (f == nullptr) return EIO;
      const std::int64_t base = whence == seek_from::start     ? 0
                                : whence == seek_from::current ? static_cast<std::int64_t>(pos_)
                                                               : static_cast<std::int64_t>(
                                                                     f->data.size());
      if (base + offset < 0) return EINVAL;
      pos_ = static_cast<std::uint64_t>(base + offset);
      n = static_cast<std::size_t>(pos_);
      return 0;
    });
  }

  task<> sync(bool data_only) override {
    (void)co_await w_->perform(host_, data_only ? "sync_data" : "sync", path_,
                               [this](std::size_t& n) {
                                 node* f = file();
                                 if (f == nullptr) return EIO;
                                 if (w_->fault(fault_kind::sync_error, path_) != 0) return EIO;
                                 n = f->data.size();
                                 f->unsynced.clear();
                                 return 0;
                               });
  }

  task<> truncate(std::uint64_t size) override {
    (void)co_await w_->perform(host_, "truncate", path_, [this, size](std::size_t& n) {
      node* f = file();
      if (f == nullptr) return EIO;
      host_fs& h = w_->host(host_);
      const filesystem_options& o = w_->options();
      if (o.capacity != 0 && size > f->data.size() && size - f->data.size() + h.used > o.capacity)
        return ENOSPC;
      h.used = h.used - f->data.size() + size;
      record_change(*f, change{true, size, {}});
      n = static_cast<std::size_t>(size);
      return 0;
    });
  }

  // Nothing to release: the node belongs to the filesystem.
  task<> close() override { co_await checkpoint(); }
  void close_now() noexcept override {}

 private:
  /// The file, or null when the handle is from before a crash (EIO).
  node* file() {
    host_fs& h = w_->host(host_);
    if (h.generation != generation_) return nullptr;
    auto it = h.nodes.find(id_);
    return it == h.nodes.end() ? nullptr : &it->second;
  }

  std::shared_ptr<world> w_;
  std::string host_;
  std::uint64_t id_;
  std::uint64_t generation_;
  std::string path_;
  bool append_;
  std::uint64_t pos_ = 0;
};

class sim_filesystem final : public anyio::detail::filesystem {
 public:
  sim_filesystem(std::shared_ptr<world> w, std::string host)
      : w_(std::move(w)), host_(std::move(host)) {}

  world& model() noexcept { return *w_; }
  const std::string& host_name() const noexcept { return host_; }

  task<std::unique_ptr<anyio::detail::file_handle>> open(std::string path,
                                                         anyio::detail::open_flags f) override {
    std::uint64_t id = 0, generation = 0;
    (void)co_await w_->perform(host_, "open_file", path, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id != 0) {
        if (f.create && f.exclusive) return EEXIST;
        node& n = h.nodes.at(at.id);
        if (n.dir) return EISDIR;
        if ((f.read && (n.mode & 0400) == 0) || (f.write && (n.mode & 0200) == 0)) return EACCES;
        if (f.truncate && !n.data.empty()) {
          h.used -= n.data.size();
          record_change(n, change{true, 0, {}});
        }
        id = at.id;
      } else {
        if (!f.create) return ENOENT;
        node& d = h.nodes.at(at.parent);
        if ((d.mode & 0200) == 0) return EACCES;
        node n;
        n.mode = f.mode & ~022u;
        n.mtime = w_->wall_clock();
        id = h.next_id++;
        h.nodes.emplace(id, std::move(n));
        h.nodes.at(at.parent).entries[at.name] = id;
      }
      generation = h.generation;
      return 0;
    });
    co_return std::make_unique<sim_file>(w_, host_, id, generation, std::move(path), f.append);
  }

  task<file_stat> stat(std::string path) override {
    file_stat st;
    (void)co_await w_->perform(host_, "stat", path, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id == 0) return ENOENT;
      const node& n = h.nodes.at(at.id);
      st.kind = n.dir ? file_stat::type::directory : file_stat::type::regular;
      st.size = n.dir ? n.entries.size() : n.data.size();
      st.mode = n.mode;
      st.mtime_ns = n.mtime;
      st.nlink = n.dir ? 2 : 1;
      return 0;
    });
    co_return st;
  }

  task<> mkdir(std::string path, unsigned mode) override {
    (void)co_await w_->perform(host_, "mkdir", path, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id != 0) return EEXIST;
      if ((h.nodes.at(at.parent).mode & 0200) == 0) return EACCES;
      node n;
      n.dir = true;
      n.mode = mode & ~022u;
      n.mtime = w_->wall_clock();
      const std::uint64_t id = h.next_id++;
      h.nodes.emplace(id, std::move(n));
      h.nodes.at(at.parent).entries[at.name] = id;
      return 0;
    });
  }

  task<std::vector<std::string>> list(std::string path) override {
    std::vector<std::string> names;
    (void)co_await w_->perform(host_, "iterdir", path, [&](std::size_t& count) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id == 0) return ENOENT;
      const node& d = h.nodes.at(at.id);
      if (!d.dir) return ENOTDIR;
      if ((d.mode & 0400) == 0) return EACCES;
      for (const auto& [name, id] : d.entries) names.push_back(name);
      count = names.size();
      return 0;
    });
    co_return names;
  }

  task<> unlink(std::string path) override {
    (void)co_await w_->perform(host_, "unlink", path, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id == 0) return ENOENT;
      if (at.parent == 0 || h.nodes.at(at.id).dir) return EISDIR;
      node& d = h.nodes.at(at.parent);
      if ((d.mode & 0200) == 0) return EACCES;
      // The data stays while an open handle or a durable entry refers to it.
      d.entries.erase(at.name);
      return 0;
    });
  }

  task<> rename(std::string from, std::string to) override {
    (void)co_await w_->perform(host_, "rename", from + " to " + to, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where a, b;
      if (int e = resolve(h, from, a)) return e;
      if (int e = resolve(h, to, b)) return e;
      if (a.id == 0) return ENOENT;
      if (a.parent == 0 || b.parent == 0) return EBUSY;
      if ((h.nodes.at(a.parent).mode & 0200) == 0 || (h.nodes.at(b.parent).mode & 0200) == 0)
        return EACCES;
      if (a.id == b.id) return 0;
      const node& src = h.nodes.at(a.id);
      if (b.id != 0) {
        const node& dst = h.nodes.at(b.id);
        if (dst.dir && !src.dir) return EISDIR;
        if (!dst.dir && src.dir) return ENOTDIR;
        if (dst.dir && !dst.entries.empty()) return ENOTEMPTY;
      }
      if (src.dir) {  // not into itself
        const auto fa = components(from), fb = components(to);
        if (fb.size() > fa.size() && std::equal(fa.begin(), fa.end(), fb.begin())) return EINVAL;
      }
      h.nodes.at(a.parent).entries.erase(a.name);
      h.nodes.at(b.parent).entries[b.name] = a.id;
      return 0;
    });
  }

  task<> rmdir(std::string path) override {
    (void)co_await w_->perform(host_, "rmdir", path, [&](std::size_t&) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id == 0) return ENOENT;
      if (at.parent == 0) return EBUSY;
      const node& n = h.nodes.at(at.id);
      if (!n.dir) return ENOTDIR;
      if (!n.entries.empty()) return ENOTEMPTY;
      node& d = h.nodes.at(at.parent);
      if ((d.mode & 0200) == 0) return EACCES;
      d.entries.erase(at.name);
      return 0;
    });
  }

  task<> sync_dir(std::string path) override {
    (void)co_await w_->perform(host_, "sync", path, [&](std::size_t& count) {
      host_fs& h = w_->host(host_);
      where at;
      if (int e = resolve(h, path, at)) return e;
      if (at.id == 0) return ENOENT;
      node& d = h.nodes.at(at.id);
      if (!d.dir) return ENOTDIR;
      if (w_->fault(fault_kind::sync_error, path) != 0) return EIO;
      d.durable_entries = d.entries;
      count = d.entries.size();
      return 0;
    });
  }

 private:
  std::shared_ptr<world> w_;
  std::string host_;
};

sim_filesystem& current_sim_filesystem(const char* api) {
  auto* fs = dynamic_cast<sim_filesystem*>(&anyio::detail::current_filesystem(api));
  if (fs == nullptr)
    anyio::detail::throw_usage_error(std::string(api) + " works only inside a sim run");
  return *fs;
}

}  // namespace

std::unique_ptr<anyio::detail::filesystem> make_filesystem(std::shared_ptr<world> w,
                                                           std::string host) {
  return std::make_unique<sim_filesystem>(std::move(w), std::move(host));
}

}  // namespace anyio::sim::detail::fs

namespace anyio::sim {

void configure_filesystem(const filesystem_options& opts) {
  auto& fs = detail::fs::current_sim_filesystem("sim::configure_filesystem");
  for (double p : {opts.read_error, opts.write_error, opts.sync_error, opts.short_write,
                   opts.no_space, opts.slow})
    if (!(p >= 0 && p <= 1))
      throw std::invalid_argument("sim::configure_filesystem: a probability is outside [0, 1]");
  if (opts.slow_latency.count() < 0)
    throw std::invalid_argument("sim::configure_filesystem: slow_latency must not be negative");
  if (opts.max_latency < opts.min_latency || opts.min_latency.count() < 0)
    throw std::invalid_argument(
        "sim::configure_filesystem: max_latency is below min_latency (or min_latency < 0)");
  if (opts.block_size == 0)
    throw std::invalid_argument("sim::configure_filesystem: block_size must not be 0");
  fs.model().configure(opts);
}

crash_report crash_filesystem(const crash_options& opts) {
  auto& fs = detail::fs::current_sim_filesystem("sim::crash_filesystem");
  return fs.model().crash(fs.host_name(), opts);
}

}  // namespace anyio::sim
