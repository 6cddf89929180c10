#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads the disassembly of awaiter_codegen.cpp's object file.

Every function whose name contains `codegen_probe` (the coroutines that
await memory streams, lock, event, semaphore, sleep and checkpoint, and
their actor/destroy parts) must be free of `rep stos`; the control function
(`make_control`, the awaiter shape before the fix) must contain one, which
shows that this compiler still produces the fill and that the check sees it.
With --self-test, the check runs on the control alone and must report it.
Exit status 0 = as expected, 1 = a probe has a fill (or the control has
none), 2 = the object could not be read.
"""
import argparse
import re
import subprocess
import sys


def functions(objdump, obj):
    try:
        out = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", obj],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"check_codegen: cannot disassemble {obj}: {e}", file=sys.stderr)
        sys.exit(2)
    fills = {}
    name = None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            name = m.group(1)
            fills.setdefault(name, 0)
        elif name is not None and re.search(r"\brep stos", line):
            fills[name] += 1
    return fills


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objdump", default="objdump")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("object")
    args = ap.parse_args()
    fills = functions(args.objdump, args.object)
    probes = {n: c for n, c in fills.items() if "codegen_probe" in n}
    controls = {n: c for n, c in fills.items() if "make_control" in n}
    if not probes or not controls:
        print(f"check_codegen: expected probe and control functions in {args.object}, "
              f"found {sorted(fills)}", file=sys.stderr)
        return 2
    if args.self_test:
        # The check applied to the control must fail.
        bad = [n for n, c in controls.items() if c > 0]
        if not bad:
            print("check_codegen --self-test: the control has no `rep stos`: the check "
                  "cannot tell a fill with this compiler and flags", file=sys.stderr)
            return 1
        print(f"check_codegen --self-test: the control's fill is seen ({bad[0]})")
        return 0
    bad = sorted(n for n, c in probes.items() if c > 0)
    if bad:
        for n in bad:
            print(f"check_codegen: `rep stos` (a zero fill of a whole awaiter) in {n}",
                  file=sys.stderr)
        print("check_codegen: an awaiter is being aggregate-initialized again; give it a "
              "constructor (see detail/awaiter.hpp, blocking_awaiter)", file=sys.stderr)
        return 1
    if not any(c > 0 for c in controls.values()):
        print("check_codegen: the control has no `rep stos`, so a clean probe proves nothing "
              "with this compiler and flags", file=sys.stderr)
        return 1
    print(f"check_codegen: {len(probes)} probe functions free of `rep stos`; control has it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
