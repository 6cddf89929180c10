#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Compares determinism_probe outputs. "self" runs one build twice per seed
# and requires identical bytes, and requires two different seeds to differ
# (so the check can fail); "cross" runs two builds (g++ and clang++) on the
# same seeds and requires identical bytes. On a mismatch it prints the first
# differing line of each side, which names the event where the runs diverge.
import argparse
import subprocess
import sys


def run_probe(probe, seed):
    try:
        proc = subprocess.run([probe, str(seed)], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        sys.exit(f"FAIL: {probe} {seed}: {e}")
    if proc.returncode != 0:
        sys.exit(f"FAIL: {probe} {seed} exited with {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def first_difference(a, b):
    """(1-based line number, line of a, line of b) of the first mismatch."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return i + 1, x, y
    n = min(len(la), len(lb))
    return n + 1, la[n] if n < len(la) else "<end>", lb[n] if n < len(lb) else "<end>"


def require_same(label_a, a, label_b, b, seed):
    if a == b:
        return True
    line, x, y = first_difference(a, b)
    print(f"FAIL: seed {seed}: outputs differ at line {line}\n"
          f"  {label_a}: {x}\n  {label_b}: {y}")
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["self", "cross"])
    parser.add_argument("probes", nargs="+", help="one probe (self) or two (cross)")
    parser.add_argument("--seeds", type=int, default=3, help="check seeds 0..N-1")
    parser.add_argument("--min-lines", type=int, default=100,
                        help="a run shorter than this is not a real workload")
    args = parser.parse_args()
    if len(args.probes) != (1 if args.mode == "self" else 2):
        parser.error("self takes one probe, cross takes two")
    ok = True
    outputs = {}
    for seed in range(args.seeds):
        a = run_probe(args.probes[0], seed)
        label_b = "second run" if args.mode == "self" else args.probes[1]
        b = run_probe(args.probes[-1], seed)
        ok &= require_same(args.probes[0], a, label_b, b, seed)
        if len(a.splitlines()) < args.min_lines:
            print(f"FAIL: seed {seed}: only {len(a.splitlines())} lines of events")
            ok = False
        outputs[seed] = a
    if args.mode == "self" and args.seeds >= 2 and len(set(outputs.values())) < 2:
        print(f"FAIL: seeds 0..{args.seeds - 1} all printed the same events: "
              "the seed does not reach the scheduler")
        ok = False
    lines = sum(len(o.splitlines()) for o in outputs.values())
    what = "twice" if args.mode == "self" else "vs " + args.probes[1]
    print(f"{args.probes[0]} {what}: {args.seeds} seeds, {lines} event lines: "
          f"{'identical' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
