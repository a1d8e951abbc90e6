#!/usr/bin/env bash
# build-deb.sh [OUTDIR]: builds the walden .deb with dpkg-buildpackage from
# a copy of this checkout (packaging/debian becomes debian/), into OUTDIR
# (default: the current folder). Needs debhelper (scripts/install-deps.sh).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath "${1:-.}")
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
cp "$work"/walden_*.deb "$out/"
ls "$out"/walden_*.deb
