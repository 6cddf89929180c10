#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes every ```cpp block of a Markdown file to OUT_DIR/<stem>_<n>.cpp and
# prints their paths, one per line, for tests/docs/CMakeLists.txt: the docs'
# code is compiled (and its test cases run) by the test suite, so it cannot
# rot. Usage: extract_snippets.py FILE.md OUT_DIR STEM [--namespace]
#
# With --namespace (the guide pages, whose snippets all go into one program):
# each snippet's #include lines go first and the rest into a namespace of its
# own, so two snippets may both define `amain` or `worker`; and an HTML
# comment right after a block, `<!-- test` ... `-->`, invisible on the page,
# is appended to that snippet: the checks that what the page says happens.
import pathlib
import sys

args = [a for a in sys.argv[1:] if a != "--namespace"]
wrap = "--namespace" in sys.argv[1:]
source, out_dir, stem = pathlib.Path(args[0]), pathlib.Path(args[1]), args[2]
out_dir.mkdir(parents=True, exist_ok=True)
blocks, tests, current, hidden = [], {}, None, None
for line in source.read_text().splitlines():
    if hidden is not None:
        if line.strip() == "-->":
            if not blocks:
                sys.exit(f"{source}: a <!-- test --> comment before any ```cpp block")
            tests.setdefault(len(blocks) - 1, []).extend(hidden)
            hidden = None
        else:
            hidden.append(line)
    elif current is None and line.strip() == "```cpp":
        current = []
    elif current is not None and line.strip() == "```":
        blocks.append(current)
        current = None
    elif current is not None:
        current.append(line)
    elif wrap and line.strip() == "<!-- test":
        hidden = []
if current is not None:
    sys.exit(f"{source}: unterminated ```cpp block")
if hidden is not None:
    sys.exit(f"{source}: unterminated <!-- test comment")
for n, block in enumerate(blocks, 1):
    path = out_dir / f"{stem}_{n}.cpp"
    header = f"// Generated from {source.name}, snippet {n}.\n"
    if wrap:
        body = block + tests.get(n - 1, [])
        if any(l.startswith("int main(") for l in body):
            sys.exit(f"{source}: snippet {n} defines main(); guide snippets are linked together")
        includes = [l for l in body if l.startswith("#include")]
        rest = [l for l in body if not l.startswith("#include")]
        text = (header + "#include <anyio/testing/catch.hpp>\n" + "\n".join(includes) +
                f"\nnamespace doc_{stem}_{n} {{\n" + "\n".join(rest) +
                f"\n}}  // namespace doc_{stem}_{n}\n")
    else:
        text = header + "\n".join(block) + "\n"
    if not path.exists() or path.read_text() != text:  # keep timestamps: no needless rebuilds
        path.write_text(text)
    print(path)
