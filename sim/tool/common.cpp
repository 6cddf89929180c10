// SPDX-License-Identifier: MIT
// Helpers shared by the anyio-sim subcommands (declared in tool.hpp):
// argument parsing that rejects what it does not know, buffered output, and
// the wording of times, strategies, limits and outcomes, so that show, stats
// and diff describe the same trace in the same words.
#include "tool.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>

namespace anyio::sim::tool {

namespace {
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
bool is_control(char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }
/// |ns| without overflow, even for INT64_MIN.
std::uint64_t magnitude(std::int64_t ns) {
  return ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
}
}  // namespace

std::string printable(const std::string& s) {
  if (std::none_of(s.begin(), s.end(), is_control)) return s;
  std::string out;
  for (char c : s) {
    if (is_control(c)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(const std::string& s, std::size_t keep) {
  return printable(quote_trace_line(s, keep));
}

arguments::arguments(const std::vector<std::string>& args, const std::vector<std::string>& valued,
                     const std::vector<std::string>& flags) {
  bool only_operands = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_operands || a.size() < 2 || a[0] != '-') {
      operands_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_operands = true;
    } else if (a == "--help" || a == "-h") {
      help_ = true;
    } else if (contains(flags, a)) {
      flags_.push_back(a);
    } else {
      std::size_t eq = a.find('=');
      std::string name = a.substr(0, eq);
      if (!contains(valued, name)) throw usage_error("unknown option '" + a + "'");
      if (eq != std::string::npos) {
        values_[name] = a.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        values_[name] = args[++i];
      } else {
        throw usage_error("option '" + name + "' needs a value");
      }
    }
  }
}

bool arguments::flag(const std::string& name) const { return contains(flags_, name); }

std::optional<std::string> arguments::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t arguments::number(const std::string& name, std::uint64_t fallback,
                                std::uint64_t min, std::uint64_t max) const {
  auto v = value(name);
  if (!v) return fallback;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || v->empty())
    throw usage_error("option '" + name + "' expects a number, got '" + *v + "'");
  if (n < min || n > max)
    throw usage_error("option '" + name + "' must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + *v);
  return n;
}

void output::flush() {
  if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), to_);
  buf_.clear();
  std::fflush(to_);
}

std::string seconds(std::int64_t ns, int decimals) {
  // Integer arithmetic: a double would round nanoseconds away past ~104 days.
  const bool neg = ns < 0;
  const std::uint64_t mag = magnitude(ns);
  std::uint64_t frac = mag % 1'000'000'000;
  for (int d = 9; d > decimals; --d) frac /= 10;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%0*" PRIu64 "s", neg ? "-" : "",
                mag / 1'000'000'000, decimals, frac);
  return buf;
}

int decimals_for(std::int64_t ns) {
  if (ns % 1'000'000 == 0) return 3;
  if (ns % 1'000 == 0) return 6;
  return 9;
}

std::string human_duration(std::int64_t ns) {
  const bool neg = ns < 0;
  const std::uint64_t mag = magnitude(ns);
  struct unit {
    std::uint64_t size;
    const char* name;
  };
  static constexpr unit units[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  if (mag == 0) return "0s";
  std::string out = neg ? "-" : "";
  for (const unit& u : units) {
    if (mag < u.size) continue;
    std::string frac = std::to_string(u.size + mag % u.size).substr(1);  // zero-padded
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += std::to_string(mag / u.size);
    if (!frac.empty()) out += "." + frac;
    return out + u.name;
  }
  return out + std::to_string(mag) + "ns";
}

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' || c == '-');
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string describe_strategy(const trace_header& h) {
  if (h.strategy != "pct") return h.strategy;
  return "pct (depth " + std::to_string(h.pct_depth) + ", " + std::to_string(h.pct_steps) +
         " steps)";
}

std::string describe_limits(const trace_header& h) {
  std::string out;
  if (h.max_steps > 0) out = "max_steps " + std::to_string(h.max_steps);
  if (h.max_virtual_time_ns > 0)
    out += (out.empty() ? "" : ", ") + std::string("max virtual time ") +
           human_duration(h.max_virtual_time_ns);
  return out.empty() ? "none" : out;
}

std::vector<std::string> describe_outcome(const trace_outcome& o) {
  std::vector<std::string> out;
  out.push_back("outcome: " + o.kind + " after " + std::to_string(o.steps) + " steps at t=" +
                seconds(o.time, decimals_for(o.time)));
  // A message may span lines; a deadlock's repeats the blocked list, which
  // is printed below from the structured field, so keep only its first line.
  std::vector<std::string> message;
  std::size_t pos = 0;
  while (pos <= o.message.size()) {
    std::size_t end = std::min(o.message.find('\n', pos), o.message.size());
    message.push_back(quoted(o.message.substr(pos, end - pos)));
    pos = end + 1;
    if (!o.blocked.empty()) break;
  }
  if (!o.exception_type.empty() || !o.message.empty())
    out.push_back("  " + quoted(o.exception_type) + (o.exception_type.empty() ? "" : ": ") +
                  message[0]);
  for (std::size_t i = 1; i < message.size(); ++i) out.push_back("    " + message[i]);
  if (!o.blocked.empty()) out.push_back("  blocked tasks:");
  for (const run_outcome::blocked_task& b : o.blocked)
    out.push_back("    task " + std::to_string(b.id) + " '" + quoted(b.name, 80) +
                  "' waits on: " + quoted(b.wait));
  return out;
}

}  // namespace anyio::sim::tool
