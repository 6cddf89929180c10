// SPDX-License-Identifier: MIT
// A small JSON Schema (draft 2020-12) validator for the subset that
// traces/trace.schema.json uses, so the schema can be checked in CI machines
// that have no Python jsonschema package. It refuses, when loading, any
// keyword it does not implement: a schema that grew a keyword this file
// ignores would otherwise pass everything silently.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace anyio_test {

class schema_validator {
 public:
  /// Throws std::invalid_argument naming the first unsupported keyword or
  /// unresolvable $ref.
  explicit schema_validator(nlohmann::json schema);
  /// "" if `value` conforms to the whole schema, else the first problem
  /// with a JSON-pointer-like path, e.g. "/ready: expected at least 2 items".
  std::string validate(const nlohmann::json& value) const;
  /// The same against a subschema, e.g. resolve("#/$defs/header").
  std::string validate(const nlohmann::json& value, const nlohmann::json& subschema) const;
  /// The subschema a local reference ("#/$defs/name") points to.
  const nlohmann::json& resolve(const std::string& ref) const;
  const nlohmann::json& root() const { return schema_; }

 private:
  void check_keywords(const nlohmann::json& s, const std::string& where) const;
  std::string check(const nlohmann::json& v, const nlohmann::json& s,
                    const std::string& path) const;
  std::string check_object(const nlohmann::json& v, const nlohmann::json& s,
                           const std::string& path) const;
  std::string check_combinators(const nlohmann::json& v, const nlohmann::json& s,
                                const std::string& path) const;

  nlohmann::json schema_;
};

}  // namespace anyio_test
