#!/usr/bin/env bash
# PostgreSQL 17's WAL summaries (lib/pg/summary.c) against the ground truth:
# a cluster with summarize_wal = on is copied after a CHECKPOINT at LSN A,
# known blocks change (an UPDATE at known ctids, a TRUNCATE, a VACUUM that
# truncates a table's tail, a new table, a table moved into a tablespace, a
# database created with FILE_COPY), it is copied again after a
# CHECKPOINT, and tests/tools/summary_check.c (walden_summary_check) checks
# that every 8 KiB block whose bytes differ between the two copies is one
# the summaries of [A, B) say may have changed, and that most equal blocks
# are said unchanged. The server runs from the trixie root as in
# pgversions.sh.
# label: versions
PGV=17
SUITE=trixie
SRC=${WALDEN_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
skip_or_fail() {
  if [[ ${WALDEN_REQUIRE_SERVERS:-0} == 1 ]]; then
    echo "FAIL: $(basename "$0" .sh): $*" >&2
    exit 1
  fi
  echo "SKIP: $(basename "$0" .sh): $*"
  exit 0
}
[[ $(id -u) -eq 0 ]] || skip_or_fail "PostgreSQL $PGV needs root (debootstrap, unshare)"
command -v debootstrap >/dev/null || skip_or_fail "debootstrap is not installed"
ROOT=$(bash "$SRC/scripts/pg-rootfs.sh" "$SUITE") || skip_or_fail "no root for $SUITE"
export TMPDIR=$ROOT/tmp
source "$SRC/tests/integration/lib.sh"

CHECK=${WALDEN_BUILD_DIR:-$SRC/build-test}/tests/walden_summary_check
[[ -x $CHECK ]] || fail "walden_summary_check is not built ($CHECK)"

# PostgreSQL's programs of the root, run inside it as the caller
mkdir -p "$T/pgbin"
for p in initdb pg_ctl postgres psql pg_controldata pgbench; do
  cat >"$T/pgbin/$p" <<SH
#!/bin/sh
case "\$PWD" in $ROOT/*) wd=\$PWD ;; *) wd=/ ;; esac
LC_ALL=C.UTF-8 LANG=C.UTF-8 exec unshare --user --map-user=\$(id -u) --map-group=\$(id -g) \\
  --root=$ROOT --wd="\$wd" /usr/lib/postgresql/$PGV/bin/$p "\$@"
SH
  chmod 0755 "$T/pgbin/$p"
done
PG_BIN=$T/pgbin

# archive_command runs inside the root: a copy of the host's release build,
# its loader and libraries, at walden's own path inside the root
inner_src=${WALDEN_INNER_BIN:-$SRC/build-release/src/walden}
[[ -x $inner_src ]] || fail "no release build of walden at $inner_src (scripts/test.sh builds it)"
mkdir -p "$T/inner"
cp "$inner_src" "$T/inner/walden"
for lib in $(ldd "$inner_src" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
  cp -L "$lib" "$T/inner/"
done
INNER_WRAPPER=$ROOT$WALDEN_BIN
mkdir -p "$(dirname "$INNER_WRAPPER")"
cat >"$INNER_WRAPPER" <<SH
#!/bin/sh
exec $T/inner/ld-linux-x86-64.so.2 --library-path $T/inner $T/inner/walden "\$@"
SH
chmod 0755 "$INNER_WRAPPER"
trap 'rc=$?; rm -f "$INNER_WRAPPER"; cleanup $rc' EXIT

PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "pg-bin=$PG_BIN" "process-max=2" "archive-timeout=60s" "expire-auto=off" "log-level=info"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT")
  walden "$T/walden.conf" "$@"
}
sql() { as_pg "$PG_BIN/psql" -h "$T/sock" -p "$PORT" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# data checksums: a hint-bit change is WAL-logged (the module refuses a
# server without them or wal_log_hints); autovacuum off: nothing but the
# test writes
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
W --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
summarize_wal = on
autovacuum = off
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
pg_start "$PRIMARY"

sql "CREATE TABLE t(id int PRIMARY KEY, v text NOT NULL)"
sql "INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g"
sql "CREATE TABLE gone AS SELECT g AS id FROM generate_series(1, 5000) g"
sql "CREATE TABLE kept AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g"
# a tablespace: its files are pg_tblspc/OID/PG_17_.../DB/REL
as_pg mkdir "$T/ts"
sql "CREATE TABLESPACE ts LOCATION '$T/ts'"
sql "CREATE TABLE in_ts TABLESPACE ts AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g"
sql "VACUUM (FREEZE, ANALYZE)"
pages=$(sql "SELECT pg_relation_size('t') / 8192")
((pages > 100)) || fail "t has only $pages pages"

mkdir -p "$T/a" "$T/b"
sql "CHECKPOINT"
read -r A TLI < <(sql "SELECT redo_lsn, timeline_id FROM pg_control_checkpoint()" | tr '|' ' ')
copy() { cp -a "$PRIMARY/base" "$PRIMARY/global" "$1/" && cp -aL "$PRIMARY/pg_tblspc" "$1/"; }
copy "$T/a"

# known changes: a table truncated and refilled (a new relfilenode), the
# tail of t deleted and cut off by VACUUM (a limit block on the same file),
# rows at three ctids, a new table
sql "TRUNCATE gone"
sql "INSERT INTO gone SELECT g FROM generate_series(1, 100) g"
sql "DELETE FROM t WHERE id > 18000"
sql "VACUUM t"
# COPY extends t again past the cut
seq 20001 20500 | awk '{print $1 "\tcopied-" $1}' |
  as_pg "$PG_BIN/psql" -h "$T/sock" -p "$PORT" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 \
    -c "COPY t FROM STDIN"
# (after the VACUUM: the rows' new versions may go to the last page)
sql "UPDATE t SET v = v || 'x' WHERE ctid = ANY (ARRAY['(3,1)', '(40,2)', '(90,3)']::tid[])"
sql "CREATE TABLE fresh AS SELECT g AS id FROM generate_series(1, 3000) g"
# in the tablespace: a row updated, a table moved in; a database copied
# file by file (no WAL for its blocks: the summaries name the database)
sql "UPDATE in_ts SET v = 'x' WHERE ctid = '(20,5)'"
sql "ALTER TABLE kept SET TABLESPACE ts"
sql "CREATE DATABASE copied STRATEGY FILE_COPY"
after=$(sql "SELECT pg_relation_size('t') / 8192")
((after < pages)) || fail "VACUUM did not truncate t ($pages pages, then $after)"

# B: after the copy, so that every change in it has its WAL before B (a
# page reaches the disk only after its WAL); a CHECKPOINT then makes the
# summarizer end a summary past B
sql "CHECKPOINT"
copy "$T/b"
B=$(sql "SELECT pg_current_wal_insert_lsn()")
sql "CHECKPOINT"
pass "copies at $A and $B on timeline $TLI; t cut from $pages to $after pages"

"$CHECK" "$T/sock" "$PORT" "$TLI" "$A" "$B" "$T/a" "$T/b" 50 >"$T/check.out" 2>&1 ||
  fail "summary check: $(cat "$T/check.out")"
read -r differing < <(sed -n 's/.*differing \([0-9]*\).*/\1/p' "$T/check.out")
((differing >= 4)) || fail "too few blocks changed for a test: $(cat "$T/check.out")"
pass "every block that differs is said changed; most equal blocks unchanged: $(cat "$T/check.out")"

# nothing between: the same copy against itself, an empty range; what is
# still said changed is the free space and visibility maps (always read)
"$CHECK" "$T/sock" "$PORT" "$TLI" "$B" "$B" "$T/b" "$T/b" 80 >"$T/check.out" 2>&1 ||
  fail "summary check of an empty range: $(cat "$T/check.out")"
grep -q "differing 0 (missed 0)" "$T/check.out" || fail "empty range: $(cat "$T/check.out")"
pass "an empty range: most blocks said unchanged (the maps are always read): $(cat "$T/check.out")"

# a range the summaries do not cover (before the summarizer's first
# summary, on a timeline that does not exist): refused with the reason
first=$(sql "SELECT min(start_lsn) FROM pg_available_wal_summaries()")
set +e
"$CHECK" "$T/sock" "$PORT" "$TLI" 0/10 "$B" "$T/a" "$T/b" 0 >"$T/check.out" 2>&1
rc=$?
"$CHECK" "$T/sock" "$PORT" 7 "$A" "$B" "$T/a" "$T/b" 0 >"$T/check7.out" 2>&1
rc7=$?
set -e
# (the summarizer's first summary starts after initdb's WAL, never at 0/10)
[[ $first != 0/10 ]] || fail "the first summary starts at 0/10: no range before it to check"
[[ $rc == 2 ]] && grep -q "do not cover 0/10 to $B: none from 0/10" "$T/check.out" ||
  fail "a range before $first: $(cat "$T/check.out")"
[[ $rc7 == 2 ]] && grep -q "the WAL summaries of timeline 7 do not cover" "$T/check7.out" ||
  fail "timeline 7: $(cat "$T/check7.out")"
pass "ranges without summaries are refused, naming the gap"

# ---- backups: a full, then incrs that read only the blocks the
# summaries name; restored, the chain holds what the server holds
backup() { # OUT [options]: the backup's id
  local out=$T/$1
  shift
  W --pgdata "$PRIMARY" backup "$@" >"$out" 2>&1 || fail "backup $*: $(cat "$out")"
  awk '/^backup /{print $2; exit}' "$out" | tr -d :
}
read_bytes() { sed -n 's/.* bytes stored, \([0-9]*\) read.*/\1/p' "$T/$1"; }
full=$(backup full.out --type full)
sql "UPDATE t SET v = v || 'y' WHERE ctid = ANY (ARRAY['(5,1)', '(60,2)']::tid[])"
sql "UPDATE in_ts SET v = 'y' WHERE id < 50"
sql "CREATE TABLE later AS SELECT g AS id FROM generate_series(1, 1000) g"
incr1=$(backup incr1.out --type incr)
grep -q "WAL summaries from .* name [0-9]* blocks" "$T/incr1.out" ||
  fail "the incr did not use the summaries: $(cat "$T/incr1.out")"
sql "UPDATE t SET v = v || 'z' WHERE id % 500 = 0"
sql "TRUNCATE gone"
incr2=$(backup incr2.out --type incr)
grep -q "WAL summaries from .* name [0-9]* blocks" "$T/incr2.out" ||
  fail "the second incr did not use the summaries: $(cat "$T/incr2.out")"
# the same incr without them reads every block
off=$(backup off.out --type incr --wal-summaries off)
grep -q "WAL summaries" "$T/off.out" && fail "wal-summaries off: $(cat "$T/off.out")"
r1=$(read_bytes incr2.out) r0=$(read_bytes off.out)
[[ -n $r1 && -n $r0 ]] && ((r1 * 4 < r0)) ||
  fail "with summaries $r1 bytes read, without $r0: $(cat "$T/incr2.out" "$T/off.out")"
pass "incrs with summaries read $r1 bytes, $r0 without"

tables=(t gone kept fresh in_ts later)
sums() { # PORT: every table's rows in order, hashed
  for tb in "${tables[@]}"; do
    as_pg "$PG_BIN/psql" -h "$T/sock" -p "$1" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 \
      -c "SELECT '$tb', count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $tb x"
  done
}
want=$(sums "$PORT")
tsoid=$(sql "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'")
for id in "$incr2" "$off"; do
  dir=$T/restored-$id rport=$(next_port)
  as_pg mkdir -p "$T/ts-$id"
  W restore --pgdata "$dir" --set "$id" --tablespace-map "$tsoid=$T/ts-$id" --type immediate \
    --target-action promote >"$T/restore.out" 2>&1 || fail "restore $id: $(cat "$T/restore.out")"
  pg_configure "$dir" "$rport" <<<"archive_mode = off"
  pg_start "$dir"
  wait_recovered "$rport" "restore $id"
  got=$(sums "$rport")
  [[ $got == "$want" ]] || fail "restore of $id: $got, the server has $want"
  pg_stop "$dir"
done
pass "the chains full, incr, incr (with summaries) and full, incr, incr, incr restore what the server holds"

# BENCH_SCALE=N: a measurement for docs/benchmarks.md, not a check. pgbench
# at scale N, a full, 1% of pgbench_accounts updated (100 runs of
# consecutive rows, as scripts/bench/incremental.sh does), CHECKPOINT, an
# incr: the share of the cluster's bytes the incr read.
if [[ -n ${BENCH_SCALE:-} ]]; then
  as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s "$BENCH_SCALE" -q postgres \
    >/dev/null 2>&1 || fail "pgbench -i"
  sql "CHECKPOINT"
  backup bench-full.out --type full >/dev/null
  rows=$((BENCH_SCALE * 100000))
  sql "UPDATE pgbench_accounts SET abalance = abalance + 1
       WHERE (aid + 3000) % ($rows / 100) < $rows / 10000"
  sql "CHECKPOINT"
  backup bench-incr.out --type incr >/dev/null
  grep -q "WAL summaries from .* name [0-9]* blocks" "$T/bench-incr.out" ||
    fail "the bench incr did not use the summaries: $(cat "$T/bench-incr.out")"
  rb=$(read_bytes bench-incr.out)
  cb=$(du -sb --exclude=pg_wal "$PRIMARY" | cut -f1)
  echo "bench: pgbench scale $BENCH_SCALE, cluster $cb bytes (without pg_wal): the incr read $rb bytes ($(awk "BEGIN {printf \"%.2f\", 100 * $rb / $cb}")%)"
  grep "^backup " "$T/bench-incr.out"
fi

# summarize_wal off: the server cannot give summaries
sql "ALTER SYSTEM SET summarize_wal = off"
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
set +e
"$CHECK" "$T/sock" "$PORT" "$TLI" "$A" "$B" "$T/a" "$T/b" 0 >"$T/check.out" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -q "summaries not usable: summarize_wal is off" "$T/check.out" ||
  fail "summarize_wal off: $(cat "$T/check.out")"
pass "summarize_wal off is refused"
finish
