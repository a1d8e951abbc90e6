#!/usr/bin/env bash
# gen-man.sh WALDEN OUTDIR: writes the man pages walden(1) and one
# walden-COMMAND(1) per command into OUTDIR, from the binary's option and
# command tables (`walden help-gen man [COMMAND]`), so the pages, the help
# and the docs never disagree. Run by the build (CMake), not by hand.
set -euo pipefail
walden=$1 out=$2
mkdir -p "$out"
rm -f "$out"/walden*.1
"$walden" help-gen man >"$out/walden.1.tmp"
mv "$out/walden.1.tmp" "$out/walden.1"
for cmd in $("$walden" help-gen commands); do
  "$walden" help-gen man "$cmd" >"$out/walden-$cmd.1.tmp"
  mv "$out/walden-$cmd.1.tmp" "$out/walden-$cmd.1"
done
