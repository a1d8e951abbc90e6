#!/usr/bin/env bash
# The built libwalden.so.0 keeps the ABI of the baseline
# (packaging/abi/libwalden.so.0.abi, made by scripts/abi-baseline.sh):
# libabigail's abidiff may find functions added (fine), but no function or
# variable removed and no type changed in a way the suppressions
# (packaging/abi/libwalden.abignore: the opaque handles, fields appended)
# do not allow. On failure it prints abidiff's report.
#   check_abi.sh LIBRARY SOURCE_DIR
set -uo pipefail
lib=${1:?usage: check_abi.sh LIBRARY SOURCE_DIR}
src=${2:?usage: check_abi.sh LIBRARY SOURCE_DIR}
base=$src/packaging/abi/libwalden.so.0.abi
if ! command -v abidiff >/dev/null; then
  echo "check_abi: abidiff not found (Debian: abigail-tools, scripts/install-deps.sh)" >&2
  exit 1
fi
soname=$(objdump -p "$lib" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
base_soname=$(sed -n "s/.*<abi-corpus .*soname='\([^']*\)'.*/\1/p" "$base" | head -1)
if [[ $soname != "$base_soname" ]]; then
  echo "check_abi: the library's SONAME is '$soname', the baseline's '$base_soname':" \
    "a new SONAME needs a new baseline (scripts/abi-baseline.sh)" >&2
  exit 1
fi
# the baseline holds the public types only (the opaque handles as bare
# declarations): the library's private types are not compared
report=$(abidiff --suppressions "$src/packaging/abi/libwalden.abignore" "$base" "$lib")
rc=$?
# abidiff's status is a bit field: 1 error, 2 usage, 4 a change, 8 an
# incompatible one (a removed symbol); a change is fine when it is only
# added functions or variables
summary=$(grep -E '^(Functions|Variables) changes summary' <<<"$report")
if ((rc & 3)) || ((rc & 8)) || grep -qE '(^|[^0-9])[1-9][0-9]* (Removed|Changed)' <<<"$summary"; then
  echo "check_abi: libwalden's ABI differs from packaging/abi/libwalden.so.0.abi" \
    "(abidiff status $rc):" >&2
  echo "$report" >&2
  echo "check_abi: see docs/internals/api.md, \"ABI\": a compatible change gets a new" \
    "baseline (scripts/abi-baseline.sh); an incompatible one a new SOVERSION too" >&2
  exit 1
fi
echo "check_abi: the ABI of $(basename "$lib") holds the baseline's; ${summary//$'\n'/; }"
