#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The style checks of STYLE.md habit 1, run as a ctest (TigerBeetle's
# tidy.zig): every C++ source starts with an SPDX line and a role paragraph,
# lines fit in 100 columns, functions stay within 70 lines, the core never
# reads a clock or an RNG directly, and public headers never include Asio,
# OpenSSL or nlohmann_json. Stock python3 only; existing offenders are in an
# explicit allow-list below, which is meant to shrink, never to grow.
import os
import re
import subprocess
import sys

MAX_COLUMNS = 100
MAX_FUNCTION_LINES = 70  # lines from the opening brace to the closing brace
SOURCE_DIRS = ("include", "runtime", "realio", "sim", "tests", "examples", "bench", "tools")
SOURCE_SUFFIXES = (".hpp", ".cpp")

# Nondeterminism must enter through the backend (STYLE.md §1 principle 4).
CORE_DIRS = ("runtime/", "sim/")
CORE_BANNED = [
    ("steady_clock::now", re.compile(r"steady_clock\s*::\s*now"),
     "read time through the backend"),
    ("system_clock::now", re.compile(r"system_clock\s*::\s*now"),
     "read time through the backend"),
    ("random_device", re.compile(r"\brandom_device\b"), "draw from the backend's seeded prng"),
    ("rand(", re.compile(r"(?<![\w.>:])rand\s*\(|std\s*::\s*rand\s*\("), "use the seeded prng"),
    ("uniform_int_distribution", re.compile(r"\buniform_int_distribution\b"),
     "not portable across standard libraries; use the prng's bounded draw"),
]
# g++ 12 evaluates a co_await inside Catch2's assertion macros twice (the
# macro repeats its expression): a receive consumes two values, a task is
# "awaited twice". Bind the result to a local first.
AWAIT_IN_ASSERTION = re.compile(
    r"\b(REQUIRE|CHECK|REQUIRE_FALSE|CHECK_FALSE|REQUIRE_THAT|CHECK_THAT|REQUIRE_NOTHROW|"
    r"CHECK_NOTHROW|REQUIRE_THROWS\w*|CHECK_THROWS\w*)\s*\((?:[^()]|\([^()]*\))*\bco_await\b")
# ctest's test discovery splits a test name at ';' into entries that match
# no test and pass: such a test never runs under ctest.
TEST_NAME = re.compile(r'\b(?:ANYIO_(?:SIM_)?TEST_CASE|TEST_CASE|SCENARIO)\s*\(\s*"([^"]*)"')
# Public headers stay light and backend-neutral (DESIGN.md §Layout).
PUBLIC_BANNED_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](asio|openssl|nlohmann)\b')

# Existing offenders, each with why it is tolerated. Keys: (rule, path, what),
# where `what` is the function name for "function-length" and the start of
# the stripped line for "line-length". Fix the code, then drop the entry.
ALLOWED: set = set()


def tracked_files(root):
    """Files git knows (tracked or new and not ignored), else a tree walk."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard"],
            capture_output=True, text=True, check=True).stdout
        files = [f for f in out.splitlines() if os.path.isfile(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for top in SOURCE_DIRS:
            for dirpath, dirnames, names in os.walk(os.path.join(root, top)):
                dirnames[:] = [d for d in dirnames if not d.startswith("build")]
                files += [os.path.relpath(os.path.join(dirpath, n), root) for n in names]
    return sorted(f for f in files
                  if f.split("/")[0] in SOURCE_DIRS and f.endswith(SOURCE_SUFFIXES))


def strip_comments_and_strings(text):
    """The text with comments and string/char literals blanked, newlines kept,
    so that braces and banned names inside them do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_header(path, lines):
    """An SPDX line, then a comment paragraph saying the file's role."""
    errors = []
    if not lines or not re.match(r"^//\s*SPDX-License-Identifier:\s*\S+", lines[0]):
        return [f"{path}:1: first line must be '// SPDX-License-Identifier: MIT'"]
    paragraph = []
    for line in lines[1:]:
        m = re.match(r"^//+\s?(.*)$", line)
        if not m or not m.group(1).strip():
            break
        paragraph.append(m.group(1).strip())
    words = " ".join(paragraph).split()
    if len(words) < 4:
        errors.append(f"{path}:2: after the SPDX line, a comment paragraph must say the "
                      "file's role (2-5 sentences; see STYLE.md §8)")
    return errors


