// SPDX-License-Identifier: MIT
// Out-of-line parts of the error hierarchy: the anyio error category,
// exception_group's readable what(), describe_exception (demangled type and
// message, identical under g++ and clang since both use libstdc++'s
// demangler — traces depend on that), and the throw helpers the kernel uses.
#include <anyio/detail/assert.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/errors.hpp>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace anyio {

namespace detail {
struct cancelled_access {
  static cancelled make() noexcept { return cancelled(); }
};

[[noreturn]] void throw_cancelled() { throw cancelled_access::make(); }

[[noreturn]] void throw_usage_error(const std::string& what) { throw usage_error(what); }

bool is_cancelled(const std::exception_ptr& error) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "anyio: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

std::string format_duration(std::int64_t ns) {
  if (ns == never) return "never";
  char buf[64];
  const bool neg = ns < 0;
  const double v = neg ? -static_cast<double>(ns) : static_cast<double>(ns);
  const char* sign = neg ? "-" : "";
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%s%.9gs", sign, v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%s%.6gms", sign, v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%s%.3gus", sign, v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%s%lldns", sign, static_cast<long long>(v));
  return buf;
}

namespace {
std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

std::string indent(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}
}  // namespace
}  // namespace detail

exception_description describe_exception_parts(const std::exception_ptr& p) {
  if (!p) return {"", "no exception"};
  try {
    std::rethrow_exception(p);
  } catch (const exception_group& g) {
    return {"anyio::exception_group", g.what()};
  } catch (const std::exception& e) {
    return {detail::demangle(typeid(e).name()), e.what()};
  } catch (const cancelled& c) {
    return {"anyio::cancelled", c.what()};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t ? detail::demangle(t->name()) : std::string("unknown exception"), ""};
  }
}

std::string describe_exception(const std::exception_ptr& p) {
  if (!p) return "no exception";
  if (detail::is_cancelled(p)) return "anyio::cancelled";
  exception_description d = describe_exception_parts(p);
  return d.message.empty() ? d.type : d.type + ": " + d.message;
}

namespace {
class anyio_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "anyio"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::closed_resource: return "resource is closed";
      case errc::broken_resource: return "resource is broken";
      case errc::busy_resource: return "resource is busy";
      case errc::end_of_stream: return "end of stream";
      case errc::would_block: return "operation would block";
      case errc::timeout: return "operation timed out";
      case errc::connection_failed: return "connection failed";
      case errc::process_failed: return "process failed";
      case errc::delimiter_not_found: return "delimiter not found";
      case errc::incomplete_read: return "incomplete read";
    }
    return "unknown anyio error";
  }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const anyio_category category;
  return category;
}

exception_group::exception_group(std::vector<member> members, std::string message)
    : members_(std::move(members)), message_(std::move(message)) {
  what_ = message_ + " (" + std::to_string(members_.size()) +
          (members_.size() == 1 ? " sub-exception)" : " sub-exceptions)");
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const member& m = members_[i];
    what_ += "\n  [" + std::to_string(i + 1) + "]";
    if (!m.task.empty()) what_ += " in task '" + m.task + "'";
    what_ += ": " + detail::indent(describe_exception(m.error));
  }
}

std::vector<std::exception_ptr> exception_group::exceptions() const {
  std::vector<std::exception_ptr> out;
  out.reserve(members_.size());
  for (const member& m : members_) out.push_back(m.error);
  return out;
}

const exception_group* exception_group::as_group(const std::exception_ptr& p) noexcept {
  return as<exception_group>(p);
}

}  // namespace anyio
