// SPDX-License-Identifier: MIT
// The JSON Schema subset validator of schema_validator.hpp: type, const,
// enum, minimum/maximum (exact for 64-bit integers), items/minItems/maxItems,
// required, properties, additionalProperties, dependentRequired, $ref to
// local definitions, allOf/anyOf/oneOf and if/then/else. Annotations are
// ignored; anything else is refused when the schema is loaded.
#include "schema_validator.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace anyio_test {

namespace {

using json = nlohmann::json;

const std::set<std::string> annotations = {"$schema", "$id", "$comment", "title",
                                           "description", "examples", "default", "$defs"};
const std::set<std::string> keywords = {
    "type",     "const",      "enum",   "minimum",    "maximum",      "items",
    "minItems", "maxItems",   "required",   "properties", "additionalProperties",
    "dependentRequired",
    "$ref",     "allOf",      "anyOf",  "oneOf",      "if",           "then",
    "else"};

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "null") return v.is_null();
  throw std::invalid_argument("unknown type '" + type + "'");
}

/// <0, 0, >0 like a <=> b; exact when both are integers of either sign.
int compare(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    auto wide = [](const json& x) -> __int128 {
      return x.is_number_unsigned() ? static_cast<__int128>(x.get<std::uint64_t>())
                                    : static_cast<__int128>(x.get<std::int64_t>());
    };
    __int128 x = wide(a), y = wide(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  long double x = a.get<long double>(), y = b.get<long double>();
  return x < y ? -1 : x > y ? 1 : 0;
}

/// How much a failed oneOf alternative says about the value, to report the
/// most telling failure: a mismatched discriminator (`"ev": {"const":
/// "spawn"}`) says least, a problem with the object as a whole more, a
/// problem inside a field most.
int relevance(const std::string& problem) {
  if (problem.find(": expected \"") != std::string::npos ||
      problem.find(" is not one of ") != std::string::npos)
    return 0;
  if (problem.rfind("/:", 0) == 0) return 1;
  return 2;
}

}  // namespace

schema_validator::schema_validator(json schema) : schema_(std::move(schema)) {
  if (!schema_.is_object()) throw std::invalid_argument("the schema is not a JSON object");
  check_keywords(schema_, "#");
  if (schema_.contains("$defs"))
    for (const auto& [name, def] : schema_["$defs"].items())
      check_keywords(def, "#/$defs/" + name);
}

void schema_validator::check_keywords(const json& s, const std::string& where) const {
  if (s.is_boolean()) return;
  if (!s.is_object()) throw std::invalid_argument(where + ": a schema must be an object");
  for (const auto& [key, value] : s.items()) {
    if (annotations.count(key) != 0) continue;
    if (keywords.count(key) == 0)
      throw std::invalid_argument(where + ": keyword '" + key + "' is not supported");
    if (key == "$ref") (void)resolve(value.get<std::string>());
    if (key == "properties")
      for (const auto& [name, sub] : value.items()) check_keywords(sub, where + "/" + name);
    if (key == "items" || key == "if" || key == "then" || key == "else" ||
        (key == "additionalProperties" && value.is_object()))
      check_keywords(value, where + "/" + key);
    if (key == "allOf" || key == "anyOf" || key == "oneOf")
      for (std::size_t i = 0; i < value.size(); ++i)
        check_keywords(value[i], where + "/" + key + "/" + std::to_string(i));
  }
}

const json& schema_validator::resolve(const std::string& ref) const {
  const std::string prefix = "#/$defs/";
  if (ref.rfind(prefix, 0) != 0)
    throw std::invalid_argument("$ref '" + ref + "': only #/$defs/<name> is supported");
  const std::string name = ref.substr(prefix.size());
  if (!schema_.contains("$defs") || !schema_["$defs"].contains(name))
    throw std::invalid_argument("$ref '" + ref + "' points nowhere");
  return schema_["$defs"][name];
}

std::string schema_validator::validate(const json& value) const {
  return check(value, schema_, "");
}

std::string schema_validator::validate(const json& value, const json& subschema) const {
  return check(value, subschema, "");
}

