#!/usr/bin/env bash
# label: slow
# Memory does not grow with the number of files: a cluster with more than
# 100,000 files (34,000 tables with a TOAST table and index each) is backed
# up (a full, then an incr after rows went into some of the tables) and
# restored (the incr's chain), and the peak RSS of each stays under a fixed
# bound, whatever the file count. The restored cluster starts and has every
# table and the incr's rows.
source "$(dirname "$0")/lib.sh"

BOUND_KIB=$((64 * 1024))
# AddressSanitizer keeps freed memory in quarantine (256 MiB by default),
# which would be measured as RSS; without quarantine, what is left is
# walden's memory plus the sanitizer's fixed overhead.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
TABLES=${TABLES:-34000}
PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "process-max=2"
pg_init "$PRIMARY"
walden "$T/walden.conf" --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
max_locks_per_transaction = 1024
CONF
pg_start "$PRIMARY"
for ((start = 1; start <= TABLES; start += 2000)); do
  psql_c "$PORT" "DO \$\$ BEGIN FOR i IN $start..$((start + 1999 < TABLES ? start + 1999 : TABLES)) LOOP
    EXECUTE format('CREATE TABLE t%s (v text)', i); END LOOP; END \$\$"
done
files=$(find "$PRIMARY" -type f | wc -l)
((files > 100000)) || fail "only $files files"
pass "cluster with $files files"

as_pg /usr/bin/time -f '%M' -o "$T/rss" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --pgdata "$PRIMARY" backup >"$T/backup.out" ||
  fail "backup failed: $(cat "$T/backup.out")"
rss=$(tail -1 "$T/rss")
echo "backup: $(cat "$T/backup.out"); peak RSS $rss KiB"
((rss < BOUND_KIB)) || fail "backup peak RSS $rss KiB is over $BOUND_KIB KiB"
pass "backup of $files files: peak RSS $rss KiB (bound $BOUND_KIB KiB)"

psql_c "$PORT" "DO \$\$ BEGIN FOR i IN 1..$TABLES BY 97 LOOP
  EXECUTE format('INSERT INTO t%s VALUES (%L)', i, 'row of ' || i); END LOOP; END \$\$"
as_pg /usr/bin/time -f '%M' -o "$T/rss" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --pgdata "$PRIMARY" backup --type incr --full-fallback no >"$T/incr.out" ||
  fail "incr failed: $(cat "$T/incr.out")"
rss=$(tail -1 "$T/rss")
echo "incr: $(cat "$T/incr.out"); peak RSS $rss KiB"
grep -q "^backup [0-9TZ]* (incr of " "$T/incr.out" || fail "not an incr: $(cat "$T/incr.out")"
((rss < BOUND_KIB)) || fail "incr peak RSS $rss KiB is over $BOUND_KIB KiB"
pass "incr of $files files: peak RSS $rss KiB (bound $BOUND_KIB KiB)"

as_pg /usr/bin/time -f '%M' -o "$T/rss" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgdata "$T/restored" restore >"$T/restore.out" || fail "restore failed"
rss=$(tail -1 "$T/rss")
echo "restore: $(cat "$T/restore.out"); peak RSS $rss KiB"
((rss < BOUND_KIB)) || fail "restore peak RSS $rss KiB is over $BOUND_KIB KiB"
restored=$(find "$T/restored" -type f | wc -l)
((restored > 100000)) || fail "only $restored files restored"
pass "restore of $restored files: peak RSS $rss KiB (bound $BOUND_KIB KiB)"

pg_stop "$PRIMARY"
PORT2=$(next_port)
pg_configure "$T/restored" "$PORT2" <<<"archive_mode = off"
pg_start "$T/restored"
wait_recovered "$PORT2" "the restored cluster"
n=$(psql_c "$PORT2" "SELECT count(*) FROM pg_class WHERE relname ~ '^t[0-9]+$' AND relkind = 'r'")
[[ $n == "$TABLES" ]] || fail "restored cluster has $n tables, expected $TABLES"
# every table the incr's rows went into has exactly its own row
q=$(for i in $(seq 1 97 "$TABLES"); do printf "SELECT v = 'row of %s' AS ok FROM t%s UNION ALL " "$i" "$i"; done)
want=$(seq 1 97 "$TABLES" | wc -l)
got=$(psql_c "$PORT2" "SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM (${q% UNION ALL }) x")
[[ $got == "$want/$want" ]] || fail "the incr's rows: $got, expected $want/$want"
pass "the restored cluster starts with all $TABLES tables and the incr's rows"
finish
