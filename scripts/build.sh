#!/usr/bin/env bash
# Builds walden into BUILD_DIR (default build/). WALDEN_SANITIZE=ON for the
# test build with AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" \
  -DWALDEN_SANITIZE="${WALDEN_SANITIZE:-OFF}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