std::string schema_validator::check(const json& v, const json& s, const std::string& path) const {
  if (s.is_boolean()) return s.get<bool>() ? "" : path + ": not allowed";
  const std::string at = path.empty() ? "/" : path;
  if (s.contains("$ref")) {
    std::string r = check(v, resolve(s["$ref"].get<std::string>()), path);
    if (!r.empty()) return r;
  }
  if (s.contains("type")) {
    const json& t = s["type"];
    bool ok = t.is_string() ? has_type(v, t.get<std::string>())
                            : std::any_of(t.begin(), t.end(), [&](const json& x) {
                                return has_type(v, x.get<std::string>());
                              });
    if (!ok) return at + ": expected type " + t.dump() + ", got " + v.dump();
  }
  if (s.contains("const") && v != s["const"])
    return at + ": expected " + s["const"].dump() + ", got " + v.dump();
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
    return at + ": " + v.dump() + " is not one of " + s["enum"].dump();
  if (v.is_number()) {
    if (s.contains("minimum") && compare(v, s["minimum"]) < 0)
      return at + ": " + v.dump() + " is below the minimum " + s["minimum"].dump();
    if (s.contains("maximum") && compare(v, s["maximum"]) > 0)
      return at + ": " + v.dump() + " is above the maximum " + s["maximum"].dump();
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>())
      return at + ": expected at least " + s["minItems"].dump() + " items";
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>())
      return at + ": expected at most " + s["maxItems"].dump() + " items";
    if (s.contains("items"))
      for (std::size_t i = 0; i < v.size(); ++i) {
        std::string r = check(v[i], s["items"], path + "/" + std::to_string(i));
        if (!r.empty()) return r;
      }
  }
  if (v.is_object()) {
    std::string r = check_object(v, s, path);
    if (!r.empty()) return r;
  }
  return check_combinators(v, s, path);
}

std::string schema_validator::check_object(const json& v, const json& s,
                                           const std::string& path) const {
  const std::string at = path.empty() ? "/" : path;
  const json empty = json::object();
  const json& props = s.contains("properties") ? s["properties"] : empty;
  // Known fields first, so that a oneOf alternative for another event kind
  // fails on its discriminator ("ev"), ranked lowest by relevance().
  for (const auto& [key, value] : v.items()) {
    if (!props.contains(key)) continue;
    std::string r = check(value, props[key], path + "/" + key);
    if (!r.empty()) return r;
  }
  if (s.contains("required"))
    for (const json& key : s["required"])
      if (!v.contains(key.get<std::string>()))
        return at + ": required field '" + key.get<std::string>() + "' is missing";
  if (s.contains("dependentRequired"))
    for (const auto& [key, needs] : s["dependentRequired"].items())
      if (v.contains(key))
        for (const json& other : needs)
          if (!v.contains(other.get<std::string>()))
            return at + ": field '" + key + "' needs '" + other.get<std::string>() + "'";
  if (s.contains("additionalProperties"))
    for (const auto& [key, value] : v.items())
      if (!props.contains(key) &&
          !check(value, s["additionalProperties"], path + "/" + key).empty())
        return at + ": field '" + key + "' is not in the schema";
  return "";
}

std::string schema_validator::check_combinators(const json& v, const json& s,
                                                const std::string& path) const {
  const std::string at = path.empty() ? "/" : path;
  if (s.contains("allOf"))
    for (const json& sub : s["allOf"]) {
      std::string r = check(v, sub, path);
      if (!r.empty()) return r;
    }
  if (s.contains("anyOf") &&
      std::none_of(s["anyOf"].begin(), s["anyOf"].end(),
                   [&](const json& sub) { return check(v, sub, path).empty(); }))
    return at + ": matches none of anyOf";
  if (s.contains("oneOf")) {
    std::size_t matches = 0;
    std::string best;
    for (const json& sub : s["oneOf"]) {
      std::string r = check(v, sub, path);
      matches += r.empty();
      if (!r.empty() && (best.empty() || relevance(r) > relevance(best))) best = r;
    }
    if (matches == 0) return best;
    if (matches > 1) return at + ": matches " + std::to_string(matches) + " of oneOf, not 1";
  }
  if (s.contains("if")) {
    const bool cond = check(v, s["if"], path).empty();
    const char* branch = cond ? "then" : "else";
    if (s.contains(branch)) return check(v, s[branch], path);
  }
  return "";
}

}  // namespace anyio_test
