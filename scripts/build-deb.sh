#!/usr/bin/env bash
# build-deb.sh [OUTDIR]: builds the walden .deb with dpkg-buildpackage from
# a copy of this checkout (packaging/debian becomes debian/), into OUTDIR
# (default: the current folder): walden, libwalden0 and libwalden-dev.
# Needs only the build dependencies (scripts/install-deps.sh --build), which
# it checks first.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath "${1:-.}")
(cd "$src/packaging" && dpkg-checkbuilddeps debian/control) || {
  echo "build-deb: install the build dependencies: scripts/install-deps.sh --build" >&2
  exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/walden-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/walden"
# the sources only: no build folders
tar -C "$src" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$work/walden" -xf -
cp -r "$src/packaging/debian" "$work/walden/debian"
(cd "$work/walden" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
  tail -30 "$work/build.log" >&2
  exit 1
}
cp "$work"/walden_*.deb "$work"/libwalden0_*.deb "$work"/libwalden-dev_*.deb "$out/"
ls "$out"/walden_*.deb "$out"/libwalden0_*.deb "$out"/libwalden-dev_*.deb
