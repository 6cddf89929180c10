// SPDX-License-Identifier: MIT
// traces/trace.schema.json, the encoder (sim/trace_codec.cpp) and the reader
// (sim/trace_reader.cpp) describe one format three times; these cases make
// them agree or fail. Every event kind the encoder can name must be in the
// schema with exactly the fields the encoder writes; the reader must require
// each of those fields and reject each with a wrong type, naming it; and
// every line of real runs must validate against the schema.
#include <anyio/net.hpp>
#include <anyio/sim_trace.hpp>
#include <anyio/testing/catch.hpp>

#include "schema_validator.hpp"
#include "sim/trace_codec.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace codec = anyio::sim::codec;

namespace {

const anyio_test::schema_validator& schema() {
  static const anyio_test::schema_validator v = [] {
    std::ifstream in(ANYIO_TRACE_SCHEMA);
    if (!in) throw std::runtime_error("cannot open " ANYIO_TRACE_SCHEMA);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error(ANYIO_TRACE_SCHEMA " is not valid JSON");
    return anyio_test::schema_validator(std::move(j));
  }();
  return v;
}

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items()) out.insert(key);
  return out;
}

std::set<std::string> strings_of(const json& array) {
  std::set<std::string> out;
  for (const json& s : array) out.insert(s.get<std::string>());
  return out;
}

/// The schema's definition of event kind `ev` (the oneOf entry whose "ev" is const `ev`).
const json* kind_schema(const std::string& ev) {
  for (const json& alt : schema().resolve("#/$defs/event")["oneOf"]) {
    const json& def = schema().resolve(alt["$ref"].get<std::string>());
    if (def["properties"]["ev"]["const"] == ev) return &def;
  }
  return nullptr;
}

/// The kinds the encoder can write: every event_kind until event_name says "unknown".
std::vector<anyio::event_kind> encoder_kinds() {
  std::vector<anyio::event_kind> out;
  for (int i = 0; i < 256; ++i) {
    auto kind = static_cast<anyio::event_kind>(i);
    if (std::string(codec::event_name(kind)) == "unknown") break;
    out.push_back(kind);
  }
  return out;
}

const std::uint64_t ready_ids[] = {1, 2};

/// A plausible event of `kind`: passes the reader's cross-field checks.
std::string sample_event(anyio::event_kind kind) {
  anyio::kernel_event e{kind};
  e.step = 7;
  e.time = 1'500'000'000;
  e.task = 2;
  e.task_name = "worker";
  e.other = 1;  // parent, scope, chosen index (ready[1] == task), draw value, clock from
  e.value2 = kind == anyio::event_kind::decision ? 2 : 6;  // ready tasks; draw bound
  e.detail = "sleep";
  e.flag = true;
  e.ready = ready_ids;
  std::string line;
  codec::encode_event(line, e);
  return line;
}

/// A decision among 40 ready tasks: only 32 are listed, with "ready_total".
std::string sample_big_decide() {
  static std::vector<std::uint64_t> ids = [] {
    std::vector<std::uint64_t> v;
    for (std::uint64_t id = 1; id <= 40; ++id) v.push_back(id);
    return v;
  }();
  anyio::kernel_event e{anyio::event_kind::decision};
  e.step = 3;
  e.task = 36;
  e.task_name = "w36";
  e.other = 35;  // beyond the listed 32
  e.value2 = ids.size();
  e.ready = ids;
  std::string line;
  codec::encode_event(line, e);
  return line;
}

std::string sample_header() {
  anyio::sim::options opts;
  opts.seed = 9;
  opts.test_name = "t";
  opts.strategy = anyio::sim::strategy::pct;
  std::string line;
  codec::encode_header(line, opts);
  return line;
}

std::string sample_outcome() {
  anyio::run_outcome o;
  o.kind = "deadlock";
  o.exception_type = "anyio::deadlock_error";
  o.message = "deadlock";
  o.blocked.push_back({2, "worker", "sleep_forever"});
  o.steps = 3;
  o.time = 5;
  std::string line;
  codec::encode_outcome(line, o);
  return line;
}

/// The reader's verdict on a trace with `line` in the given position:
/// "" if it parses, else the field it names (or "<line>" for the line itself).
enum class position { header, event, outcome };
std::optional<std::string> reader_field(const std::string& line, position where) {
  std::string text = where == position::header ? line + "\n" + sample_outcome() + "\n"
                     : where == position::event
                         ? sample_header() + "\n" + line + "\n" + sample_outcome() + "\n"
                         : sample_header() + "\n" + line + "\n";
  try {
    (void)anyio::sim::parse_trace(text, "x.jsonl");
  } catch (const anyio::sim::trace_error& e) {
    return e.field().empty() ? "<line>" : e.field();
  }
  return std::nullopt;
}

