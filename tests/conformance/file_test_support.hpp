// SPDX-License-Identifier: MIT
// Helpers for the file conformance tests: a per-test directory that works
// on both backends (on realio a fresh directory under the system's temp
// directory, removed afterwards; on sim the same path, made inside the
// run's empty filesystem) and the message of an expected exception.
#pragma once
#include <anyio/testing/catch.hpp>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>

namespace file_test {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("anyio-files-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Create the directory (and its parents) on the running backend.
  anyio::task<anyio::path> make() const {
    const anyio::path p(path_);
    co_await p.mkdir({.mode = 0777, .parents = true, .exist_ok = true});
    co_return p;
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// The what() and errno of the std::system_error that awaiting f() throws.
struct failure {
  std::string what;
  int error = 0;
};
template <class F> anyio::task<std::optional<failure>> system_error_of(F f) {
  try {
    (void)co_await f();
  } catch (const std::system_error& e) {
    co_return failure{e.what(), e.code().value()};
  }
  co_return std::nullopt;
}

}  // namespace file_test