def function_spans(code):
    """(name, first line, last line) of each function body, by brace matching.
    A '{' opens a function body when the text before it (since the last ';',
    '{' or '}') ends a parameter list; namespace/class/enum bodies are
    transparent, and braces inside a function belong to it. Braced member
    initializers (`f() : a_{1}, b_{2} {`) are followed to the body."""
    spans = []
    stack = []  # (kind, name, line of '{')
    ctor = None  # constructor whose braced member initializers are being read
    start = 0
    line = 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c in ";{}":
            head = code[start:i]
            start = i + 1
            if c != "{":
                if c == "}" and stack:
                    kind, name, open_line = stack.pop()
                    if kind == "function":
                        spans.append((name, open_line, line))
                    ctor = name if kind == "init" else None
                else:
                    ctor = None
                continue
            in_function = any(k == "function" for k, _, _ in stack)
            kind = classify(head, in_function, ctor)
            ctor = None
            stack.append(kind + (line,))
    return spans


IDENT_END = r"[\w:]+(?:<[^<>]*>)?\s*$"


def classify(head, in_function, ctor=None):
    if in_function:
        return ("block", "")
    h = " ".join(head.split())
    if ctor is not None:  # just after a member initializer's '}'
        if h.startswith(",") and re.search(r"^,\s*" + IDENT_END, h):
            return ("init", ctor)
        if h == "" or h.startswith(","):
            return ("function", ctor)
    if re.search(r"\b(namespace|extern\s+\"C\")\b", h) or re.match(r"^(namespace|extern)\b", h):
        return ("scope", "")
    if re.search(r"\b(class|struct|union|enum)\b[^()]*$", h):
        return ("scope", "")
    if ")" not in h or re.search(r"=\s*$", h):
        return ("block", "")
    # The name is the identifier before the first '(' of the declarator.
    m = re.search(r"([~\w:]+(?:<[^()]*>)?|operator\s*\S+?)\s*\(", h)
    name = m.group(1) if m else "?"
    if name in ("if", "for", "while", "switch", "catch", "return"):
        return ("block", "")
    if re.search(r"\)[^(){}]*:\s*" + IDENT_END, h):  # `f() : a_{`
        return ("init", name)
    return ("function", name)


