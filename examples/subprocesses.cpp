// SPDX-License-Identifier: MIT
// Tutorial, "Working with subprocesses": run a command to completion and
// collect its output (run_process), feed it input, see a failing command
// become process_error, then hold a conversation with a long-running child
// over its pipes (open_process). On realio these are the real /bin
// programs; with --sim-seed=N they are simulated programs registered with
// anyio::sim::programs() — coroutines reading stdin and writing stdout —
// run deterministically by the simulator, so the output is the same.
//
// test-expect: run_process: hello from a child process
// test-expect: sorted: apple,banana,cherry
// test-expect: check: command \['sh', '-c', 'echo no such branch >&2; exit 2'\] exited with status 2; its stderr ends with: no such branch
// test-expect: conversation: ping -> ping
// test-expect: conversation: pong -> pong
// test-expect: cat exited with status 0
#include "example_main.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// The fakes --sim-seed runs instead of /bin/echo, sort, sh and cat.
void register_sim_programs() {
  auto& programs = anyio::sim::programs();
  programs.add("echo", [](anyio::sim::program_context& io) -> anyio::task<int> {
    std::string line;
    for (std::size_t i = 1; i < io.args.size(); ++i) line += (i > 1 ? " " : "") + io.args[i];
    line += "\n";
    co_await io.out->send(std::string_view(line));
    co_return 0;
  });
  programs.add("sort", [](anyio::sim::program_context& io) -> anyio::task<int> {
    std::string all;
    try {
      for (;;) all += co_await io.in->receive();
    } catch (const anyio::end_of_stream&) {
    }
    std::vector<std::string> lines;
    for (std::size_t start = 0; start < all.size();) {
      const std::size_t nl = all.find('\n', start);
      lines.push_back(all.substr(start, nl - start));
      start = nl == std::string::npos ? all.size() : nl + 1;
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    co_await io.out->send(std::string_view(out));
    co_return 0;
  });
  programs.add("sh", [](anyio::sim::program_context& io) -> anyio::task<int> {
    // Just the one script this example runs.
    co_await io.err->send(std::string_view("no such branch\n"));
    co_return 2;
  });
  programs.add("cat", [](anyio::sim::program_context& io) -> anyio::task<int> {
    try {
      for (;;) {
        const std::string piece = co_await io.in->receive();
        co_await io.out->send(std::string_view(piece));
      }
    } catch (const anyio::end_of_stream&) {
    }
    co_return 0;
  });
}

std::vector<std::string> command(std::initializer_list<const char*> parts) {
  return {parts.begin(), parts.end()};
}

anyio::task<> amain() {
  // 1. Run to completion; stdout and stderr come back as strings.
  auto hello = command({"echo", "hello", "from", "a", "child", "process"});
  anyio::completed_process r = co_await anyio::run_process(hello);
  std::printf("run_process: %s", r.out.c_str());

  // 2. Feed input; it is written while the output is read, so a child that
  //    writes as it reads cannot deadlock against us.
  anyio::process_options with_input;
  with_input.input = "cherry\napple\nbanana\n";
  auto sort = command({"sort"});
  anyio::completed_process sorted = co_await anyio::run_process(sort, with_input);
  std::string joined = sorted.out;
  for (char& c : joined)
    if (c == '\n') c = ',';
  joined.pop_back();
  std::printf("sorted: %s\n", joined.c_str());

  // 3. A non-zero exit is process_error (check is on by default), naming the
  //    command and the end of what it wrote to stderr.
  try {
    auto failing = command({"sh", "-c", "echo no such branch >&2; exit 2"});
    (void)co_await anyio::run_process(failing);
  } catch (const anyio::process_error& e) {
    std::printf("check: %s\n", e.what());
  }

  // 4. A conversation: open_process gives the child's stdin, stdout and
  //    stderr as byte streams.
  auto cat_argv = command({"cat"});
  anyio::process cat = co_await anyio::open_process(cat_argv);
  const std::vector<std::string> words = command({"ping", "pong"});
  for (const std::string& word : words) {
    const std::string line = word + "\n";
    co_await cat.stdin_stream()->send(line);
    std::string echoed;
    while (echoed.size() < line.size()) echoed += co_await cat.stdout_stream()->receive();
    echoed.pop_back();
    std::printf("conversation: %s -> %s\n", word.c_str(), echoed.c_str());
  }
  co_await cat.stdin_stream()->aclose();  // end of input: cat exits
  const int status = co_await cat.wait();
  std::printf("cat exited with status %d\n", status);
}

}  // namespace

int main(int argc, char** argv) {
  register_sim_programs();
  return anyio_examples::run_example(argc, argv, amain);
}
