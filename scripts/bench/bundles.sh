#!/usr/bin/env bash
# Benchmark: the requests and the time of a full backup and of a restore of
# a cluster of many small files on S3 (OpenStack Swift with s3api on
# 127.0.0.1, started as the integration tests start it), with bundles
# (bundle = yes, what `auto` picks on an object store) and without
# (bundle = no), side by side in one run.
#
# The cluster: PostgreSQL 15 with TABLES tables of one row (each a table of
# 8 KiB, its empty TOAST table and the TOAST table's 8 KiB index), made as
# test_backup_many_files.sh makes its 100,000-file cluster (whose tables
# are empty: their files have no object at all). Each mode has a repository of its own on
# the same Swift (archive_command pushes to both), encrypted, zstd,
# process-max 2, start-fast. ROUNDS rounds, the two modes alternating
# which goes first; a round is a full backup of each, then a restore of
# each into a new directory. Requests are walden's own, counted in Swift's
# proxy log (user agent walden/...) by method, from the command's start to
# its end: they include the archive-push runs of the WAL the backup
# switches to (a handful). Prints every figure and the objects each backup
# left on the store.
#
# Usage (as root, Debian 12, Swift installed by scripts/install-deps.sh
# --objstore): scripts/bench/bundles.sh
# Environment: TABLES (default 5000), ROUNDS (default 1), BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
TABLES=${TABLES:-5000}
ROUNDS=${ROUNDS:-1}
SRC=$(pwd)
BUILD=${BUILD_DIR:-$SRC/build-release}
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target walden_cli >/dev/null
export WALDEN_BIN=$BUILD/src/walden WALDEN_SOURCE_DIR=$SRC WALDEN_BUILD_DIR=$BUILD
export WALDEN_REQUIRE_SERVERS=1
source "$SRC/tests/integration/lib.sh"
source "$SRC/tests/integration/objstore.sh"

echo "== starting swift (s3api) on 127.0.0.1"
start_swift
LOG=$T/swift/log/proxy.log
PORT=$(next_port)
new_passphrase "$T/pass"
common=("lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2" "start-fast=y"
  "expire-auto=n")
for mode in no yes; do
  store_conf s3 "$T/$mode.conf" "$S3_PORT" "b$mode" "${common[@]}" "bundle=$mode"
done
pg_init "$T/pg"
for mode in no yes; do walden "$T/$mode.conf" --pgdata "$T/pg" init >/dev/null; done
pg_configure "$T/pg" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/no.conf archive-push %p && $WALDEN_BIN --config $T/yes.conf archive-push %p'
max_locks_per_transaction = 1024
CONF
pg_start "$T/pg"
for ((start = 1; start <= TABLES; start += 2000)); do
  psql_c "$PORT" "DO \$\$ BEGIN FOR i IN $start..$((start + 1999 < TABLES ? start + 1999 : TABLES)) LOOP
    EXECUTE format('CREATE TABLE t%s AS SELECT %s::text AS v', i, i); END LOOP; END \$\$"
done
psql_c "$PORT" "CHECKPOINT"
wait_archived "$PORT" "$(switch_wal "$PORT")"
files=$(find "$T/pg" -type f -not -path '*/pg_wal/*' | wc -l)
echo "== cluster: $TABLES tables, $files files (pg_wal left out), $(du -sh --exclude=pg_wal "$T/pg" | cut -f1)"

lines() { wc -l <"$LOG"; }
# requests FROM: walden's requests logged after line FROM, by method
requests() {
  sleep 1 # the proxy's log lags a little
  tail -n +$(($1 + 1)) "$LOG" | grep ' walden/[0-9.]* ' | awk '{n[$5]++; t++}
    END {printf "%d (", t; s = ""; for (m in n) {printf "%s%s %d", s, m, n[m]; s = ", "}; printf ")"}'
}
# timed WHAT CMD...: runs CMD, prints WHAT, its seconds and its requests
timed() {
  local what=$1 from t0 t1
  shift
  from=$(lines)
  t0=$(date +%s.%N)
  "$@" >"$T/out" 2>&1 || fail "$what failed: $(tail -5 "$T/out")"
  t1=$(date +%s.%N)
  printf '%-24s %7.1f s  requests %s\n' "$what" "$(echo "$t1 - $t0" | bc -l)" "$(requests "$from")"
}
declare -A restored
for ((round = 1; round <= ROUNDS; round++)); do
  order=(no yes)
  ((round % 2)) || order=(yes no)
  echo "== round $round"
  for mode in "${order[@]}"; do
    timed "backup, bundle=$mode" walden "$T/$mode.conf" --pgport "$PORT" --pgdata "$T/pg" backup
  done
  for mode in "${order[@]}"; do
    rm -rf "$T/restored"
    timed "restore, bundle=$mode" walden "$T/$mode.conf" --pgdata "$T/restored" restore
    # (the backup leaves out postmaster.pid and the like: a few files)
    n=$(find "$T/restored" -type f | wc -l)
    ((n + 16 >= files)) || fail "restore, bundle=$mode: $n files of the cluster's $files"
    restored[$mode]=$n
  done
done
[[ ${restored[no]} == "${restored[yes]}" ]] ||
  fail "the restores have ${restored[no]} and ${restored[yes]} files"
echo "restored files: ${restored[yes]}"
for mode in no yes; do
  store_list s3 "b$mode/main/backup/" >"$T/objects"
  n=$(wc -l <"$T/objects")
  ((n < 10000)) || n="10000 or more (one page of Swift's listing)"
  echo "objects of bundle=$mode: $n ($(grep -c '/bundle/' "$T/objects" || true) bundles)"
done
rm -rf "$T/restored"
finish
