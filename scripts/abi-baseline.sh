#!/usr/bin/env bash
# Writes packaging/abi/libwalden.so.0.abi, the ABI baseline that the test
# api/abi (tests/api/check_abi.sh) holds every build of libwalden.so.0 to:
# the public functions of lib/include/walden/walden.h and the types they
# reach, as libabigail's abidw reads them from the library's debug
# information. Builds the library alone (RelWithDebInfo, no sanitizers) in
# BUILD_DIR (default build-abi). One command, run at a release (and by
# whoever merges a change to walden.h that the check reports and that is
# compatible, or that comes with a new SOVERSION): see
# docs/internals/api.md, "ABI".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v abidw >/dev/null || {
  echo "abi-baseline: abidw not found (Debian: abigail-tools, scripts/install-deps.sh)" >&2
  exit 1
}
build_dir=${BUILD_DIR:-build-abi}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALDEN_SANITIZE=OFF >/dev/null
cmake --build "$build_dir" --target walden -j"$(nproc)" >/dev/null
out=packaging/abi/libwalden.so.0.abi
# no locations, no absolute paths (the translation units' are made
# relative): the baseline does not change with the checkout's folder or
# with lines moving in walden.h
abidw --headers-dir lib/include/walden --drop-private-types --no-corpus-path \
  --no-comp-dir-path --no-show-locs "$build_dir/lib/libwalden.so.0" |
  sed "s|path='$PWD/|path='|" >"$out.tmp"
mv "$out.tmp" "$out"
echo "abi-baseline: wrote $out ($(grep -c '<elf-symbol' "$out") symbols)"
