// SPDX-License-Identifier: MIT
// The streaming trace reader (anyio::sim::trace_reader) against read_trace:
// the same events, field for field, for every checked-in regression trace,
// and the same errors, thrown by the next() that reaches the bad line. Also
// what only streaming can get wrong: fields leaking from one reused event to
// the next, and lines that span the reader's 64 KiB chunks.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using anyio::sim::trace_error;
using anyio::sim::trace_event;
using anyio::sim::trace_reader;

namespace {

const std::string header =
    R"({"format":"anyio-sim-trace","version":1,"test":"t","seed":1,"strategy":{"name":"random"},)"
    R"("options":{"max_steps":0,"max_virtual_time_ns":0}})";
const std::string spawn = R"({"i":0,"t":0,"ev":"spawn","task":1,"name":"main","parent":0})";
const std::string step = R"({"i":1,"t":0,"ev":"step","task":1,"name":"main"})";
const std::string outcome = R"({"outcome":"passed","steps":1,"t":0})";

/// A file in the temp directory, removed at the end of the test. The pid
/// keeps concurrent test runs (other build directories) apart.
class temp_file {
 public:
  temp_file(const std::string& name, const std::string& text)
      : path_((fs::temp_directory_path() /
               ("anyio-trace-stream-" + std::to_string(getpid()) + "-" + name))
                  .string()) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void require_same(const trace_event& a, const trace_event& b) {
  INFO("line " << b.line << ": " << b.text);
  REQUIRE(a.line == b.line);
  REQUIRE(a.kind == b.kind);
  REQUIRE(a.step == b.step);
  REQUIRE(a.time == b.time);
  REQUIRE(a.task == b.task);
  REQUIRE(a.name == b.name);
  REQUIRE(a.parent == b.parent);
  REQUIRE(a.wait == b.wait);
  REQUIRE(a.error == b.error);
  REQUIRE(a.scope == b.scope);
  REQUIRE(a.reason == b.reason);
  REQUIRE(a.outcome == b.outcome);
  REQUIRE(a.failed == b.failed);
  REQUIRE(a.ready == b.ready);
  REQUIRE(a.ready_total == b.ready_total);
  REQUIRE(a.chosen == b.chosen);
  REQUIRE(a.purpose == b.purpose);
  REQUIRE(a.bound == b.bound);
  REQUIRE(a.value == b.value);
  REQUIRE(a.from == b.from);
  REQUIRE(a.text == b.text);
}

/// The message and line of the error `f` throws ("" if it throws none).
template <class F> std::pair<std::string, std::uint64_t> error_of(F f) {
  try {
    f();
  } catch (const trace_error& e) {
    return {e.what(), e.line()};
  }
  return {"", 0};
}

/// Reads to the end; returns how many events came before it stopped.
std::uint64_t drain(trace_reader& r) {
  while (r.next() != nullptr) {
  }
  return r.events_read();
}

std::vector<std::string> non_blank_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("trace_reader: yields what read_trace does for every regression trace",
          "[sim][trace]") {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(ANYIO_SOURCE_DIR "/traces/regressions"))
    if (entry.path().extension() == ".jsonl") paths.push_back(entry.path().string());
  REQUIRE(paths.size() >= 3);
  for (const std::string& path : paths) {
    INFO(path);
    const anyio::sim::trace whole = anyio::sim::read_trace(path);
    trace_reader r(path);
    REQUIRE(r.source() == path);
    REQUIRE(r.header().text == whole.header.text);
    REQUIRE(r.header().seed == whole.header.seed);
    REQUIRE(r.header().test == whole.header.test);
    std::size_t n = 0;
    while (const trace_event* e = r.next()) {
      REQUIRE(n < whole.events.size());
      require_same(*e, whole.events[n++]);
    }
    REQUIRE(n == whole.events.size());
    REQUIRE(r.events_read() == n);
    REQUIRE(r.outcome().text == whole.outcome.text);
    REQUIRE(r.outcome().kind == whole.outcome.kind);
    REQUIRE(r.outcome().steps == whole.outcome.steps);
    REQUIRE(r.next() == nullptr);  // and it stays at the end
    // Independently of the reader: every line of the file, in order, and
    // each event knows its line number.
    const std::vector<std::string> lines = non_blank_lines(path);
    REQUIRE(lines.size() == whole.events.size() + 2);
    REQUIRE(lines.front() == whole.header.text);
    REQUIRE(lines.back() == whole.outcome.text);
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      REQUIRE(whole.events[i].text == lines[i + 1]);
      REQUIRE(whole.events[i].line == i + 2);
    }
  }
}

