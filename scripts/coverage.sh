#!/usr/bin/env bash
# Line coverage of the test suite, per module. Builds walden with gcov
# instrumentation (--coverage, -O0, no sanitizers) into build-coverage/
# (COVERAGE_DIR changes that), runs ctest there (every test by default; the
# arguments go to ctest, e.g. `scripts/coverage.sh -L unit` or
# `-R 'unit|integration/test_backup$'`; by default every test but the
# version matrix's test_pg13, 17 and 18), then prints one line per module
# (lib/<module>/, retention/, src/): lines executed, lines in all, percent.
# Files no test reached count with all their lines (an initial capture).
# The per-file figures stay in build-coverage/coverage.info (lcov's format;
# `genhtml -o DIR build-coverage/coverage.info` makes pages of them).
# Exits with ctest's status: the table is printed even when a test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${COVERAGE_DIR:-build-coverage}
bash scripts/install-deps.sh --coverage

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DWALDEN_SANITIZE=OFF \
  -DCMAKE_C_FLAGS="--coverage" -DCMAKE_EXE_LINKER_FLAGS="--coverage" \
  -DCMAKE_SHARED_LINKER_FLAGS="--coverage" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null

lcov_q=(--quiet --rc lcov_branch_coverage=0)
# counters of an earlier run would add up with this one's
lcov "${lcov_q[@]}" --zerocounters --directory "$dir"
lcov "${lcov_q[@]}" --capture --initial --no-external --base-directory "$root" \
  --directory "$dir" --output-file "$dir/coverage.base" 2>/dev/null

# The integration tests run walden as postgres too (archive_command, the
# restore of a throwaway server): its counters go beside root's, so the
# object folders take files from anyone, and a default ACL makes every
# counter file writable by all whoever creates it (whatever the umask: a
# umask of 0 would change what tests see of the files they make).
find "$dir" -name '*.gcno' -printf '%h\0' | sort -zu |
  xargs -0 sh -c 'chmod a+rwx "$@" && setfacl -d -m u::rwx,g::rwx,o::rwx "$@"' sh
status=0
(
  cd "$dir"
  export WALDEN_REQUIRE_SERVERS=1
  if (($#)); then
    ctest --output-on-failure --timeout 900 -j2 "$@"
  else
    # the version matrix's other majors run a release build inside Debian
    # roots, which cannot be counted (test_pg15 runs on this host)
    ctest --output-on-failure --timeout 900 -j2 -E 'integration/test_pg(13|17|18)$'
  fi
) || status=$?

lcov "${lcov_q[@]}" --capture --no-external --base-directory "$root" \
  --directory "$dir" --output-file "$dir/coverage.run" 2>/dev/null
lcov "${lcov_q[@]}" --add-tracefile "$dir/coverage.base" \
  --add-tracefile "$dir/coverage.run" --output-file "$dir/coverage.all"
# only walden's own sources: not the tests, not the generated files
lcov "${lcov_q[@]}" --extract "$dir/coverage.all" "$root/lib/*" "$root/retention/*" \
  "$root/src/*" --output-file "$dir/coverage.info"

echo
echo "line coverage per module ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
awk -v root="$root/" '
  /^SF:/ {
    f = substr($0, 4); sub("^" root, "", f)
    n = split(f, p, "/")
    m = (p[1] == "lib" && n > 2) ? p[1] "/" p[2] "/" : p[1] "/"
  }
  /^LF:/ { lf[m] += substr($0, 4) }
  /^LH:/ { lh[m] += substr($0, 4) }
  END { for (m in lf) print m, lf[m], lh[m] }' "$dir/coverage.info" | sort |
  awk '
    BEGIN {
      printf "| %-16s | %6s | %6s | %6s |\n", "module", "lines", "hit", "%"
      printf "| %-16s | %6s | %6s | %6s |\n", "---", "---:", "---:", "---:"
    }
    {
      printf "| %-16s | %6d | %6d | %5.1f%s |\n", $1, $2, $3,
        $2 ? 100 * $3 / $2 : 100, ($3 < 0.8 * $2) ? "*" : " "
      tlf += $2; tlh += $3
    }
    END {
      printf "| %-16s | %6d | %6d | %5.1f  |\n", "all", tlf, tlh, tlf ? 100 * tlh / tlf : 100
      print "(* below 80%)"
    }'
exit "$status"
