// SPDX-License-Identifier: MIT
// The trace reader: nlohmann_json parses each line, then every field the
// schema requires is checked for presence and type before use, and the
// first problem becomes a trace_error "<file>:<line>: field '<f>' ...". The
// reader is fuzzed (tests/fuzz/), so nothing here may assume well-formed
// input: no unchecked access, no exceptions other than trace_error. Traces
// are streamed (trace_reader): a file is read in 64 KiB chunks, one line
// and one event at a time; read_trace and parse_trace collect the events.
// A line is copied out of the chunk only when it spans two chunks, and a
// line past the length limit is skipped to its end, counted, and reported
// (max_line_bytes), so memory stays bounded whatever the input.
#include <anyio/sim_trace.hpp>
#include <anyio/sim_world.hpp>

#include "trace_codec.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <utility>

namespace anyio::sim {

namespace {

using json = nlohmann::json;

class line_reader {
 public:
  line_reader(const std::string& source, std::uint64_t line, const json& j)
      : source_(source), line_(line), j_(j) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    std::string where = source_ + ":" + std::to_string(line_) + ": ";
    if (field.empty()) throw trace_error(where + problem, line_, field);
    throw trace_error(where + "field '" + field + "' " + problem, line_, field);
  }
  const json& get(const char* field) const {
    auto it = j_.find(field);
    if (it == j_.end()) fail(field, "is missing");
    return *it;
  }
  bool has(const char* field) const { return j_.contains(field); }
  std::uint64_t u64(const char* field) const {
    const json& v = get(field);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
      fail(field, "must be a non-negative integer");
    return v.get<std::uint64_t>();
  }
  std::int64_t i64(const char* field) const {
    const json& v = get(field);
    if (v.is_number_unsigned()) {
      constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      if (v.get<std::uint64_t>() > max) fail(field, "is out of range");
      return static_cast<std::int64_t>(v.get<std::uint64_t>());
    }
    if (!v.is_number_integer()) fail(field, "must be an integer");
    return v.get<std::int64_t>();
  }
  std::string str(const char* field) const {
    const json& v = get(field);
    if (!v.is_string()) fail(field, "must be a string");
    return v.get<std::string>();
  }
  bool boolean(const char* field) const {
    const json& v = get(field);
    if (!v.is_boolean()) fail(field, "must be true or false");
    return v.get<bool>();
  }
  const json& object(const char* field) const {
    const json& v = get(field);
    if (!v.is_object()) fail(field, "must be an object");
    return v;
  }
  const json& array(const char* field) const {
    const json& v = get(field);
    if (!v.is_array()) fail(field, "must be an array");
    return v;
  }
  const std::string& source() const { return source_; }
  std::uint64_t line() const { return line_; }

