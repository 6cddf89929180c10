// SPDX-License-Identifier: MIT
// What the process conformance tests share: the fake programs the sim runs
// where realio runs /bin/echo, cat, false, true, sleep, printenv, pwd and a
// small `sh -c` (echo to stdout or stderr, exit N, sleep N, cat), so one
// test body means the same on both backends; and the checks for leaks: open
// descriptors, and zombies (waitid with WNOWAIT looks without reaping).
#pragma once
#include <anyio/anyio.hpp>
#include <anyio/testing/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace process_test {

/// An argv. (Not a braced list of string literals: g++ 12 rejects one in a
/// co_await expression, "array used as initializer".)
template <class... S> std::vector<std::string> cmd(const S&... parts) {
  return {std::string(parts)...};
}

inline anyio::task<> write(anyio::byte_send_stream& s, const std::string& text) {
  co_await s.send(std::string_view(text));
}

inline std::chrono::nanoseconds seconds(const std::string& text) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(std::stod(text)));
}

/// Runs one `sh -c` command of the subset the fakes understand.
inline anyio::task<int> fake_sh_command(anyio::sim::program_context& io, std::string cmd,
                                        bool& exited) {
  while (!cmd.empty() && cmd.front() == ' ') cmd.erase(0, 1);
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  if (cmd.rfind("exit ", 0) == 0) {
    exited = true;
    co_return std::stoi(cmd.substr(5));
  }
  if (cmd.rfind("sleep ", 0) == 0) {
    co_await anyio::sleep(seconds(cmd.substr(6)));
    co_return 0;
  }
  if (cmd == "cat") {
    for (;;) {
      std::string got;
      try {
        got = co_await io.in->receive();
      } catch (const anyio::end_of_stream&) {
        co_return 0;
      }
      co_await io.out->send(std::string_view(got));
    }
  }
  if (cmd.rfind("echo ", 0) == 0) {
    std::string text = cmd.substr(5);
    bool to_err = false;
    if (text.size() >= 4 && text.substr(text.size() - 4) == " >&2") {
      to_err = true;
      text.resize(text.size() - 4);
    }
    co_await write(to_err ? *io.err : *io.out, text + "\n");
    co_return 0;
  }
  co_await write(*io.err, "sh: " + cmd + ": not found\n");
  co_return 127;
}

inline void register_fakes() {
  auto& p = anyio::sim::programs();
  p.add("true", [](anyio::sim::program_context&) -> anyio::task<int> { co_return 0; });
  p.add("false", [](anyio::sim::program_context&) -> anyio::task<int> { co_return 1; });
  p.add("echo", [](anyio::sim::program_context& io) -> anyio::task<int> {
    std::string line;
    for (std::size_t i = 1; i < io.args.size(); ++i) line += (i > 1 ? " " : "") + io.args[i];
    co_await write(*io.out, line + "\n");
    co_return 0;
  });
  p.add("cat", [](anyio::sim::program_context& io) -> anyio::task<int> {
    bool exited = false;
    co_return co_await fake_sh_command(io, "cat", exited);
  });
  p.add("sleep", [](anyio::sim::program_context& io) -> anyio::task<int> {
    co_await anyio::sleep(seconds(io.args.at(1)));
    co_return 0;
  });
  p.add("printenv", [](anyio::sim::program_context& io) -> anyio::task<int> {
    auto it = io.env.find(io.args.at(1));
    if (it == io.env.end()) co_return 1;
    co_await write(*io.out, it->second + "\n");
    co_return 0;
  });
  p.add("pwd", [](anyio::sim::program_context& io) -> anyio::task<int> {
    // Built first: g++ 12 mishandles a conditional's temporary in co_await.
    const std::string dir = io.cwd.empty() ? std::string("/") : io.cwd;
    co_await write(*io.out, dir + "\n");
    co_return 0;
  });
  p.add("sh", [](anyio::sim::program_context& io) -> anyio::task<int> {
    REQUIRE(io.args.size() == 3);
    REQUIRE(io.args[1] == "-c");
    std::string script = io.args[2];
    int code = 0;
    std::size_t start = 0;
    while (start <= script.size()) {
      const std::size_t end = std::min(script.find(';', start), script.size());
      bool exited = false;
      code = co_await fake_sh_command(io, script.substr(start, end - start), exited);
      if (exited) break;
      start = end + 1;
    }
    co_return code;
  });
}

/// Open descriptors of this process.
inline std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// True if a child of this process has exited and not been reaped.
inline bool has_zombie() {
  siginfo_t info{};
  if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;  // ECHILD
  return info.si_pid != 0;
}

/// Catches E from f() and returns what() (or nothing).
template <class E, class F> anyio::task<std::optional<std::string>> message_of(F f) {
  try {
    (void)co_await f();
  } catch (const E& e) {
    co_return std::string(e.what());
  }
  co_return std::nullopt;
}

}  // namespace process_test
