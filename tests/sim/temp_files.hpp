// SPDX-License-Identifier: MIT
// Files for the sim tests that write and compare traces: a path in a
// per-suite folder of the temp directory, and a whole file as a string.
#pragma once
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace anyio_test {

inline std::string temp_path(const std::string& folder, const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / folder;
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace anyio_test