 private:
  const std::string& source_;
  std::uint64_t line_;
  const json& j_;
};

trace_header parse_header(const line_reader& r) {
  trace_header h;
  std::string format = r.str("format");
  if (format != codec::format_name)
    r.fail("format", "is \"" + format + "\", expected \"" + codec::format_name +
                         "\" (not an anyio-sim trace)");
  std::int64_t version = r.i64("version");
  if (version != codec::format_version)
    r.fail("version", "is " + std::to_string(version) + ", but this build reads version " +
                          std::to_string(codec::format_version));
  h.version = static_cast<int>(version);
  h.test = r.str("test");
  h.seed = r.u64("seed");
  const json& s = r.object("strategy");
  line_reader sr(r.source(), r.line(), s);
  h.strategy = sr.str("name");
  try {
    (void)strategy_from_string(h.strategy);
  } catch (const std::invalid_argument&) {
    r.fail("strategy", "has unknown name \"" + h.strategy + "\"");
  }
  if (h.strategy == "pct") {
    std::int64_t depth = sr.i64("depth");
    if (depth < 1 || depth > 1000) r.fail("strategy.depth", "must be between 1 and 1000");
    h.pct_depth = static_cast<int>(depth);
    h.pct_steps = sr.u64("steps");
  }
  const json& o = r.object("options");
  line_reader orr(r.source(), r.line(), o);
  h.max_steps = orr.u64("max_steps");
  h.max_virtual_time_ns = orr.i64("max_virtual_time_ns");
  if (o.contains("liveness_after_ns")) {
    h.liveness_after_ns = orr.i64("liveness_after_ns");
    h.liveness_bound_ns = orr.i64("liveness_bound_ns");
    if (h.liveness_after_ns < 0 || h.liveness_bound_ns < 0)
      r.fail("options.liveness_after_ns", "and liveness_bound_ns must not be negative");
  }
  if (o.contains("plan")) {
    h.plan = o["plan"].dump();
    try {
      (void)fault_plan::from_json(h.plan);
    } catch (const std::invalid_argument& e) {
      r.fail("options.plan", std::string("is not a fault plan: ") + e.what());
    }
  }
  return h;
}

void parse_ids(const line_reader& r, const char* field, std::vector<std::uint64_t>& out) {
  for (const json& v : r.array(field)) {
    if (!v.is_number_unsigned()) r.fail(field, "must hold non-negative integers");
    out.push_back(v.get<std::uint64_t>());
  }
}

/// The fields of an `fs` line (the simulated filesystem's operations).
void parse_fs(const line_reader& r, trace_event& e) {
  e.op = r.str("op");
  e.path = r.str("path");
  e.bytes = r.u64("bytes");
  e.result = r.str("result");
}

/// The fields of a line from the simulated world (net, process): not a task's.
void parse_world_event(const line_reader& r, trace_event& e) {
  if (e.kind == "net") {
    e.op = r.str("op");
    static constexpr const char* ops[] = {"syn", "synack",   "refused", "data",  "fin",
                                          "rst", "window", "datagram", "drop", "signal", "fault"};
    if (std::find(std::begin(ops), std::end(ops), e.op) == std::end(ops))
      r.fail("op", "has unknown network operation \"" + e.op + "\"");
    e.src = r.str("src");
    e.dst = r.str("dst");
    e.bytes = r.u64("bytes");
  } else {
    e.op = r.str("op");
    static constexpr const char* ops[] = {"spawn", "signal", "exit", "not_found"};
    if (std::find(std::begin(ops), std::end(ops), e.op) == std::end(ops))
      r.fail("op", "has unknown process operation \"" + e.op + "\"");
    e.program = r.str("program");
    e.pid = r.i64("pid");
    e.code = r.i64("code");
  }
}

/// Fills `e`, which holds the previous line's event: every field is reset,
/// but the line's text and the ready list keep their storage, so reading an
/// event seldom allocates.
void parse_event(const line_reader& r, trace_event& e) {
  std::string text = std::move(e.text);
  std::vector<std::uint64_t> ready = std::move(e.ready);
  e = trace_event{};
  text.clear();
  ready.clear();
  e.text = std::move(text);
  e.ready = std::move(ready);
  e.line = r.line();
  e.step = r.u64("i");
  e.time = r.i64("t");
  e.kind = r.str("ev");
  const std::string& k = e.kind;
  const bool has_task = k == "spawn" || k == "step" || k == "park" || k == "wake" ||
                        k == "cancel" || k == "cancelled" || k == "exit" || k == "decide";
  if (has_task) {
    e.task = r.u64("task");
    e.name = r.str("name");
  }
  if (k == "spawn") {
    e.parent = r.u64("parent");
  } else if (k == "park") {
    e.wait = r.str("wait");
  } else if (k == "wake") {
    e.error = r.boolean("error");
  } else if (k == "cancel") {
    e.scope = r.u64("scope");
    e.reason = r.str("reason");
  } else if (k == "deadline") {
    e.scope = r.u64("scope");
  } else if (k == "exit") {
    e.outcome = r.str("outcome");
    e.failed = r.boolean("failed");
  } else if (k == "decide") {
    parse_ids(r, "ready", e.ready);
    if (e.ready.size() > codec::max_ready_listed)
      r.fail("ready", "lists more than " + std::to_string(codec::max_ready_listed) +
                          " tasks (past that, 'ready_total' counts them)");
    e.chosen = r.u64("chosen");
    // Past 32 ready tasks only the first 32 are listed, with the total.
    e.ready_total = r.has("ready_total") ? r.u64("ready_total") : e.ready.size();
    if (r.has("ready_total") && (e.ready.size() != 32 || e.ready_total <= 32))
      r.fail("ready_total", "may only follow a full list of 32 ready tasks");
    if (e.ready_total < 2) r.fail("ready", "must list at least two tasks (a real choice)");
    if (e.chosen >= e.ready_total) r.fail("chosen", "is not an index into 'ready'");
    if (e.chosen < e.ready.size() && e.ready[e.chosen] != e.task)
      r.fail("task", "is not ready[chosen]");
  } else if (k == "draw") {
    e.purpose = r.str("purpose");
    e.bound = r.u64("bound");
    e.value = r.u64("value");
    if (e.bound == 0 || e.value >= e.bound) r.fail("value", "must be below 'bound'");
  } else if (k == "clock") {
    e.from = r.i64("from");
  } else if (k == "net" || k == "process") {
    parse_world_event(r, e);
  } else if (k == "fs") {
    parse_fs(r, e);
  } else if (k != "step" && k != "cancelled") {
    r.fail("ev", "has unknown event kind \"" + k + "\"");
  }
}

trace_outcome parse_outcome(const line_reader& r) {
  trace_outcome o;
  o.kind = r.str("outcome");
  if (o.kind != "passed" && o.kind != "failed" && o.kind != "deadlock" && o.kind != "error")
    r.fail("outcome", "must be passed, failed, deadlock or error");
  o.steps = r.u64("steps");
  o.time = r.i64("t");
  if (r.has("exception")) o.exception_type = r.str("exception");
  if (r.has("message")) o.message = r.str("message");
  if (r.has("blocked")) {
    for (const json& b : r.array("blocked")) {
      if (!b.is_object()) r.fail("blocked", "must hold objects");
      line_reader br(r.source(), r.line(), b);
      o.blocked.push_back({br.u64("task"), br.str("name"), br.str("wait")});
    }
  }
  return o;
}

// nlohmann_json recurses once per nesting level, so a hostile line of a
// million '[' would overflow the stack: refuse deep nesting before parsing.
bool nesting_too_deep(std::string_view line) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > 16) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

