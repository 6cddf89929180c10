// SPDX-License-Identifier: MIT
// Unit tests for anyio::exception_group (runtime/errors.cpp): the exact
// what() layout users and traces read (one line per member, task names,
// nested groups indented), contains/find at any depth, and split<E>() keeping
// the nesting and the task names of the groups it passes through.
#include <anyio/errors.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

using member = anyio::exception_group::member;

template <class E> std::exception_ptr ptr(const char* what) {
  return std::make_exception_ptr(E(what));
}

// supervisor's group nests inside the outer one:
//   [1] 'reader'     runtime_error "read failed"
//   [2] 'supervisor' exception_group { [1] 'parser' invalid_argument "bad token",
//                                      [2] 'writer' runtime_error "disk full" }
//   [3] (no name)    out_of_range "index"
anyio::exception_group sample() {
  anyio::exception_group inner({{ptr<std::invalid_argument>("bad token"), "parser"},
                                {ptr<std::runtime_error>("disk full"), "writer"}});
  return anyio::exception_group({{ptr<std::runtime_error>("read failed"), "reader"},
                                 {std::make_exception_ptr(inner), "supervisor"},
                                 {ptr<std::out_of_range>("index"), ""}});
}

std::vector<std::string> member_tasks(const anyio::exception_group& g) {
  std::vector<std::string> out;
  for (const member& m : g.members()) out.push_back(m.task);
  return out;
}

}  // namespace

TEST_CASE("exception_group: what() lists members, names and nested groups", "[errors]") {
  const std::string expected =
      "task group failed (3 sub-exceptions)\n"
      "  [1] in task 'reader': std::runtime_error: read failed\n"
      "  [2] in task 'supervisor': anyio::exception_group: task group failed (2 sub-exceptions)\n"
      "      [1] in task 'parser': std::invalid_argument: bad token\n"
      "      [2] in task 'writer': std::runtime_error: disk full\n"
      "  [3]: std::out_of_range: index";
  REQUIRE(std::string(sample().what()) == expected);
}

TEST_CASE("exception_group: singular wording, custom message, non-std members", "[errors]") {
  anyio::exception_group one({{std::make_exception_ptr(42), "odd"}}, "workers failed");
  REQUIRE(std::string(one.what()) == "workers failed (1 sub-exception)\n  [1] in task 'odd': int");
  REQUIRE(one.message() == "workers failed");
  REQUIRE(one.size() == 1);
}

TEST_CASE("exception_group: contains and find search every depth", "[errors]") {
  const anyio::exception_group g = sample();
  REQUIRE(g.contains<std::runtime_error>());
  REQUIRE(g.contains<std::invalid_argument>());  // only at depth 2
  REQUIRE(g.contains<std::logic_error>());       // base classes match
  REQUIRE(g.contains<anyio::exception_group>());
  REQUIRE_FALSE(g.contains<std::bad_alloc>());
  // Depth-first, in member order: the first runtime_error is at depth 1.
  REQUIRE(std::string(g.find<std::runtime_error>()->what()) == "read failed");
  REQUIRE(std::string(g.find<std::invalid_argument>()->what()) == "bad token");
  REQUIRE(g.find<std::bad_alloc>() == nullptr);
  REQUIRE(g.exceptions().size() == 3);
}

TEST_CASE("exception_group: split keeps nesting and task names", "[errors]") {
  const anyio::exception_group g = sample();
  auto [runtime, rest] = g.split<std::runtime_error>();
  REQUIRE(runtime.has_value());
  REQUIRE(rest.has_value());
  // Matches: 'reader' directly, and 'supervisor' as a group holding 'writer'.
  REQUIRE(member_tasks(*runtime) == std::vector<std::string>{"reader", "supervisor"});
  REQUIRE(runtime->size() == 2);
  try {
    std::rethrow_exception(runtime->members()[1].error);
  } catch (const anyio::exception_group& nested) {
    REQUIRE(member_tasks(nested) == std::vector<std::string>{"writer"});
  }
  REQUIRE_FALSE(runtime->contains<std::invalid_argument>());
  REQUIRE_FALSE(runtime->contains<std::out_of_range>());
  // The rest: 'supervisor' holding 'parser', and the unnamed out_of_range.
  REQUIRE(member_tasks(*rest) == std::vector<std::string>{"supervisor", ""});
  REQUIRE(rest->contains<std::invalid_argument>());
  REQUIRE_FALSE(rest->contains<std::runtime_error>());
  REQUIRE(rest->message() == g.message());
}

TEST_CASE("exception_group: split with an empty side gives nullopt", "[errors]") {
  const anyio::exception_group g = sample();
  auto [all, none] = g.split<std::exception>();
  REQUIRE(all.has_value());
  REQUIRE_FALSE(none.has_value());
  REQUIRE(all->size() == 3);
  auto [nothing, everything] = g.split<std::bad_alloc>();
  REQUIRE_FALSE(nothing.has_value());
  REQUIRE(everything.has_value());
  REQUIRE(std::string(everything->what()) == std::string(g.what()));
}

TEST_CASE("exception_group: is a std::exception, cancelled is not", "[errors]") {
  static_assert(std::is_base_of_v<std::exception, anyio::exception_group>);
  static_assert(!std::is_base_of_v<std::exception, anyio::cancelled>);
  static_assert(std::is_base_of_v<std::system_error, anyio::timeout_error>);
  REQUIRE(anyio::timeout_error().code() == anyio::errc::timeout);
  REQUIRE(anyio::describe_exception(ptr<std::runtime_error>("x")) == "std::runtime_error: x");
}
