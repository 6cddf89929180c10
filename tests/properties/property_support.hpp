// SPDX-License-Identifier: MIT
// Running a RapidCheck property inside a Catch2 test case with a chosen
// number of cases (each case draws its own sim seed, so N cases = N seeds).
// ANYIO_PROPERTY_CASES overrides the count; RC_PARAMS (seed=...) still
// applies, so the "reproduce" line RapidCheck prints on failure works.
#pragma once
#include <catch2/catch.hpp>
#include <rapidcheck.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace anyio_properties {

template <class Property> void check_property(const std::string& name, int cases, Property prop) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  if (const char* env = std::getenv("ANYIO_PROPERTY_CASES"); env != nullptr && *env != '\0')
    params.maxSuccess = std::atoi(env);
  rc::detail::TestMetadata metadata;
  metadata.id = name;
  metadata.description = name;
  const auto result = rc::detail::checkTestable(prop, metadata, params);
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  if (std::getenv("ANYIO_PROPERTY_VERBOSE") != nullptr) std::printf("%s\n", message.str().c_str());
  INFO(message.str());
  REQUIRE(result.template is<rc::detail::SuccessResult>());
  REQUIRE(result.template get<rc::detail::SuccessResult>().numSuccess == params.maxSuccess);
}

}  // namespace anyio_properties