TEST_CASE("trace_reader: an event carries only its own fields", "[sim][trace]") {
  // One event object is reused for every line: a field the previous line
  // set must not survive into the next.
  const std::string draw = R"({"i":1,"t":5,"ev":"draw","purpose":"dice","bound":6,"value":3})";
  const std::string decide =
      R"({"i":2,"t":5,"ev":"decide","task":2,"name":"b","ready":[1,2],"chosen":1})";
  const std::string exit = R"({"i":2,"t":5,"ev":"exit","task":2,"name":"b","outcome":"ok",)"
                           R"("failed":true})";
  const std::string text = header + "\n" + spawn + "\n" + draw + "\n" + decide + "\n" + exit +
                           "\n" + step + "\n" + outcome + "\n";
  trace_reader r(text, "mem.jsonl");
  REQUIRE(r.next()->parent == 0);
  const trace_event* e = r.next();
  REQUIRE(e->purpose == "dice");
  REQUIRE(e->task == 0);
  REQUIRE(e->name.empty());
  e = r.next();
  REQUIRE(e->ready == std::vector<std::uint64_t>{1, 2});
  REQUIRE(e->purpose.empty());
  REQUIRE(e->bound == 0);
  REQUIRE(e->value == 0);
  e = r.next();
  REQUIRE(e->failed);
  REQUIRE(e->ready.empty());
  REQUIRE(e->ready_total == 0);
  REQUIRE(e->chosen == 0);
  e = r.next();
  REQUIRE(e->kind == "step");
  REQUIRE(e->text == step);
  REQUIRE(e->line == 6);
  REQUIRE_FALSE(e->failed);
  REQUIRE(e->outcome.empty());
  REQUIRE(e->time == 0);
  REQUIRE(r.next() == nullptr);
  REQUIRE(r.outcome().kind == "passed");
}

TEST_CASE("trace_reader: next() throws read_trace's errors at the bad line", "[sim][trace]") {
  SECTION("a truncated file") {
    temp_file f("truncated.jsonl", header + "\n" + spawn + "\n" + step + "\n");
    const auto expected = error_of([&] { (void)anyio::sim::read_trace(f.path()); });
    REQUIRE(expected.first == f.path() + ": truncated: no outcome line after line 3 (the run "
                                         "did not finish writing it)");
    trace_reader r(f.path());
    REQUIRE(r.next() != nullptr);
    REQUIRE(r.next() != nullptr);
    REQUIRE(error_of([&] { (void)r.next(); }) == expected);
    REQUIRE(error_of([&] { (void)r.next(); }) == expected);  // it stays failed
    REQUIRE_THROWS_AS(r.outcome(), std::logic_error);
  }
  SECTION("a malformed line in the middle") {
    const std::string bad = R"({"i":"one","t":0,"ev":"step","task":1,"name":"main"})";
    temp_file f("middle.jsonl", header + "\n" + spawn + "\n" + step + "\n" + bad + "\n" + step +
                                    "\n" + outcome + "\n");
    const auto expected = error_of([&] { (void)anyio::sim::read_trace(f.path()); });
    REQUIRE(expected.first == f.path() + ":4: field 'i' must be a non-negative integer");
    REQUIRE(expected.second == 4);
    trace_reader r(f.path());
    REQUIRE(r.next()->kind == "spawn");
    REQUIRE(r.next()->kind == "step");
    REQUIRE(error_of([&] { (void)r.next(); }) == expected);
    REQUIRE(r.events_read() == 2);
  }
  SECTION("a header and nothing else") {
    temp_file f("header-only.jsonl", header + "\n");
    const auto expected = error_of([&] { (void)anyio::sim::read_trace(f.path()); });
    REQUIRE(expected.first == f.path() + ": truncated: no outcome line after line 1 (the run "
                                         "did not finish writing it)");
    trace_reader r(f.path());  // the header itself is fine
    REQUIRE(r.header().seed == 1);
    REQUIRE(error_of([&] { (void)r.next(); }) == expected);
  }
  SECTION("a line after the outcome") {
    temp_file f("after.jsonl", header + "\n" + step + "\n" + outcome + "\n\n" + step + "\n");
    const auto expected = error_of([&] { (void)anyio::sim::read_trace(f.path()); });
    REQUIRE(expected.first == f.path() + ":5: unexpected line after the outcome line");
    trace_reader r(f.path());
    REQUIRE(r.next() != nullptr);
    REQUIRE(error_of([&] { (void)r.next(); }) == expected);
  }
  SECTION("a bad header is the constructor's error") {
    std::string v2 = header;
    v2.replace(v2.find("\"version\":1"), 11, "\"version\":2");
    temp_file f("v2.jsonl", "\n" + v2 + "\n" + outcome + "\n");
    const auto expected = error_of([&] { (void)anyio::sim::read_trace(f.path()); });
    REQUIRE(expected.first ==
            f.path() + ":2: field 'version' is 2, but this build reads version 1");
    REQUIRE(error_of([&] { trace_reader r(f.path()); }) == expected);
  }
  SECTION("an empty file, a directory, a missing file") {
    temp_file f("empty.jsonl", "");
    REQUIRE(error_of([&] { trace_reader r(f.path()); }).first ==
            f.path() + ": empty trace (no header line)");
    const std::string dir = fs::temp_directory_path().string();
    REQUIRE(error_of([&] { trace_reader r(dir); }).first ==
            dir + ": is a directory, not a trace file");
    REQUIRE(error_of([&] { trace_reader r("/nonexistent/x.jsonl"); }).first ==
            "/nonexistent/x.jsonl: cannot open trace file: No such file or directory");
  }
}

