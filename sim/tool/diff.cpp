// SPDX-License-Identifier: MIT
// `anyio-sim diff`: the first event where two traces part ways. Lines are
// compared exactly as written — the encoder writes equal bytes for equal
// runs, so any difference is real — and the report gives the line numbers,
// both lines, the task involved and the events just before, which is what a
// reader needs to see why a replay or a determinism check diverged. Both
// traces are streamed in lockstep; only the last --context lines are kept,
// and a line is quoted by its first 200 bytes and its length, so a trace of
// huge lines neither floods the terminal nor fills the memory.
#include "tool.hpp"

#include <optional>

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

constexpr std::size_t quote_bytes = 200;

/// A body line (an event, or the outcome) as the report shows it.
struct shown_line {
  std::uint64_t line = 0;
  std::string text;
  std::string who;
};

std::string who(const trace_event* e) {
  if (e == nullptr) return "the outcome line";
  std::string what = e->kind + " at step " + std::to_string(e->step) + ", t=" +
                     seconds(e->time, decimals_for(e->time));
  if (e->task == 0) return what;
  return "task " + std::to_string(e->task) + " '" + quoted(e->name, 80) + "', " + what;
}

/// `text` as a report quotes it (quote_trace_line), into `out`'s storage:
/// a line of megabytes is shown by its start and its length.
void quote(const std::string& text, std::string& out) {
  if (text.size() <= quote_bytes)
    out.assign(text);
  else
    out = quote_trace_line(text, quote_bytes);
}

/// One trace walked line by line: the current event, or the outcome once
/// the events are over.
struct walker {
  trace_reader& r;
  const trace_event* event = nullptr;
  std::uint64_t last_line = 1;  ///< the previous event's line (1: the header)

  void advance() {
    if (event != nullptr) last_line = event->line;
    event = r.next();
  }
  const std::string& text() const { return event ? event->text : r.outcome().text; }
  /// The outcome's line is counted from the last event, as the report always has.
  shown_line shown() const {
    return {event ? event->line : last_line + 1, quote_trace_line(text()), who(event)};
  }
};

void drain(trace_reader& r) {
  while (r.next() != nullptr) {
  }
}

/// Runs `f`, an operation on B. A is checked to its end first, as it was
/// when diff read A whole before B: B's error is reported only if A has none.
template <class F> void on_b(trace_reader& a, F f) {
  try {
    f();
  } catch (const trace_error&) {
    drain(a);
    throw;
  }
}

struct comparison {
  std::uint64_t same = 0;              ///< equal body lines before the difference
  std::optional<shown_line> a, b;      ///< the first lines that differ, if any
  std::vector<shown_line> context;     ///< the last shared lines, oldest first
};

comparison compare(trace_reader& ra, trace_reader& rb, std::size_t context);

}  // namespace

std::optional<std::pair<std::uint64_t, std::uint64_t>> first_difference(
    const std::string& path_a, const std::string& path_b) {
  trace_reader ra = open_trace(path_a);
  std::optional<trace_reader> rb;
  on_b(ra, [&] { rb.emplace(open_trace(path_b)); });
  const comparison c = compare(ra, *rb, 0);
  if (!c.a) return std::nullopt;
  return std::make_pair(c.a->line, c.b->line);
}

namespace {

comparison compare(trace_reader& ra, trace_reader& rb, std::size_t context) {
  comparison c;
  std::vector<shown_line> ring(context);  // the last `context` shared lines of A
  walker a{ra}, b{rb};
  a.advance();
  on_b(ra, [&] { b.advance(); });
  // Both end with their outcome line, which no event line can equal.
  while (a.event && b.event && a.event->text == b.event->text) {
    if (context > 0) {
      shown_line& l = ring[c.same % context];
      l.line = a.event->line;
      quote(a.event->text, l.text);
    }
    ++c.same;
    a.advance();
    on_b(ra, [&] { b.advance(); });
  }
  if (a.event || b.event || a.text() != b.text()) {
    c.a = a.shown();
    c.b = b.shown();
    const std::uint64_t kept = std::min<std::uint64_t>(c.same, context);
    for (std::uint64_t k = c.same - kept; k < c.same; ++k)
      c.context.push_back(std::move(ring[k % context]));
  }
  // Both traces are checked to the end, as before a report is printed.
  drain(ra);
  on_b(ra, [&] { drain(rb); });
  return c;
}

void print_difference(output& out, const trace_reader& a, const trace_reader& b,
                      const shown_line& la, const shown_line& lb) {
  out.print("first difference: " + a.source() + " line " + std::to_string(la.line) + ", " +
            b.source() + " line " + std::to_string(lb.line));
  out.print("  A: " + printable(la.text));
  out.print("  B: " + printable(lb.text));
  if (la.who == lb.who) {
    out.print("  " + la.who);
  } else {
    out.print("  in A: " + la.who);
    out.print("  in B: " + lb.who);
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
  // Unfinished traces (a crashed run) compare too: they end where it stopped.
  trace_reader ra = open_trace(a.operands()[0]);
  std::optional<trace_reader> rb;
  on_b(ra, [&] { rb.emplace(open_trace(a.operands()[1])); });
  const comparison c = compare(ra, *rb, context);
  output out;
  bool differ = false;
  if (ra.header().text != rb->header().text) {
    differ = true;
    out.print("headers differ (line 1):");
    out.print("  A: " + printable(quote_trace_line(ra.header().text)));
    out.print("  B: " + printable(quote_trace_line(rb->header().text)));
  }
  if (!c.a) {
    if (differ) {
      out.print("events and outcome identical (" + std::to_string(ra.events_read()) +
                " events)");
      return exit_found;
    }
    out.print("identical: " + std::to_string(ra.events_read()) + " events, outcome " +
              ra.outcome().kind);
    return exit_ok;
  }
  print_difference(out, ra, *rb, *c.a, *c.b);
  out.print("  " + std::to_string(c.same) + " events before it are the same");
  if (!c.context.empty()) out.print("  the last shared events:");
  for (const shown_line& l : c.context)
    out.print("    line " + std::to_string(l.line) + ": " + printable(l.text));
  return exit_found;
}

}  // namespace anyio::sim::tool
