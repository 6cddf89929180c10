// SPDX-License-Identifier: MIT
// The trace reader rejects malformed, truncated and foreign input with an
// error naming the line and the field — never a crash.
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

namespace {

const std::string header =
    R"({"format":"anyio-sim-trace","version":1,"test":"t","seed":1,"strategy":{"name":"random"},)"
    R"("options":{"max_steps":0,"max_virtual_time_ns":0}})";
const std::string step = R"({"i":0,"t":0,"ev":"step","task":1,"name":"main"})";
const std::string outcome = R"({"outcome":"passed","steps":1,"t":0})";

std::string error_of(const std::string& text) {
  try {
    (void)anyio::sim::parse_trace(text, "x.jsonl");
  } catch (const anyio::sim::trace_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("trace reader: a minimal valid trace", "[sim][trace]") {
  auto t = anyio::sim::parse_trace(header + "\n" + step + "\n" + outcome + "\n");
  REQUIRE(t.events.size() == 1);
  REQUIRE(t.events[0].kind == "step");
  REQUIRE(t.events[0].line == 2);
  REQUIRE(t.outcome.kind == "passed");
}

TEST_CASE("trace reader: errors name the line and the field", "[sim][trace]") {
  CHECK(error_of("") == "x.jsonl: empty trace (no header line)");
  CHECK(error_of(header + "\n" + step + "\n") ==
        "x.jsonl: truncated: no outcome line after line 2 (the run did not finish writing it)");
  CHECK(error_of("not json\n") == "x.jsonl:1: not a JSON object");
  CHECK_THAT(error_of(R"({"format":"other"})" "\n"),
             Catch::Contains("x.jsonl:1: field 'format' is \"other\""));
  std::string v2 = header;
  v2.replace(v2.find("\"version\":1"), 11, "\"version\":2");
  CHECK(error_of(v2 + "\n" + outcome + "\n") ==
        "x.jsonl:1: field 'version' is 2, but this build reads version 1");
  CHECK(error_of(header + "\n" + R"({"i":0,"t":0,"ev":"step","name":"main"})" + "\n" + outcome) ==
        "x.jsonl:2: field 'task' is missing");
  CHECK(error_of(header + "\n" + R"({"i":"zero","t":0,"ev":"step","task":1,"name":"m"})" + "\n" +
                 outcome) == "x.jsonl:2: field 'i' must be a non-negative integer");
  CHECK(error_of(header + "\n" + R"({"i":0,"t":0,"ev":"teleport"})" + "\n" + outcome) ==
        "x.jsonl:2: field 'ev' has unknown event kind \"teleport\"");
  CHECK(error_of(header + "\n" +
                 R"({"i":0,"t":0,"ev":"decide","task":2,"name":"a","ready":[1,2],"chosen":5})" +
                 "\n" + outcome) == "x.jsonl:2: field 'chosen' is not an index into 'ready'");
  CHECK(error_of(header + "\n" + outcome + "\n" + step + "\n") ==
        "x.jsonl:3: unexpected line after the outcome line");
  CHECK(error_of(header + "\n" + std::string(100000, '[')) == "x.jsonl:2: JSON nested too deeply");
  CHECK_THAT(error_of("{\"outcome\":\"passed\"}"), Catch::Contains("field 'format' is missing"));
}

TEST_CASE("trace reader: a missing file is a clear error", "[sim][trace]") {
  REQUIRE_THROWS_WITH(anyio::sim::read_trace("/nonexistent/x.jsonl"),
                      "/nonexistent/x.jsonl: cannot open trace file: No such file or directory");
}