TEST_CASE("trace_reader: files and text read alike, whatever the line ends", "[sim][trace]") {
  // A name longer than the reader's 64 KiB chunk puts a line across chunks;
  // a byte order mark and CRLF line ends are dropped.
  const std::string long_name(200'000, 'n');
  const std::string long_step = R"({"i":1,"t":0,"ev":"step","task":1,"name":")" + long_name +
                                R"("})";
  std::string lf;
  for (int i = 0; i < 2000; ++i) lf += (i == 1000 ? long_step : step) + "\n";
  lf = header + "\n" + lf + outcome + "\n";
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (const std::string* text : {&lf, &crlf}) {
    temp_file f("chunks.jsonl", *text);
    trace_reader from_file(f.path());
    trace_reader from_text(*text, f.path());
    REQUIRE(from_file.header().text == header);
    REQUIRE(from_text.header().text == header);
    std::uint64_t n = 0;
    while (const trace_event* e = from_file.next()) {
      const trace_event* t = from_text.next();
      REQUIRE(t != nullptr);
      require_same(*e, *t);
      REQUIRE(e->text == (n == 1000 ? long_step : step));
      REQUIRE(e->name.size() == (n == 1000 ? long_name.size() : 4));
      ++n;
    }
    REQUIRE(n == 2000);
    REQUIRE(from_text.next() == nullptr);
    REQUIRE(from_file.outcome().text == outcome);
    REQUIRE(from_text.outcome().text == outcome);
  }
}

TEST_CASE("trace_reader: parse_trace errors match a reader's over the same text",
          "[sim][trace]") {
  const std::string text = header + "\n" + step + "\n" + R"({"i":0,"t":0,"ev":"teleport"})" +
                           "\n" + outcome + "\n";
  const auto expected = error_of([&] { (void)anyio::sim::parse_trace(text, "x.jsonl"); });
  REQUIRE(expected.first == "x.jsonl:3: field 'ev' has unknown event kind \"teleport\"");
  trace_reader r(text, "x.jsonl");
  REQUIRE(r.next() != nullptr);
  REQUIRE(error_of([&] { (void)drain(r); }) == expected);
  REQUIRE(r.events_read() == 1);
}

namespace {
/// A step line of exactly `bytes` bytes (at least 48).
std::string step_line_of(std::size_t bytes) {
  const std::string head = R"({"i":1,"t":0,"ev":"step","task":1,"name":")", tail = R"("})";
  return head + std::string(bytes - head.size() - tail.size(), 'n') + tail;
}
}  // namespace

TEST_CASE("trace_reader: a line past the limit is an error naming the file, line and length",
          "[sim][trace]") {
  // 50 MB, written in pieces: the reader must report it without holding it.
  const std::string path = (fs::temp_directory_path() /
                            ("anyio-trace-stream-" + std::to_string(getpid()) + "-huge.jsonl"))
                               .string();
  constexpr std::size_t huge = 50'000'000;
  {
    std::ofstream out(path, std::ios::binary);
    out << header << '\n' << spawn << '\n' << R"({"i":1,"t":0,"ev":"step","task":1,"name":")";
    const std::string piece(1 << 20, 'n');
    std::size_t name = huge - 44;
    for (; name >= piece.size(); name -= piece.size()) out << piece;
    out << piece.substr(0, name) << R"("})" << '\n' << outcome << '\n';
  }
  const std::string expected = path + ":3: line is " + std::to_string(huge) +
                               " bytes long, over the limit of 1048576 bytes (1 MiB; "
                               "ANYIO_TRACE_MAX_LINE_BYTES raises it)";
  trace_reader r(path);
  REQUIRE(r.next() != nullptr);
  auto [message, line] = error_of([&] { r.next(); });
  fs::remove(path);
  CHECK(message == expected);
  CHECK(line == 3);
  // The same from a trace in memory, and from read_trace's whole-file path.
  const std::string text = header + "\n" + step_line_of((1 << 20) + 1) + "\n" + outcome + "\n";
  CHECK(error_of([&] { (void)anyio::sim::parse_trace(text, "mem"); }).first ==
        "mem:2: line is 1048577 bytes long, over the limit of 1048576 bytes (1 MiB; "
        "ANYIO_TRACE_MAX_LINE_BYTES raises it)");
}

