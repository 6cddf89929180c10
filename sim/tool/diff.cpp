// SPDX-License-Identifier: MIT
// `anyio-sim diff`: the first event where two traces part ways. Lines are
// compared exactly as written — the encoder writes equal bytes for equal
// runs, so any difference is real — and the report gives the line numbers,
// both lines, the task involved and the events just before, which is what a
// reader needs to see why a replay or a determinism check diverged.
#include "tool.hpp"

#include <algorithm>

namespace anyio::sim::tool {

const char* const diff_usage =
    "usage: anyio-sim diff [options] A B\n"
    "\n"
    "Compares two traces line by line (header, events, outcome) and prints the first event\n"
    "where they differ: its line numbers, both lines, the task, and the events before it.\n"
    "Prints 'identical' when the traces are equal. Exit status 0 identical, 1 different,\n"
    "2 bad usage or an unreadable trace.\n"
    "\n"
    "options:\n"
    "  --context N    also print the N events before the difference (default 3)\n"
    "  -h, --help     this text\n";

namespace {

/// One comparable line of a trace: the events, then the outcome.
struct line_ref {
  std::uint64_t line = 0;
  const std::string* text = nullptr;
  const trace_event* event = nullptr;  ///< null for the outcome line
};

std::vector<line_ref> body_lines(const trace& t) {
  std::vector<line_ref> out;
  out.reserve(t.events.size() + 1);
  for (const trace_event& e : t.events) out.push_back({e.line, &e.text, &e});
  std::uint64_t last = t.events.empty() ? 1 : t.events.back().line;
  out.push_back({last + 1, &t.outcome.text, nullptr});
  return out;
}

std::string who(const line_ref& r) {
  if (r.event == nullptr) return "the outcome line";
  const trace_event& e = *r.event;
  std::string what = e.kind + " at step " + std::to_string(e.step) + ", t=" +
                     seconds(e.time, decimals_for(e.time));
  if (e.task == 0) return what;
  return "task " + std::to_string(e.task) + " '" + printable(e.name) + "', " + what;
}

void print_difference(output& out, const trace& a, const trace& b, const line_ref& la,
                      const line_ref& lb) {
  out.print("first difference: " + a.source + " line " + std::to_string(la.line) + ", " +
            b.source + " line " + std::to_string(lb.line));
  out.print("  A: " + printable(*la.text));
  out.print("  B: " + printable(*lb.text));
  const std::string wa = who(la), wb = who(lb);
  if (wa == wb) {
    out.print("  " + wa);
  } else {
    out.print("  in A: " + wa);
    out.print("  in B: " + wb);
  }
}

}  // namespace

int run_diff(const std::vector<std::string>& args) {
  arguments a(args, {"--context"}, {});
  if (a.help()) {
    std::fputs(diff_usage, stdout);
    return exit_ok;
  }
  if (a.operands().size() != 2)
    throw usage_error("expected two traces A B, got " + std::to_string(a.operands().size()));
  const std::uint64_t context = a.number("--context", 3, 0, 1000);
  trace ta = read_trace(a.operands()[0]);
  trace tb = read_trace(a.operands()[1]);
  output out;
  bool differ = false;
  if (ta.header.text != tb.header.text) {
    differ = true;
    out.print("headers differ (line 1):");
    out.print("  A: " + printable(ta.header.text));
    out.print("  B: " + printable(tb.header.text));
  }
  const std::vector<line_ref> la = body_lines(ta), lb = body_lines(tb);
  const std::size_t n = std::min(la.size(), lb.size());
  std::size_t i = 0;
  while (i < n && *la[i].text == *lb[i].text) ++i;
  if (i == la.size() && i == lb.size()) {
    if (differ) {
      out.print("events and outcome identical (" + std::to_string(ta.events.size()) +
                " events)");
      return exit_found;
    }
    out.print("identical: " + std::to_string(ta.events.size()) + " events, outcome " +
              ta.outcome.kind);
    return exit_ok;
  }
  // Both lists end with their outcome line, which no event line can equal,
  // so i < n already; the min() only guards the index.
  i = std::min(i, n - 1);
  print_difference(out, ta, tb, la[i], lb[i]);
  out.print("  " + std::to_string(i) + " events before it are the same");
  const std::size_t from = i > context ? i - context : 0;
  if (from < i) out.print("  the last shared events:");
  for (std::size_t k = from; k < i; ++k)
    out.print("    line " + std::to_string(la[k].line) + ": " + printable(*la[k].text));
  return exit_found;
}

}  // namespace anyio::sim::tool
