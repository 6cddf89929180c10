#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command: builds the library, the examples and the
# anyio-sim tool (Release, build/demo), then shows the point of the project
# in nine steps, one line of explanation each: tutorial programs on the real
# backend and on the simulator; an hour of sleeps in milliseconds; a bank with
# a check-then-act bug found by a seed sweep, its trace replayed byte for
# byte, shrunk to the smallest failing schedule and read as a timeline; the
# fixed bank passing 10,000 seeds and running on the real backend; then a
# replicated key set across simulated hosts whose lost write a swarm sweep of
# crashes and partitions finds, replayed, shrunk to the two faults it needs
# and read as a timeline, and its fix passing 1,000 seeds (10,000 in the
# tests) and surviving a SIGKILL of its primary as real processes on
# loopback. It ends by writing both minimal runs' timelines as HTML pages
# (anyio-sim html).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bold=$(printf '\033[1m'); plain=$(printf '\033[0m')
[ -t 1 ] || { bold=""; plain=""; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "0/9 Installing missing packages and building (library, examples, anyio-sim; Release)"
bash scripts/install-deps.sh
build=build/demo
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DANYIO_BUILD_TESTS=OFF \
  -DANYIO_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target example_tasks example_timeouts example_transfers \
  example_replicated_kv anyio-sim \
  -- -j"$(nproc)" | tail -n 1
ex="$build/examples"
tool="$build/sim/tool/anyio-sim"
work=$(mktemp -d /tmp/anyio-demo.XXXXXX)
start=$(date +%s)

step "1/9 The tutorial's first example on the real backend (Asio): three tasks sleep 1 s concurrently"
"$ex/example_tasks"

step "2/9 The same program on the simulator (seed 7): another interleaving, virtual time, no waiting"
"$ex/example_tasks" --sim-seed=7

step "3/9 An hour of sleeps on the simulator's virtual clock"
"$ex/example_transfers" --virtual-hour --sim-seed=1

step "4/9 A bank whose tellers check a balance, await an audit write, then debit: sweep seeds for the bug"
set +e
"$ex/example_transfers" --buggy --sweep 0..1000 --trace-dir "$work" | tee "$work/sweep.txt"
set -e
trace=$(sed -n 's/^  trace: //p' "$work/sweep.txt" | head -n 1)
[ -n "$trace" ] || { echo "demo: the sweep found no failing seed" >&2; exit 1; }

step "5/9 Replay the failing trace: the simulator re-runs it event for event"
"$ex/example_transfers" --buggy --replay "$trace" --out "$work/replayed.jsonl"
cmp "$trace" "$work/replayed.jsonl"
"$tool" diff "$trace" "$work/replayed.jsonl"

step "6/9 Shrink it to the fewest preemptions, then read the minimal run as a timeline"
"$ex/example_transfers" --buggy --shrink "$trace" --out "$work/minimal.jsonl"
"$tool" show --no-steps --width 150 "$work/minimal.jsonl"

step "7/9 The fix (hold the account's lock across check, audit and debit): 10,000 seeds, then realio"
"$ex/example_transfers" --sweep 0..10000
"$ex/example_transfers"

step "8/9 A replicated key set (primary, backup) on simulated hosts: a swarm sweep of crashes and partitions finds a lost write, replays it, shrinks it"
set +e
"$ex/example_replicated_kv" --trace-dir "$work/kv" | tee "$work/kv-sweep.txt"
set -e
grep -q '^shrunk: ' "$work/kv-sweep.txt" || { echo "demo: the kv sweep found no failing seed" >&2; exit 1; }
echo "-- the minimal run's faults and outcome (the timeline, filtered; the HTML page has all of it):"
"$tool" show --no-steps --width 150 "$work/kv/kv-min.jsonl" |
  grep -E 'net fault (partition|heal|crash|restart)|net drop .*:7001|^outcome|was lost$'

step "9/9 The fix (acknowledge after the backup has it): 1,000 seeds (10,000 in the tests), then real processes on loopback, the primary killed with SIGKILL"
"$ex/example_replicated_kv" --fixed --seeds 1000
"$ex/example_replicated_kv" --realio

printf '\n%sdone in %ss (after the build); traces are in %s%s\n' "$bold" \
  "$(( $(date +%s) - start ))" "$work" "$plain"
"$tool" html "$work/minimal.jsonl" -o "$work/minimal.html" >/dev/null
"$tool" html "$work/kv/kv-min.jsonl" -o "$work/kv-minimal.html" >/dev/null
printf 'the minimal runs as interactive timelines: open file://%s and file://%s in a browser\n' \
  "$work/minimal.html" "$work/kv-minimal.html"
