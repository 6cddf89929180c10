#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The project's one test command (the README's, and CI's through .ci/run):
# installs missing packages, then runs each stage in order and stops at the
# first failure with the stage, the step and a rerun command. A stage is a
# function stage_<name> listed in ALL_STAGES; add one by writing the function
# and appending its name. ANYIO_CI_STAGES="gcc probe" runs a subset (default:
# all), ANYIO_CI_JOBS sets build parallelism (default: nproc).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ALL_STAGES=(deps gcc asan tsan probe traces fuzz)
STAGES=${ANYIO_CI_STAGES:-${ALL_STAGES[*]}}
JOBS=${ANYIO_CI_JOBS:-$(nproc)}
PROBE_SEEDS=${ANYIO_CI_PROBE_SEEDS:-20}
FUZZ_SECONDS=${ANYIO_CI_FUZZ_SECONDS:-60}

# ccache (used by the CMake build when installed): rewrite paths under the
# checkout to relative ones and ignore the working directory, so another
# clone or a CI checkout in a new folder reuses the same cache entries. The
# price is debug info naming the first clone's directory.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
# Sanitizers: stop at the first report and show where it came from.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

CURRENT_STAGE=""
STAGE_START=0
SUMMARY=()

elapsed() {
  local s=$(($(date +%s) - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# fail <what>: the one way a stage reports failure.
fail() {
  echo "FAIL: stage '$CURRENT_STAGE': $1 (after $(elapsed "$STAGE_START"))" >&2
  echo "      rerun just this stage: ANYIO_CI_STAGES=$CURRENT_STAGE bash scripts/test.sh" >&2
  REPORTED=yes
  exit 1
}

# Any other command that fails under `set -e` still names its stage.
REPORTED=no
on_exit() {
  local rc=$?
  if [ $rc -ne 0 ] && [ $REPORTED = no ] && [ -n "$CURRENT_STAGE" ]; then
    echo "FAIL: stage '$CURRENT_STAGE' stopped (exit $rc) after $(elapsed "$STAGE_START")" >&2
  fi
}
trap on_exit EXIT

# step <what> <command...>: run a command, or fail naming the step.
step() {
  local what=$1
  shift
  "$@" || fail "$what failed (exit $?): $*"
}

# configure <build dir> <cmake args...>: configure quietly; the log is kept
# in the build dir and shown only on failure.
configure() {
  local dir=$1
  shift
  mkdir -p "$dir"
  if ! cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log" >&2
    fail "cmake configure of $dir"
  fi
}

# build <build dir> [targets...]: ninja --quiet prints only compiler output.
build() {
  local dir=$1
  shift
  local targets=()
  [ $# -gt 0 ] && targets=(--target "$@")
  step "build of $dir" build_quietly "$dir" "${targets[@]}"
}
build_quietly() {
  local dir=$1
  shift
  cmake --build "$dir" -j "$JOBS" "$@" -- --quiet | sed '/^ninja: no work to do\.$/d'
}

run_ctest() {
  local dir=$1
  step "ctest in $dir" ctest --test-dir "$dir" -j "$JOBS" --output-on-failure --timeout 900
}

stage_deps() {
  step "installing packages" bash "$ROOT/scripts/install-deps.sh"
}

# -g1 (line tables, enough for backtraces and sanitizer reports) instead of
# -g: full debug info of coroutine-heavy code costs a third of compile time.
gcc_args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
          -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DANYIO_WERROR=ON
          -DANYIO_BUILD_TESTS=ON -DANYIO_BUILD_EXAMPLES=ON)

# g++ with -Wall -Wextra -Werror; every test, example, header check, tidy
# check, determinism self-check and downstream-project check.
stage_gcc() {
  configure build/ci-gcc "${gcc_args[@]}"
  build build/ci-gcc
  run_ctest build/ci-gcc
}

# AddressSanitizer + UndefinedBehaviorSanitizer at -O1 (fast enough to run
# every test, still precise), warnings as errors as well, except g++ 12's
# -Wmaybe-uninitialized: the sanitizer instrumentation makes it fire inside
# libstdc++'s <regex> (pulled in by Catch2), a false positive the plain
# -O2 build of the gcc stage does not have. An explicit -Wno-... wins over
# -Wall whatever the order.
stage_asan() {
  configure build/ci-asan -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-Wno-maybe-uninitialized" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DANYIO_SANITIZE=address,undefined \
    -DANYIO_WERROR=ON -DANYIO_BUILD_TESTS=ON -DANYIO_BUILD_EXAMPLES=ON
  build build/ci-asan
  run_ctest build/ci-asan
}

# ThreadSanitizer over the code that has threads of its own: the sim trace
# file's writer thread (sim/trace_file.cpp, exercised by the sim tests'
# traces), sim's lock-step workers, and every realio path that uses threads
# (listed below). About 1.5 minutes on 2 cores once built.
stage_tsan() {
  configure build/ci-tsan -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DANYIO_SANITIZE=thread \
    -DANYIO_BUILD_TESTS=ON -DANYIO_BUILD_EXAMPLES=OFF
  build build/ci-tsan sim_tests conformance_thread conformance_signal conformance_process \
    conformance_file
  local tsan="halt_on_error=1:second_deadlock_stack=1"
  step "sim_tests under TSan" env TSAN_OPTIONS="$tsan" build/ci-tsan/tests/sim_tests
  # Every realio path that uses threads: to_thread's pool, from_thread's
  # hand-offs, blocking_portal (its relay, plain threads calling in,
  # start_blocking_portal's loop thread: all in conformance_thread) and
  # signal delivery; sim's lock-step workers on a few seeds.
  local t
  for t in conformance_thread conformance_signal; do
    step "$t under TSan" env TSAN_OPTIONS="$tsan" ANYIO_SEEDS=3 "build/ci-tsan/tests/$t"
  done
  # to_process's worker pool (its registry is shared by threads; the
  # workers re-execute the TSan build) and the file and path operations that
  # realio runs on to_thread workers. Their sim side has no threads.
  step "conformance_process [to_process] under TSan" env TSAN_OPTIONS="$tsan" \
    ANYIO_BACKEND=realio build/ci-tsan/tests/conformance_process "[to_process]"
  step "conformance_file under TSan" env TSAN_OPTIONS="$tsan" ANYIO_BACKEND=realio \
    build/ci-tsan/tests/conformance_file
}

# The same seeds must give the same kernel events with g++ and clang++
# (DESIGN.md: "same seed + same options => same trace, on any compiler").
# clang builds only the probe and the libraries it needs. When the asan
# stage has built its probe, it is compared too: a different optimisation
# level and allocator, so event order must not depend on heap addresses.
stage_probe() {
  local probe=tests/determinism/determinism_probe
  [ -f build/ci-gcc/CMakeCache.txt ] || configure build/ci-gcc "${gcc_args[@]}"
  build build/ci-gcc determinism_probe
  configure build/ci-clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DANYIO_WERROR=ON \
    -DANYIO_BUILD_TESTS=ON -DANYIO_BUILD_EXAMPLES=OFF
  build build/ci-clang determinism_probe
  step "g++/clang++ determinism diff over seeds 0..$((PROBE_SEEDS - 1))" \
    python3 tests/determinism/check_probe.py cross "build/ci-gcc/$probe" \
    "build/ci-clang/$probe" --seeds "$PROBE_SEEDS"
  if [ -x "build/ci-asan/$probe" ]; then
    build build/ci-asan determinism_probe
    step "g++ -O2 / ASan -O1 determinism diff over seeds 0..$((PROBE_SEEDS - 1))" \
      python3 tests/determinism/check_probe.py cross "build/ci-gcc/$probe" \
      "build/ci-asan/$probe" --seeds "$PROBE_SEEDS"
  fi
}

# Whole simulator traces, not only kernel events: three workloads (channels
# and locks; cancellation, deadlines and shielded cleanup; PCT scheduling and
# seeded draws) for 20 seeds, built by g++ and by clang++, byte for byte.
stage_traces() {
  local probe=tests/trace_probe/trace_probe
  [ -f build/ci-gcc/CMakeCache.txt ] || configure build/ci-gcc "${gcc_args[@]}"
  build build/ci-gcc trace_probe
  [ -f build/ci-clang/CMakeCache.txt ] || configure build/ci-clang \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DANYIO_WERROR=ON \
    -DANYIO_BUILD_TESTS=ON -DANYIO_BUILD_EXAMPLES=OFF
  build build/ci-clang trace_probe
  local out=build/ci-traces seed
  rm -rf "$out"
  for seed in $(seq 0 $((PROBE_SEEDS - 1))); do
    mkdir -p "$out/gcc/$seed" "$out/clang/$seed"
    step "g++ trace_probe $seed" "build/ci-gcc/$probe" "$seed" "$out/gcc/$seed"
    step "clang++ trace_probe $seed" "build/ci-clang/$probe" "$seed" "$out/clang/$seed"
  done
  step "g++/clang++ traces differ (diff -r $out/gcc $out/clang)" diff -r "$out/gcc" "$out/clang"
  echo "    $(find "$out/gcc" -name '*.jsonl' | wc -l) traces identical between g++ and clang++"
}

# libFuzzer on the trace reader for a bounded time, from real traces.
stage_fuzz() {
  step "fuzzing the trace reader for ${FUZZ_SECONDS}s" \
    env ANYIO_FUZZ_BUILD_DIR="$ROOT/build/ci-fuzz" bash tests/fuzz/run.sh "$FUZZ_SECONDS"
}

stage_banner() {
  case $1 in
    deps) echo "packages: install what is missing" ;;
    gcc) echo "g++ -Werror build, ctest (build/ci-gcc)" ;;
    asan) echo "ASan+UBSan build, ctest (build/ci-asan)" ;;
    tsan) echo "TSan build of sim_tests, run (build/ci-tsan)" ;;
    probe) echo "determinism probe: g++ vs clang++ (and ASan), $PROBE_SEEDS seeds" ;;
    traces) echo "sim traces of 4 workloads: g++ vs clang++, $PROBE_SEEDS seeds, byte for byte" ;;
    fuzz) echo "libFuzzer on the trace reader, ${FUZZ_SECONDS}s (clang, ASan+UBSan)" ;;
    *) echo "$1" ;;
  esac
}

main() {
  local requested=() s known
  read -r -a requested <<<"$STAGES"
  for s in "${requested[@]}"; do
    known=no
    for k in "${ALL_STAGES[@]}"; do [ "$s" = "$k" ] && known=yes; done
    if [ $known = no ]; then
      echo "FAIL: unknown stage '$s' in ANYIO_CI_STAGES; stages: ${ALL_STAGES[*]}" >&2
      exit 2
    fi
  done
  local total_start
  total_start=$(date +%s)
  for s in "${ALL_STAGES[@]}"; do
    [[ " ${requested[*]} " == *" $s "* ]] || continue
    CURRENT_STAGE=$s
    STAGE_START=$(date +%s)
    echo "==> [$s] $(stage_banner "$s")"
    "stage_$s"
    echo "<== [$s] passed in $(elapsed "$STAGE_START")"
    SUMMARY+=("$s $(elapsed "$STAGE_START")")
  done
  CURRENT_STAGE=""
  local joined
  joined=$(printf '%s, ' "${SUMMARY[@]}")
  echo "test.sh: all stages passed in $(elapsed "$total_start") (${joined%, })"
}

main
