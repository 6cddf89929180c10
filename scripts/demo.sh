#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command: builds the library, the examples and the
# anyio-sim tool (Release, build/demo), then shows the point of the project
# in seven steps, one line of explanation each: tutorial programs on the real
# backend and on the simulator; an hour of sleeps in milliseconds; a bank with
# a check-then-act bug found by a seed sweep, its trace replayed byte for
# byte, shrunk to the smallest failing schedule and read as a timeline; the
# fixed bank passing 10,000 seeds and running on the real backend. It ends by
# writing the minimal run's timeline as an HTML page (anyio-sim html).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bold=$(printf '\033[1m'); plain=$(printf '\033[0m')
[ -t 1 ] || { bold=""; plain=""; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "0/7 Installing missing packages and building (library, examples, anyio-sim; Release)"
bash scripts/install-deps.sh
build=build/demo
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DANYIO_BUILD_TESTS=OFF \
  -DANYIO_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target example_tasks example_timeouts example_transfers anyio-sim \
  -- -j"$(nproc)" | tail -n 1
ex="$build/examples"
tool="$build/sim/tool/anyio-sim"
work=$(mktemp -d /tmp/anyio-demo.XXXXXX)
start=$(date +%s)

step "1/7 The tutorial's first example on the real backend (Asio): three tasks sleep 1 s concurrently"
"$ex/example_tasks"

step "2/7 The same program on the simulator (seed 7): another interleaving, virtual time, no waiting"
"$ex/example_tasks" --sim-seed=7

step "3/7 An hour of sleeps on the simulator's virtual clock"
"$ex/example_transfers" --virtual-hour --sim-seed=1

step "4/7 A bank whose tellers check a balance, await an audit write, then debit: sweep seeds for the bug"
set +e
"$ex/example_transfers" --buggy --sweep 0..1000 --trace-dir "$work" | tee "$work/sweep.txt"
set -e
trace=$(sed -n 's/^  trace: //p' "$work/sweep.txt" | head -n 1)
[ -n "$trace" ] || { echo "demo: the sweep found no failing seed" >&2; exit 1; }

step "5/7 Replay the failing trace: the simulator re-runs it event for event"
"$ex/example_transfers" --buggy --replay "$trace" --out "$work/replayed.jsonl"
cmp "$trace" "$work/replayed.jsonl"
"$tool" diff "$trace" "$work/replayed.jsonl"

step "6/7 Shrink it to the fewest preemptions, then read the minimal run as a timeline"
"$ex/example_transfers" --buggy --shrink "$trace" --out "$work/minimal.jsonl"
"$tool" show --no-steps --width 150 "$work/minimal.jsonl"

step "7/7 The fix (hold the account's lock across check, audit and debit): 10,000 seeds, then realio"
"$ex/example_transfers" --sweep 0..10000
"$ex/example_transfers"

printf '\n%sdone in %ss (after the build); traces are in %s%s\n' "$bold" \
  "$(( $(date +%s) - start ))" "$work" "$plain"
"$tool" html "$work/minimal.jsonl" -o "$work/minimal.html" >/dev/null
printf 'the minimal run as an interactive timeline: open file://%s in a browser\n' \
  "$work/minimal.html"
