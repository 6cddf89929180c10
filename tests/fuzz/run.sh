#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzzes the trace reader (tests/fuzz/trace_reader_fuzzer.cpp) for SECONDS
# (default 60): builds a minimal clang build with libFuzzer, ASan and UBSan
# (only the simulator library and the fuzzer, no tests or examples), seeds a
# corpus with real traces (anyio_trace_gen's scenarios, traces/regressions)
# and the hand-made edge cases in tests/fuzz/seeds, and
# runs. Exits non-zero on a finding, naming the input that reproduces it.
# Build directory: $ANYIO_FUZZ_BUILD_DIR, default build/fuzz; compiler: $CXX_FUZZ.
set -euo pipefail

seconds=${1:-60}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]  (got '$seconds')" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ANYIO_FUZZ_BUILD_DIR:-$root/build/fuzz}
cxx=${CXX_FUZZ:-}
if [ -z "$cxx" ]; then
  for candidate in clang++ clang++-14; do
    if command -v "$candidate" > /dev/null; then cxx=$candidate; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "$0: clang++ not found (libFuzzer needs clang): apt-get install -y clang" >&2
  exit 2
fi
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

echo "== configuring $build with $cxx"
mkdir -p "$build"
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANYIO_BUILD_TESTS=OFF -DANYIO_BUILD_EXAMPLES=OFF \
  -DANYIO_BUILD_BENCH=OFF -DANYIO_BUILD_FUZZERS=ON -DANYIO_SANITIZE=address,undefined \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 2; }
echo "== building the fuzzer"
cmake --build "$build" --target trace_reader_fuzzer fuzz_trace_gen -j "${FUZZ_BUILD_JOBS:-2}"

fuzzer=$build/tests/fuzz/trace_reader_fuzzer
gen=$build/tests/fuzz/fuzz_trace_gen
seeds=$build/fuzz-seeds
corpus=$build/fuzz-corpus
findings=$build/fuzz-findings
rm -rf "$seeds" "$findings"  # findings of an earlier run are in its log
mkdir -p "$seeds" "$corpus" "$findings"

echo "== seeding the corpus with real traces"
for scenario in kinds lost-update deadlock cancel crowd; do
  for strategy in random pct fifo; do
    for seed in 0 1 2 3; do
      "$gen" "$scenario" "$seeds/$scenario-$strategy-$seed.jsonl" --seed "$seed" \
        --strategy "$strategy" > /dev/null
    done
  done
done
"$gen" big "$seeds/big.jsonl" --events 400 > /dev/null
for t in "$root"/traces/regressions/*.jsonl "$root"/tests/fuzz/seeds/*.jsonl; do
  if [ -f "$t" ]; then cp "$t" "$seeds/$(basename "$(dirname "$t")")-$(basename "$t")"; fi
done
echo "$(ls "$seeds" | wc -l) seed traces in $seeds"

echo "== fuzzing for ${seconds}s (log: $build/fuzz.log)"
status=0
"$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$root/tests/fuzz/trace.dict" -artifact_prefix="$findings/" -print_final_stats=1 \
  "$corpus" "$seeds" > "$build/fuzz.log" 2>&1 || status=$?
# libFuzzer logs every new input; show the start, the end and the totals.
grep -E '^(INFO: (Loaded|seed corpus)|#[0-9]+[[:space:]]+INITED)' "$build/fuzz.log" || true
grep -E '^#[0-9]+[[:space:]]+(DONE|pulse)' "$build/fuzz.log" | tail -n 3 || true
grep -E '^stat::' "$build/fuzz.log" || true
if [ "$status" -ne 0 ]; then
  echo "FINDING (libFuzzer exit status $status): the report, then how to reproduce:" >&2
  grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$build/fuzz.log" | tail -n 80 >&2
  for f in "$findings"/*; do
    [ -f "$f" ] && echo "  $fuzzer $f" >&2
  done
  exit 1
fi
echo "== no findings in ${seconds}s ($(ls "$corpus" | wc -l) inputs in $corpus)"
