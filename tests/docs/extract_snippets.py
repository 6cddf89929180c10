#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes every ```cpp block of a Markdown file to OUT_DIR/<stem>_<n>.cpp and
# prints their paths, one per line, for tests/docs/CMakeLists.txt: the docs'
# code is compiled (and its test cases run) by the test suite, so it cannot
# rot. Usage: extract_snippets.py FILE.md OUT_DIR STEM
import pathlib
import sys

source, out_dir, stem = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
out_dir.mkdir(parents=True, exist_ok=True)
blocks, current = [], None
for line in source.read_text().splitlines():
    if current is None and line.strip() == "```cpp":
        current = []
    elif current is not None and line.strip() == "```":
        blocks.append(current)
        current = None
    elif current is not None:
        current.append(line)
if current is not None:
    sys.exit(f"{source}: unterminated ```cpp block")
for n, block in enumerate(blocks, 1):
    path = out_dir / f"{stem}_{n}.cpp"
    text = f"// Generated from {source.name}, snippet {n}.\n" + "\n".join(block) + "\n"
    if not path.exists() or path.read_text() != text:  # keep timestamps: no needless rebuilds
        path.write_text(text)
    print(path)