/// A value of another JSON type than `v`, so that the field is invalid.
json wrong_type(const json& v) {
  if (v.is_string()) return 7;
  if (v.is_array() || v.is_object()) return "x";
  return "7";  // numbers and booleans
}

/// Each field of `line`, removed (if `def`, its schema definition, requires
/// it) and then mistyped: the schema and the reader must both reject it, the
/// reader naming that field — except for a discriminator, without which the
/// reader takes the line for another kind of line (an exit event without
/// "ev" has an "outcome" field, so it reads as the outcome line).
void check_each_field_required(const std::string& line, const json& def, position where,
                               const std::set<std::string>& discriminators) {
  const json j = json::parse(line);
  const std::set<std::string> required = strings_of(def["required"]);
  for (const auto& [key, value] : j.items()) {
    INFO("line " << line << "\nfield '" << key << "'");
    if (required.count(key) != 0) {
      json without = j;
      without.erase(key);
      CHECK_FALSE(schema().validate(without).empty());
      auto removed = reader_field(without.dump(), where);
      REQUIRE(removed.has_value());
      if (discriminators.count(key) == 0) CHECK(*removed == key);
    }
    json mistyped = j;
    mistyped[key] = wrong_type(value);
    CHECK_FALSE(schema().validate(mistyped).empty());
    auto retyped = reader_field(mistyped.dump(), where);
    REQUIRE(retyped.has_value());
    if (discriminators.count(key) == 0) CHECK(*retyped == key);
  }
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string temp_trace(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "anyio-schema-test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

anyio::task<> sleeper() {
  auto scope = anyio::move_on_after(1s);
  co_await scope.run([]() -> anyio::task<> { co_await anyio::sleep(5s); });
}

anyio::task<> racer() { co_await anyio::checkpoint(); }

// Every event kind: spawn step park wake cancel cancelled deadline exit
// decide draw clock; then a failure.
anyio::task<> every_kind_body() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("sleeper"), sleeper);
    tg.start_soon(anyio::task_name("racer \"a\"\n"), racer);  // escaped in the trace
    tg.start_soon(anyio::task_name("racer-b"), racer);
    (void)anyio::random_below(6, "dice");
    co_await anyio::sleep(2s);
  });
  throw std::runtime_error("the end");
}

anyio::task<> deadlock_body() { co_await anyio::sleep_forever(); }

// The simulated network's net lines (sim/net_world.cpp write them).
std::string sample_net() {
  const std::string prefix = "{\"i\":3,\"t\":5";
  codec::fragments f;
  f.prefix = prefix;
  std::string line(codec::net_size_bound("data", "127.0.0.1:1", "127.0.0.1:2"), '\0');
  line.resize(static_cast<std::size_t>(
      codec::encode_net(line.data(), f, "data", "127.0.0.1:1", "127.0.0.1:2", 7) - line.data()));
  return line;
}

std::string sample_fs() {
  const std::string prefix = "{\"i\":3,\"t\":5";
  codec::fragments f;
  f.prefix = prefix;
  std::string line(codec::fs_size_bound("write", "/tmp/a.log", "ok"), '\0');
  line.resize(static_cast<std::size_t>(
      codec::encode_fs(line.data(), f, "write", "/tmp/a.log", 7, "ok") - line.data()));
  return line;
}

std::string sample_process() {
  const std::string prefix = "{\"i\":3,\"t\":5";
  codec::fragments f;
  f.prefix = prefix;
  std::string line(codec::process_size_bound("exit", "cat"), '\0');
  line.resize(static_cast<std::size_t>(
      codec::encode_process(line.data(), f, "exit", "cat", 1000, -9) - line.data()));
  return line;
}

// A connection, data both ways, EOF, and a datagram: net lines in a real run.
anyio::task<> net_body() {
  anyio::tcp_listener_options lo;
  lo.local_host = "127.0.0.1";
  auto listener = co_await anyio::create_tcp_listener(lo);
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  anyio::tcp_connect_options co;
  auto c = co_await anyio::connect_tcp(std::string("127.0.0.1"), port, co);
  auto s = co_await listener->accept();
  co_await c->send("ping");
  co_await c->send_eof();
  char buf[16];
  (void)co_await s->receive(std::span<char>(buf));
  anyio::udp_options uo;
  uo.local_host = "127.0.0.1";
  auto u = co_await anyio::create_udp_socket(uo);
  co_await u->send_to("d", u->extra(anyio::socket_attribute::local_address));
  (void)co_await u->receive();
}

