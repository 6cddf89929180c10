#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages the build and tests need, and only those
# missing: dpkg decides, so on a prepared machine this is instant and needs
# no network. Run as root (CI is); elsewhere it prints the apt-get line to
# run. libclang-rt-14-dev carries clang's sanitizer and libFuzzer runtimes,
# which clang only recommends, so a minimal image lacks them.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang python3 pkg-config  # toolchain (the stock image has these)
  libasio-dev catch2 nlohmann-json3-dev librapidcheck-dev libssl-dev libbenchmark-dev
  ccache libclang-rt-14-dev
  parallel  # docs/distributed-sweeps.md's GNU parallel recipe, run by a test
  doxygen   # the API reference, built by a test (docs/Doxyfile)
  chromium  # loads anyio-sim html's pages headless in a test ('anyio-sim: browser')
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run as root:" \
    "apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed (log above)" >&2
  exit 1
fi
rm -f "$log"
