#!/usr/bin/env bash
# The structure of the tree, checked (the test structure/layers runs it):
# - every module of lib/ has a layer, and a module includes only modules of
#   lower layers (docs/internals/README.md shows the same table);
# - src/ (the CLI) includes only the public header and its own headers;
# - retention/ includes only its own header and libc;
# - a file of lib/ longer than 1,000 lines says why near its top, in a
#   comment line starting "Longer than 1,000 lines:".
set -euo pipefail
cd "$(dirname "$0")/.."

# module layer: the lower the number, the lower the layer
declare -A layer=(
  [common]=0
  [io]=1 [config]=1 [pg]=1
  [crypto]=2 [storage]=2
  [repo]=3
  [archive]=4
  [catalog]=5
  # the commands, none of which uses another...
  [backup]=6 [dump]=6 [check]=6 [restore]=6 [verify]=6 [expire]=6 [metrics]=6
  # ...but the drill, which restores, and repo-upgrade, which re-signs drill
  # records
  [drill]=7
  [upgrade]=8
)

if [[ "${1:-}" == "--print" ]]; then
  for m in "${!layer[@]}"; do echo "${layer[$m]} $m"; done | sort -n |
    awk '{a[$1] = a[$1] (a[$1] ? ", " : "") "`" $2 "`"} END {for (i = 20; i >= 0; i--) if (i in a) print "| " i " | " a[i] " |"}'
  exit 0
fi

bad=0
problem() {
  echo "structure: $*" >&2
  bad=1
}

too_long() { # FILE: over 1,000 lines without the reason near its top
  local lines
  lines=$(wc -l <"$1")
  if ((lines > 1000)) && ! head -40 "$1" | grep -q 'Longer than 1,000 lines:'; then
    problem "$1 has $lines lines and does not say why near its top (\"Longer than 1,000 lines: ...\")"
  fi
}

for f in lib/include/walden/*.h; do too_long "$f"; done
for dir in lib/*/; do
  m=$(basename "$dir")
  [[ $m == include ]] && continue
  [[ -n ${layer[$m]:-} ]] || {
    problem "lib/$m has no layer in scripts/check-structure.sh"
    continue
  }
  for f in "$dir"*.[ch]; do
    [[ -e $f ]] || continue
    # "#include "X/..."" naming a file of lib/X/ (PostgreSQL's own server
    # headers, such as storage/checksum.h, are not ours)
    while IFS= read -r inc; do
      other=${inc%%/*}
      [[ -e lib/$inc && $other != "$m" && $other != walden ]] || continue
      if [[ -z ${layer[$other]:-} ]]; then
        problem "$f includes $inc of lib/$other, which has no layer"
      elif ((layer[$other] >= layer[$m])); then
        problem "$f (layer ${layer[$m]}) includes $inc (lib/$other, layer ${layer[$other]}): only lower layers may be included"
      fi
    done < <(sed -n 's/^#include "\([^"]*\/[^"]*\)".*/\1/p' "$f")
    too_long "$f"
  done
done

for f in src/*.[ch]; do
  while IFS= read -r inc; do
    [[ $inc == walden/walden.h || -e src/$inc ]] ||
      problem "$f includes \"$inc\": the CLI uses only the public header <walden/walden.h>"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

for f in retention/*.[ch]; do
  while IFS= read -r inc; do
    [[ -e retention/$inc ]] || problem "$f includes \"$inc\": the retention engine depends on nothing but libc"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

((bad == 0)) && echo "structure: every include goes down the layers; no file of lib/ over 1,000 lines without a reason"
exit "$bad"