def check_file(root, path, allowed_used):
    errors = []
    full = os.path.join(root, path)
    with open(full, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    errors += check_header(path, lines)
    for number, line in enumerate(lines, 1):
        # examples/CMakeLists.txt reads one whole regex per test-expect line.
        if len(line) > MAX_COLUMNS and not line.startswith("// test-expect: "):
            key = ("line-length", path, line.strip()[:40])
            if key in ALLOWED:
                allowed_used.add(key)
            else:
                errors.append(f"{path}:{number}: {len(line)} columns (max {MAX_COLUMNS})")
    code = strip_comments_and_strings(text)
    if path.startswith(CORE_DIRS):
        for number, line in enumerate(code.split("\n"), 1):
            for name, pattern, why in CORE_BANNED:
                if not pattern.search(line):
                    continue
                key = ("nondeterminism", path, name)
                if key in ALLOWED:
                    allowed_used.add(key)
                else:
                    errors.append(f"{path}:{number}: {name} in the core: {why}")
    for number, line in enumerate(code.split("\n"), 1):
        if AWAIT_IN_ASSERTION.search(line):
            errors.append(f"{path}:{number}: co_await inside a Catch2 assertion runs twice on "
                          "g++ 12; bind the result to a local first")
    for number, line in enumerate(lines, 1):
        m = TEST_NAME.search(line)
        if m and ";" in m.group(1):
            errors.append(f"{path}:{number}: ';' in a test name: ctest splits the name there "
                          "and the test never runs; use ','")
    if path.startswith("include/"):
        for number, line in enumerate(lines, 1):
            if PUBLIC_BANNED_INCLUDE.search(line):
                errors.append(f"{path}:{number}: public headers must not include "
                              "Asio, OpenSSL or nlohmann_json (keep them in the backends)")
    for name, first, last in function_spans(code):
        length = last - first + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        key = ("function-length", path, name)
        if key in ALLOWED:
            allowed_used.add(key)
        else:
            errors.append(f"{path}:{first}: function '{name}' is {length} lines "
                          f"(max {MAX_FUNCTION_LINES}); split it")
    return errors


SELF_TEST_CASES = [
    # (file name, text, substring the errors must contain, or None for clean)
    ("runtime/ok.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file, said.\n"
     "int f() {\n  const char* s = \"{ rand( }\";  // rand(\n  return 0;\n}\n", None),
    ("runtime/nospdx.cpp", "// The role of this file.\nint x;\n", "SPDX"),
    ("runtime/norole.cpp", "// SPDX-License-Identifier: MIT\n#include <x>\n", "role"),
    ("runtime/wide.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "int x;" + " " * 95 + "//\n", "columns"),
    ("examples/expect.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "// test-expect: " + "x" * 100 + "\n", None),
    ("sim/clock.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "auto t = std::chrono::steady_clock::now();\n", "steady_clock"),
    ("sim/rng.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "int r() { return std::rand(); }\n", "rand("),
    ("include/anyio/x.hpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "#include <asio.hpp>\n", "must not include"),
    ("runtime/long.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "namespace a {\nstruct s {\n  void m() {\n" + "    if (x) { y(); }\n" * 70 + "  }\n};\n}\n",
     "function 'm' is 72 lines"),
    ("runtime/ctor.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "t::t(int a) noexcept : a_{a}, b_{2},\n c_(3) {\n" + "  g();\n" * 70 + "}\n",
     "function 't::t' is 72 lines"),
    ("tests/await.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "void t() { REQUIRE(co_await rx.receive() == 7); }\n", "co_await inside a Catch2"),
    ("tests/await_ok.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "void t() { auto v = co_await rx.receive(); REQUIRE(v == 7); }\n", None),
    ("tests/semi.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "ANYIO_TEST_CASE(\"a; b\", \"[x]\") { co_return; }\n", "';' in a test name"),
    ("tests/semi_ok.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "TEST_CASE(\"a, b\") { int x = 1; (void)x; }\n", None),
    ("runtime/short.cpp", "// SPDX-License-Identifier: MIT\n// The role of this file.\n"
     "namespace a {\nvoid f() {\n" + "  g();\n" * 68 + "}\n}\n", None),
]


def self_test():
    """The checks themselves must catch what they claim to (else tidy passes
    vacuously): run each rule on a small synthetic file."""
    import tempfile
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        for path, text, expect in SELF_TEST_CASES:
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as f:
                f.write(text)
            errors = check_file(root, path, set())
            good = not errors if expect is None else any(expect in e for e in errors)
            if not good:
                failures += 1
                print(f"tidy self-test FAILED on {path}: expected "
                      f"{expect or 'no problem'}, got {errors}")
    print(f"tidy self-test: {len(SELF_TEST_CASES)} cases, {failures} failed")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", ".."))
    files = tracked_files(root)
    if not files:
        print(f"tidy: no source files found under {root}")
        return 1
    errors = []
    allowed_used = set()
    for path in files:
        errors += check_file(root, path, allowed_used)
    for key in sorted(set(ALLOWED) - allowed_used):
        print(f"tidy: note: allow-list entry no longer needed, remove it: {key}")
    for e in errors:
        print(e)
    print(f"tidy: {len(files)} files, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