// Forty tasks ready at once: decide lines list 32 of them and "ready_total".
anyio::task<> crowd_body() {
  co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 0; i < 40; ++i) tg.start_soon(racer);
    co_return;
  });
}

}  // namespace

TEST_CASE("schema: loads, with only keywords the checker implements", "[tool][schema]") {
  REQUIRE_NOTHROW(schema());
  CHECK(schema().root()["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  // The checker itself: it must reject what the schema forbids.
  CHECK(schema().validate(json::parse(sample_event(anyio::event_kind::step))).empty());
  CHECK_THAT(schema().validate(json::parse(R"({"i":0,"t":0,"ev":"step","name":"m"})")),
             Catch::Contains("'task' is missing"));
  CHECK_THAT(schema().validate(json::parse(R"({"i":0,"t":0,"ev":"step","task":1,"name":"m",)"
                                           R"("extra":1})")),
             Catch::Contains("'extra' is not in the schema"));
  CHECK_THAT(schema().validate(json::parse(R"({"i":0,"t":0,"ev":"decide","task":1,"name":"m",)"
                                           R"("ready":[1],"chosen":0})")),
             Catch::Contains("/ready: expected at least 2 items"));
  CHECK_FALSE(schema().validate(json::parse(R"({"i":-1,"t":0,"ev":"clock","from":0})")).empty());
  CHECK_FALSE(schema().validate(json::parse(R"({"outcome":"won","steps":1,"t":0})")).empty());
  CHECK_THROWS_WITH(anyio_test::schema_validator(json::parse(R"({"pattern":"x"})")),
                    Catch::Contains("'pattern' is not supported"));
}

TEST_CASE("schema: lists every event kind the encoder writes, with its fields",
          "[tool][schema]") {
  std::set<std::string> from_encoder;
  for (anyio::event_kind kind : encoder_kinds()) {
    const std::string name = codec::event_name(kind);
    INFO("event kind " << name);
    from_encoder.insert(name);
    const json* def = kind_schema(name);
    REQUIRE(def != nullptr);
    // The smallest line of each kind has exactly the required fields.
    const json line = json::parse(sample_event(kind));
    CHECK(keys_of(line) == strings_of((*def)["required"]));
    CHECK(schema().validate(line) == "");
    // Optional fields: only decide's "ready_total", past 32 ready tasks.
    std::set<std::string> optional = keys_of((*def)["properties"]);
    for (const std::string& key : keys_of(line)) optional.erase(key);
    CHECK(optional == (name == "decide" ? std::set<std::string>{"ready_total"}
                                        : std::set<std::string>{}));
  }
  {  // net lines come from codec::encode_net, not from a kernel event
    const json* def = kind_schema("net");
    REQUIRE(def != nullptr);
    const json line = json::parse(sample_net());
    CHECK(keys_of(line) == strings_of((*def)["required"]));
    CHECK(schema().validate(line) == "");
    from_encoder.insert("net");
  }
  {  // fs lines come from codec::encode_fs
    const json* def = kind_schema("fs");
    REQUIRE(def != nullptr);
    const json line = json::parse(sample_fs());
    CHECK(keys_of(line) == strings_of((*def)["required"]));
    CHECK(schema().validate(line) == "");
    from_encoder.insert("fs");
  }
  {  // process lines come from codec::encode_process (sim/process.cpp)
    const json* def = kind_schema("process");
    REQUIRE(def != nullptr);
    const json line = json::parse(sample_process());
    CHECK(keys_of(line) == strings_of((*def)["required"]));
    CHECK(schema().validate(line) == "");
    CHECK(line["code"] == -9);
    from_encoder.insert("process");
  }
  REQUIRE(from_encoder.size() == 14);
  const json big = json::parse(sample_big_decide());
  CHECK(keys_of(big) == keys_of((*kind_schema("decide"))["properties"]));
  CHECK(big["ready"].size() == 32);
  CHECK(schema().validate(big) == "");
  std::set<std::string> in_schema;
  for (const json& alt : schema().resolve("#/$defs/event")["oneOf"])
    in_schema.insert(schema().resolve(alt["$ref"].get<std::string>())["properties"]["ev"]["const"]);
  CHECK(in_schema == from_encoder);
  CHECK(schema().validate(json::parse(sample_header())) == "");
  CHECK(keys_of(json::parse(sample_header())) ==
        keys_of(schema().resolve("#/$defs/header")["properties"]));
  CHECK(schema().validate(json::parse(sample_outcome())) == "");
  CHECK(keys_of(json::parse(sample_outcome())) ==
        keys_of(schema().resolve("#/$defs/outcome")["properties"]));
}

TEST_CASE("schema: the reader requires each field the schema requires", "[tool][schema]") {
  std::vector<std::string> events;
  for (anyio::event_kind kind : encoder_kinds()) events.push_back(sample_event(kind));
  events.push_back(sample_big_decide());
  events.push_back(sample_net());
  events.push_back(sample_fs());
  for (const std::string& line : events) {
    INFO("event line " << line);
    REQUIRE_FALSE(reader_field(line, position::event).has_value());
    const json* def = kind_schema(json::parse(line)["ev"].get<std::string>());
    REQUIRE(def != nullptr);
    check_each_field_required(line, *def, position::event, {"ev"});
  }
  // The reader's cross-field rules for "ready_total" are in the schema too.
  json listed_31 = json::parse(sample_big_decide());
  listed_31["ready"].erase(listed_31["ready"].size() - 1);
  CHECK_FALSE(schema().validate(listed_31).empty());
  CHECK(reader_field(listed_31.dump(), position::event) == "ready_total");
  json listed_33 = json::parse(sample_big_decide());
  listed_33["ready"].push_back(41);
  listed_33.erase("ready_total");
  CHECK_FALSE(schema().validate(listed_33).empty());
  CHECK(reader_field(listed_33.dump(), position::event) == "ready");
  json total_32 = json::parse(sample_big_decide());
  total_32["ready_total"] = 32;
  CHECK_FALSE(schema().validate(total_32).empty());
  CHECK(reader_field(total_32.dump(), position::event).has_value());

  REQUIRE_FALSE(reader_field(sample_header(), position::header).has_value());
  check_each_field_required(sample_header(), schema().resolve("#/$defs/header"),
                            position::header, {});
  REQUIRE_FALSE(reader_field(sample_outcome(), position::outcome).has_value());
  check_each_field_required(sample_outcome(), schema().resolve("#/$defs/outcome"),
                            position::outcome, {"outcome"});
}

TEST_CASE("schema: every line of real runs validates", "[tool][schema]") {
  std::map<std::string, int> kinds_seen;
  std::set<std::string> outcomes_seen;
  struct run {
    anyio::sim::body_fn body;
    anyio::sim::strategy strategy;
    const char* file;
  };
  const run runs[] = {{every_kind_body, anyio::sim::strategy::random, "kinds.jsonl"},
                      {every_kind_body, anyio::sim::strategy::pct, "kinds-pct.jsonl"},
                      {deadlock_body, anyio::sim::strategy::fifo, "deadlock.jsonl"},
                      {crowd_body, anyio::sim::strategy::random, "crowd.jsonl"},
                      {net_body, anyio::sim::strategy::random, "net.jsonl"}};
  bool saw_ready_total = false;
  for (const run& r : runs) {
    anyio::sim::options opts;
    opts.seed = 4;
    opts.strategy = r.strategy;
    opts.trace_path = temp_trace(r.file);
    opts.test_name = r.file;
    (void)anyio::sim::run_body(r.body, opts);
    std::vector<std::string> lines = lines_of(opts.trace_path);
    REQUIRE(lines.size() >= 3);
    for (const std::string& l : lines) {
      INFO(r.file << ": " << l);
      const json j = json::parse(l);
      CHECK(schema().validate(j) == "");
      if (j.contains("ev")) ++kinds_seen[j["ev"].get<std::string>()];
      saw_ready_total = saw_ready_total || j.contains("ready_total");
      if (j.contains("outcome") && !j.contains("ev")) outcomes_seen.insert(j["outcome"]);
    }
  }
  CHECK(kinds_seen.size() == 12);  // the bodies above reach every kind
  CHECK(outcomes_seen == std::set<std::string>{"passed", "failed", "deadlock"});
  CHECK(saw_ready_total);
}

TEST_CASE("schema: every checked-in regression trace validates", "[tool][schema]") {
  const std::filesystem::path dir = std::filesystem::path(ANYIO_SOURCE_DIR) / "traces/regressions";
  std::size_t traces = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".jsonl") continue;
    ++traces;
    const std::vector<std::string> lines = lines_of(entry.path().string());
    CHECK(lines.size() >= 3);  // header, at least one event, outcome
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO(entry.path().string() << ":" << i + 1 << ": " << lines[i]);
      const json j = json::parse(lines[i], nullptr, false);
      REQUIRE_FALSE(j.is_discarded());
      CHECK(schema().validate(j) == "");
    }
  }
  if (traces == 0) WARN("no regression traces in " << dir.string());
}
