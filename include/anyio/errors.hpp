// SPDX-License-Identifier: MIT
// The one exception hierarchy shared by both backends. `cancelled` is
// deliberately not a std::exception (trio's Cancelled is a BaseException), so
// `catch (const std::exception&)` can never swallow a cancellation; it is
// thrown only by checkpoints and absorbed by the cancel scope that caused it.
// Expected operational failures are std::system_error subclasses carrying an
// anyio::errc code; misuse of the API is a usage_error whose message names the
// mistake and the fix. A task group with failures always raises an
// exception_group (anyio 4 / trio strict semantics), even for one failure.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace anyio {

namespace detail {
struct cancelled_access;
}

/// Raised inside a task at a checkpoint when an enclosing cancel scope is
/// cancelled. Not derived from std::exception; catch it by name, do shielded
/// cleanup if needed, and rethrow it (the scope that caused it absorbs it).
class cancelled final {
 public:
  const char* what() const noexcept {
    return "anyio::cancelled: an enclosing cancel scope was cancelled";
  }

 private:
  cancelled() noexcept = default;
  friend struct detail::cancelled_access;
};

/// Codes carried by anyio's std::system_error subclasses.
enum class errc {
  closed_resource = 1,
  broken_resource,
  busy_resource,
  end_of_stream,
  would_block,
  timeout,
  connection_failed,
  process_failed,
  delimiter_not_found,
  incomplete_read,
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The API was used in a way it does not support (outside run(), twice, ...).
class usage_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// sim: no task can run, no timer is pending and no simulated event can arrive.
/// The message names every blocked task and what it waits on.
class deadlock_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// sim: a run exceeded sim::options::max_steps or max_virtual_time.
class liveness_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Base of the typed operational errors; `code()` is an anyio::errc.
class anyio_error : public std::system_error {
 public:
  /// what() is "<what>: <the code's message>", or just the message when
  /// `what` is empty (std::system_error appends the message itself).
  anyio_error(errc code, const std::string& what)
      : std::system_error(what.empty() ? std::system_error(make_error_code(code))
                                       : std::system_error(make_error_code(code), what)) {}
};

/// fail_after / fail_at: the deadline passed before the body finished.
class timeout_error : public anyio_error {
 public:
  explicit timeout_error(const std::string& what = {})
      : anyio_error(errc::timeout, what) {}
};

/// The resource was closed by this side (use after close()).
class closed_resource_error : public anyio_error {
 public:
  explicit closed_resource_error(const std::string& what = {})
      : anyio_error(errc::closed_resource, what) {}
};

/// The other side went away (every receiver of a channel closed, a peer reset).
class broken_resource_error : public anyio_error {
 public:
  explicit broken_resource_error(const std::string& what = {})
      : anyio_error(errc::broken_resource, what) {}
};

/// Two tasks tried to use a resource that allows one at a time.
class busy_resource_error : public anyio_error {
 public:
  explicit busy_resource_error(const std::string& what = {})
      : anyio_error(errc::busy_resource, what) {}
};

/// No more data will ever arrive (every sender closed, the peer shut down).
class end_of_stream : public anyio_error {
 public:
  explicit end_of_stream(const std::string& what = {})
      : anyio_error(errc::end_of_stream, what) {}
};

/// A non-blocking operation could not complete now.
class would_block : public anyio_error {
 public:
  explicit would_block(const std::string& what = {})
      : anyio_error(errc::would_block, what) {}
};

/// Every address tried by connect_tcp failed.
class connection_failed : public anyio_error {
 public:
  explicit connection_failed(const std::string& what = {})
      : anyio_error(errc::connection_failed, what) {}
};

/// run_process(check = true) saw a non-zero exit status.
class process_error : public anyio_error {
 public:
  process_error(int returncode, const std::string& what = {})
      : anyio_error(errc::process_failed, what), returncode_(returncode) {}
  int returncode() const noexcept { return returncode_; }

 private:
  int returncode_;
};

/// Every failure of a task group, each with the name of the task it came
/// from. Raised by a task group whenever a child or the body failed (even
/// once); may nest. what() lists every member, nested groups indented.
class exception_group : public std::exception {
 public:
  struct member {
    std::exception_ptr error;
    std::string task;  ///< name of the task that raised it ("" if unknown)
  };

  explicit exception_group(std::vector<member> members, std::string message = "task group failed");
  const char* what() const noexcept override { return what_.c_str(); }

  const std::vector<member>& members() const noexcept { return members_; }
  std::vector<std::exception_ptr> exceptions() const;
  std::size_t size() const noexcept { return members_.size(); }
  const std::string& message() const noexcept { return message_; }

  /// True if some member, at any depth, is (or derives from) E.
  template <class E> bool contains() const;
  /// The first member of type E at any depth (depth-first), or nullptr.
  template <class E> const E* find() const;
  /// {members matching E, the rest}, nesting preserved; empty sides are nullopt.
  template <class E>
  std::pair<std::optional<exception_group>, std::optional<exception_group>> split() const;

 private:
  static const exception_group* as_group(const std::exception_ptr& p) noexcept;
  template <class E> static const E* as(const std::exception_ptr& p) noexcept;
  std::vector<member> members_;
  std::string message_;
  std::string what_;
};

/// The demangled type name and the message of an exception, separately.
struct exception_description {
  std::string type;
  std::string message;
};
exception_description describe_exception_parts(const std::exception_ptr& p);

/// "type: message" for any exception (demangled type name; used by what()
/// and by traces, so it is identical on every compiler using libstdc++).
std::string describe_exception(const std::exception_ptr& p);

template <class E> const E* exception_group::as(const std::exception_ptr& p) noexcept {
  try {
    std::rethrow_exception(p);
  } catch (const E& e) {
    return &e;  // the exception object lives as long as `p` does
  } catch (...) {
    return nullptr;
  }
}

template <class E> bool exception_group::contains() const { return find<E>() != nullptr; }

template <class E> const E* exception_group::find() const {
  for (const member& m : members_) {
    if (const E* e = as<E>(m.error)) return e;
    if (const exception_group* g = as_group(m.error))
      if (const E* e = g->find<E>()) return e;
  }
  return nullptr;
}

template <class E>
std::pair<std::optional<exception_group>, std::optional<exception_group>> exception_group::split()
    const {
  std::vector<member> match, rest;
  for (const member& m : members_) {
    if (as<E>(m.error)) {
      match.push_back(m);
    } else if (const exception_group* g = as_group(m.error)) {
      auto [in, out] = g->split<E>();
      if (in) match.push_back({std::make_exception_ptr(std::move(*in)), m.task});
      if (out) rest.push_back({std::make_exception_ptr(std::move(*out)), m.task});
    } else {
      rest.push_back(m);
    }
  }
  std::optional<exception_group> a, b;
  if (!match.empty()) a.emplace(std::move(match), message_);
  if (!rest.empty()) b.emplace(std::move(rest), message_);
  return {std::move(a), std::move(b)};
}

}  // namespace anyio

// Not API (lets std::error_code take anyio::errc): hidden from Doxygen.
/// \cond
template <> struct std::is_error_code_enum<anyio::errc> : std::true_type {};
/// \endcond