TEST_CASE("trace_reader: the line limit is exact, per reader or from ANYIO_TRACE_MAX_LINE_BYTES",
          "[sim][trace]") {
  for (const bool from_file : {false, true}) {
    INFO((from_file ? "file" : "text"));
    for (const std::size_t limit : {std::size_t{1024}, std::size_t{100000}, std::size_t{3 << 20}}) {
      INFO("limit " << limit);
      // A limit beyond 64 KiB: the line spans the reader's chunks.
      const std::string at = header.size() <= limit ? step_line_of(limit) : "";
      const std::string ok_text = header + "\n" + at + "\n" + outcome + "\n";
      const std::string bad_text = header + "\n" + step_line_of(limit + 1) + "\n" + outcome + "\n";
      temp_file ok_file("limit-ok.jsonl", ok_text), bad_file("limit-bad.jsonl", bad_text);
      auto open = [&](const std::string& text, const temp_file& f) {
        return from_file ? trace_reader(f.path(), anyio::sim::unfinished_trace::error, limit)
                         : trace_reader(text, "mem", anyio::sim::unfinished_trace::error, limit);
      };
      trace_reader ok = open(ok_text, ok_file);
      const trace_event* e = ok.next();
      REQUIRE(e != nullptr);
      CHECK(e->text.size() == limit);
      CHECK(e->name.size() == limit - 44);
      CHECK(ok.next() == nullptr);
      trace_reader bad = open(bad_text, bad_file);
      auto [message, line] = error_of([&] { bad.next(); });
      CHECK(line == 2);
      CHECK_THAT(message, Catch::Contains(":2: line is " + std::to_string(limit + 1) +
                                          " bytes long, over the limit of " +
                                          std::to_string(limit) + " bytes"));
    }
  }
  // The variable: a number of bytes, at least 1024; anything else is named.
  REQUIRE(::setenv("ANYIO_TRACE_MAX_LINE_BYTES", "2048", 1) == 0);
  CHECK(anyio::sim::max_line_bytes() == 2048);
  const std::string text = header + "\n" + step_line_of(2049) + "\n" + outcome + "\n";
  CHECK_THAT(error_of([&] { (void)anyio::sim::parse_trace(text, "mem"); }).first,
             Catch::Contains("mem:2: line is 2049 bytes long, over the limit of 2048 bytes"));
  for (const char* bad : {"abc", "100", "12x", "-5"}) {
    REQUIRE(::setenv("ANYIO_TRACE_MAX_LINE_BYTES", bad, 1) == 0);
    CHECK_THROWS_WITH(anyio::sim::max_line_bytes(),
                      "ANYIO_TRACE_MAX_LINE_BYTES=" + std::string(bad) +
                          ": expected a number of bytes, at least 1024");
    CHECK_THAT(error_of([&] { (void)anyio::sim::parse_trace(text, "mem"); }).first,
               Catch::Contains("mem: ANYIO_TRACE_MAX_LINE_BYTES=" + std::string(bad)));
  }
  REQUIRE(::unsetenv("ANYIO_TRACE_MAX_LINE_BYTES") == 0);
  CHECK(anyio::sim::max_line_bytes() == anyio::sim::default_max_line_bytes);
}

TEST_CASE("quote_trace_line: whole up to the limit, else the start and the length",
          "[sim][trace]") {
  using anyio::sim::quote_trace_line;
  CHECK(quote_trace_line("") == "");
  CHECK(quote_trace_line(std::string(200, 'a')) == std::string(200, 'a'));
  CHECK(quote_trace_line(std::string(201, 'a')) == std::string(200, 'a') + "\u2026 (201 bytes)");
  CHECK(quote_trace_line("abcdef", 3) == "abc\u2026 (6 bytes)");
  // Never half a UTF-8 character: "é" is two bytes.
  std::string accents;
  for (int i = 0; i < 150; ++i) accents += "\xC3\xA9";
  CHECK(quote_trace_line(accents, 201) == accents.substr(0, 200) + "\u2026 (300 bytes)");
  CHECK(quote_trace_line(accents, 200) == accents.substr(0, 200) + "\u2026 (300 bytes)");
  // Bytes that are not UTF-8: never more than three taken back.
  const std::string continuation(300, '\x80');
  CHECK(quote_trace_line(continuation, 200) ==
        continuation.substr(0, 197) + "\u2026 (300 bytes)");
}