[[noreturn]] void fail_at(const std::string& source, std::uint64_t line,
                          const std::string& problem) {
  throw trace_error(source + ":" + std::to_string(line) + ": " + problem, line, "");
}

json parse_object(const std::string& source, std::uint64_t line_no, std::string_view line) {
  if (nesting_too_deep(line)) fail_at(source, line_no, "JSON nested too deeply");
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail_at(source, line_no, "not a JSON object");
  return j;
}

constexpr std::size_t chunk_size = 64 * 1024;

/// "1 MiB", "64 KiB", or bytes.
std::string describe_bytes(std::uint64_t n) {
  if (n % (std::uint64_t{1} << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

/// Owns a file descriptor.
struct fd_holder {
  int fd = -1;
  fd_holder() = default;
  fd_holder(fd_holder&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  fd_holder& operator=(fd_holder&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~fd_holder() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::size_t max_line_bytes() {
  const char* v = std::getenv("ANYIO_TRACE_MAX_LINE_BYTES");
  if (v == nullptr || *v == '\0') return default_max_line_bytes;
  std::uint64_t n = 0;
  const char* end = v + std::strlen(v);
  auto [p, ec] = std::from_chars(v, end, n);
  if (ec != std::errc() || p != end || n < 1024 ||
      n > std::numeric_limits<std::size_t>::max() / 2)
    throw std::invalid_argument("ANYIO_TRACE_MAX_LINE_BYTES=" + quote_trace_line(v, 40) +
                                ": expected a number of bytes, at least 1024");
  return static_cast<std::size_t>(n);
}

std::string quote_trace_line(std::string_view line, std::size_t keep) {
  if (line.size() <= keep) return std::string(line);
  std::size_t cut = keep;
  // Back up over UTF-8 continuation bytes so no character is split: at most
  // three (a character has at most four bytes), whatever bytes invalid text has.
  while (cut > 0 && cut + 3 > keep && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(line.substr(0, cut)) + "\u2026 (" + std::to_string(line.size()) +
         " bytes)";
}

struct trace_reader::impl {
  std::string source;
  // The input: a file read through a 64 KiB buffer, or text in memory.
  bool from_file = false;
  fd_holder file;
  std::unique_ptr<char[]> buffer;
  std::size_t buf_pos = 0, buf_end = 0;
  bool file_eof = false;
  std::string file_line;  ///< a line that spans two chunks
  std::string_view text;
  std::size_t pos = 0;
  std::size_t max_line = default_max_line_bytes;
  std::uint64_t long_line = 0;  ///< the length of the line just read, if over max_line

  std::uint64_t line_no = 0;  ///< lines read so far, blank ones included
  trace_header header;
  trace_event event;
  trace_outcome outcome;
  std::uint64_t events = 0;
  bool done = false;
  unfinished_trace unfinished = unfinished_trace::error;
  bool finished = true;
  bool last_unterminated = false;  ///< the line just read had no '\n' (end of input)
  std::optional<trace_error> error;

  bool raw_line(std::string_view& line);
  bool file_line_of(std::string_view& line);
  bool fill();
  bool next_line(std::string_view& line);
  std::uint64_t last_step = 0;  ///< of the last event returned
  std::int64_t last_time = 0;
  const trace_event* stop_unfinished() {
    outcome = trace_outcome{};
    outcome.kind = "unfinished";
    outcome.steps = last_step;
    outcome.time = last_time;
    outcome.message = "the run stopped without writing its outcome line (it crashed or was killed)";
    finished = false;
    done = true;
    return nullptr;
  }
  void read_header();
  const trace_event* advance();
};

bool trace_reader::impl::raw_line(std::string_view& line) {
  long_line = 0;
  if (from_file) return file_line_of(line);
  if (pos >= text.size()) return false;
  std::size_t end = text.find('\n', pos);
  last_unterminated = end == std::string_view::npos;
  if (last_unterminated) end = text.size();
  if (end - pos > max_line) long_line = end - pos;
  line = text.substr(pos, end - pos);
  pos = end + 1;
  return true;
}

/// The next chunk of the file; false at its end.
bool trace_reader::impl::fill() {
  if (file_eof) return false;
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer.get(), chunk_size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw trace_error(source + ": cannot read trace file: " + std::strerror(errno), 0, "");
    buf_pos = 0;
    buf_end = static_cast<std::size_t>(n);
    file_eof = n == 0;
    return n > 0;
  }
}

/// A line of the file: a view into the chunk when the whole line is in it,
/// else gathered in file_line; past max_line, only its length is kept.
bool trace_reader::impl::file_line_of(std::string_view& line) {
  file_line.clear();
  std::uint64_t length = 0;
  bool any = false;
  for (;;) {
    if (buf_pos == buf_end && !fill()) {
      if (!any) return false;
      last_unterminated = true;  // the file ends without a '\n'
      break;
    }
    any = true;
    const char* start = buffer.get() + buf_pos;
    const std::size_t avail = buf_end - buf_pos;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
    const std::size_t take = nl != nullptr ? static_cast<std::size_t>(nl - start) : avail;
    buf_pos += take + (nl != nullptr ? 1 : 0);
    if (length == 0 && nl != nullptr && take <= max_line) {  // the common case: no copy
      last_unterminated = false;
      line = std::string_view(start, take);
      return true;
    }
    length += take;
    if (length <= max_line) {
      file_line.append(start, take);
    } else if (!file_line.empty()) {
      file_line.clear();
      file_line.shrink_to_fit();
    }
    if (nl != nullptr) {
      last_unterminated = false;
      break;
    }
  }
  if (length > max_line) long_line = length;
  line = file_line;
  return true;
}

/// The next line with anything on it, without its line end; false at the
/// end of the input. Blank lines still count for line numbers.
bool trace_reader::impl::next_line(std::string_view& line) {
  while (raw_line(line)) {
    ++line_no;
    if (long_line != 0)
      fail_at(source, line_no,
              "line is " + std::to_string(long_line) + " bytes long, over the limit of " +
                  std::to_string(max_line) + " bytes (" + describe_bytes(max_line) +
                  "; ANYIO_TRACE_MAX_LINE_BYTES raises it)");
    // A UTF-8 byte order mark and CRLF line ends (an editor on Windows) do
    // not change the trace: without this, replay and diff would report a
    // divergence on lines that look identical.
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) return true;
  }
  return false;
}

void trace_reader::impl::read_header() {
  std::string_view line;
  if (!next_line(line)) throw trace_error(source + ": empty trace (no header line)", 0, "");
  const json j = parse_object(source, line_no, line);
  header = parse_header(line_reader(source, line_no, j));
  header.text = std::string(line);
}

const trace_event* trace_reader::impl::advance() {
  std::string_view line;
  if (!next_line(line)) {
    if (unfinished == unfinished_trace::accept) return stop_unfinished();
    throw trace_error(source + ": truncated: no outcome line after line " +
                          std::to_string(line_no) + " (the run did not finish writing it)",
                      line_no, "");
  }
  json j;
  try {
    j = parse_object(source, line_no, line);
  } catch (const trace_error&) {
    // A killed writer can leave half a line at the very end.
    if (unfinished == unfinished_trace::accept && last_unterminated) return stop_unfinished();
    throw;
  }
  const line_reader r(source, line_no, j);
  if (!j.contains("outcome") || j.contains("ev")) {
    parse_event(r, event);
    event.text.assign(line);
    ++events;
    last_step = event.step;
    last_time = event.time;
    return &event;
  }
  outcome = parse_outcome(r);
  outcome.text = std::string(line);
  // Only blank lines may follow, so a trace that next() ends is one that
  // read_trace accepts.
  if (next_line(line)) fail_at(source, line_no, "unexpected line after the outcome line");
  done = true;
  return nullptr;
}

trace_reader::trace_reader(const std::string& path, unfinished_trace unfinished,
                           std::size_t max_line)
    : impl_(std::make_unique<impl>()) {
  impl& m = *impl_;
  m.source = path;
  m.unfinished = unfinished;
  try {
    m.max_line = max_line != 0 ? max_line : max_line_bytes();
  } catch (const std::invalid_argument& e) {
    throw trace_error(path + ": " + e.what(), 0, "");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw trace_error(path + ": is a directory, not a trace file", 0, "");
  m.file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m.file.fd < 0)
    throw trace_error(path + ": cannot open trace file: " + std::strerror(errno), 0, "");
  m.buffer = std::make_unique<char[]>(chunk_size);
  m.from_file = true;
  m.read_header();
}

trace_reader::trace_reader(std::string_view text, std::string source,
                           unfinished_trace unfinished, std::size_t max_line)
    : impl_(std::make_unique<impl>()) {
  impl_->source = std::move(source);
  impl_->unfinished = unfinished;
  try {
    impl_->max_line = max_line != 0 ? max_line : max_line_bytes();
  } catch (const std::invalid_argument& e) {
    throw trace_error(impl_->source + ": " + e.what(), 0, "");
  }
  impl_->text = text;
  impl_->read_header();
}

trace_reader::trace_reader(trace_reader&&) noexcept = default;
trace_reader& trace_reader::operator=(trace_reader&&) noexcept = default;
trace_reader::~trace_reader() = default;

const std::string& trace_reader::source() const noexcept { return impl_->source; }
const trace_header& trace_reader::header() const noexcept { return impl_->header; }
std::uint64_t trace_reader::events_read() const noexcept { return impl_->events; }
bool trace_reader::finished() const noexcept { return impl_->finished; }

const trace_event* trace_reader::next() {
  impl& m = *impl_;
  if (m.error) throw *m.error;
  if (m.done) return nullptr;
  try {
    return m.advance();
  } catch (const trace_error& e) {
    m.error = e;  // the reader stays at the bad line: every later call reports it
    throw;
  }
}

const trace_outcome& trace_reader::outcome() const {
  if (!impl_->done)
    throw std::logic_error("trace_reader::outcome() before next() returned nullptr");
  return impl_->outcome;
}

namespace {
trace read_all(trace_reader& r) {
  trace t;
  t.source = r.source();
  t.header = r.header();
  while (const trace_event* e = r.next()) t.events.push_back(*e);
  t.outcome = r.outcome();
  return t;
}
}  // namespace

trace parse_trace(std::string_view text, const std::string& source) {
  trace_reader r(text, source);
  return read_all(r);
}

trace read_trace(const std::string& path) {
  trace_reader r(path);
  return read_all(r);
}

}  // namespace anyio::sim
