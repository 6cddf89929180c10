// SPDX-License-Identifier: MIT
// anyio-sim: the simulator's command-line tool. It reads traces and sweep
// summaries that test programs write and turns them into something a person
// can act on: a timeline (show), counts (stats), the first difference
// between two runs (diff), and one summary from many shards (merge). This
// file only dispatches and maps errors to exit codes (tool.hpp): any
// malformed input ends as a message naming the file, line and field, exit 2.
#include "tool.hpp"

#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

namespace tool = anyio::sim::tool;

constexpr const char* overview =
    "usage: anyio-sim <command> [options] [arguments]\n"
    "\n"
    "Reads anyio simulator traces (JSON Lines, docs/trace-format.md) and sweep summaries.\n"
    "\n"
    "commands:\n"
    "  show TRACE             a readable timeline of one run\n"
    "  stats TRACE            counts: events, per-task activity, decisions, preemptions\n"
    "  diff A B               the first event where two traces differ\n"
    "  merge OUT IN...        combine sweep JSON shards into one summary\n"
    "  html TRACE [-o FILE]   the run as an interactive timeline in one HTML file\n"
    "  help [COMMAND]         this text, or a command's options\n"
    "  --version              the tool's version and the format versions it reads\n"
    "\n"
    "exit status: 0 ok, 1 differences (diff) or failures (merge) found, 2 bad usage or input.\n"
    "Run 'anyio-sim <command> --help' for a command's options.\n";

struct command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* usage;
};

const command* find_command(const std::string& name) {
  static const command commands[] = {
      {"show", tool::run_show, tool::show_usage},
      {"diff", tool::run_diff, tool::diff_usage},
      {"merge", tool::run_merge, tool::merge_usage},
      {"stats", tool::run_stats, tool::stats_usage},
      {"html", tool::run_html, tool::html_usage},
  };
  for (const command& c : commands)
    if (name == c.name) return &c;
  return nullptr;
}

int help(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(overview, stdout);
    return tool::exit_ok;
  }
  const command* c = find_command(args[0]);
  if (c == nullptr) {
    std::fprintf(stderr, "anyio-sim help: unknown command '%s'\n\n%s", args[0].c_str(), overview);
    return tool::exit_bad;
  }
  std::fputs(c->usage, stdout);
  return tool::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(overview, stderr);
    return tool::exit_bad;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  if (name == "--help" || name == "-h" || name == "help") return help(args);
  if (name == "--version" || name == "version") {
    std::printf("anyio-sim %s (trace format version %d, sweep summary version %lld)\n",
                ANYIO_VERSION, anyio::sim::trace_format_version,
                static_cast<long long>(tool::summary_version()));
    return tool::exit_ok;
  }
  const command* c = find_command(name);
  if (c == nullptr) {
    std::fprintf(stderr, "anyio-sim: unknown command '%s'\n\n%s", name.c_str(), overview);
    return tool::exit_bad;
  }
  try {
    return c->run(args);
  } catch (const tool::usage_error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "anyio-sim %s: %s\n\n%s", c->name, e.what(), c->usage);
  } catch (const anyio::sim::trace_error& e) {
    // The message already names the file, the line and the field.
    std::fflush(stdout);
    std::fprintf(stderr, "anyio-sim %s: %s\n", c->name, e.what());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "anyio-sim %s: %s\n", c->name, e.what());
  }
  return tool::exit_bad;
}
