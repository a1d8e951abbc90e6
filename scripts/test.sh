#!/usr/bin/env bash
# README command 2: installs the dependencies, builds walden with
# AddressSanitizer and UBSan, and runs the whole test suite (unit and
# integration tests; the integration tests start their own PostgreSQL).
# `scripts/test.sh -L unit` passes its arguments to ctest, e.g. to run one
# label alone (unit, integration, slow, versions: the PostgreSQL version
# matrix, docs/postgresql-versions.md). Without arguments (the full suite, as
# .ci/run runs it) every fuzz target then runs for 30 s, two at a time
# (scripts/fuzz.sh; FUZZ_SECONDS changes the time): a crash, a leak or a
# timeout fails the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# the version matrix's Debian roots (PostgreSQL 13, 17, 18), built once per
# machine into /var/cache/walden-test/rootfs while walden builds; reused
# when present
rootfs_pids=()
if [[ $(id -u) -eq 0 ]]; then
  for suite in bullseye trixie sid; do
    bash scripts/pg-rootfs.sh "$suite" >/dev/null &
    rootfs_pids+=($!)
  done
fi
bash scripts/check-format.sh
# the optimized build warns about things the debug build does not see
BUILD_DIR=build-release BUILD_TYPE=Release bash scripts/build.sh >/dev/null
BUILD_DIR=build-test BUILD_TYPE=Debug WALDEN_SANITIZE=ON bash scripts/build.sh
for pid in "${rootfs_pids[@]}"; do
  wait "$pid" || echo "test.sh: a Debian root for the version matrix failed to build" >&2
done
cd build-test
# install-deps put every test server here: none may be skipped
export WALDEN_REQUIRE_SERVERS=1
ctest --output-on-failure --timeout 900 -j2 "$@"
cd ..
if (($# == 0)); then
  FUZZ_JOBS=2 bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
