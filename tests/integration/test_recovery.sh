#!/usr/bin/env bash
# A real point-in-time recovery through walden: a base backup taken with
# pg_basebackup without WAL, the primary archiving into an encrypted walden
# repository, then the backup restored with restore_command = walden
# archive-get. Recovery must replay from the archive up to the last
# archived transaction.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
RESTORED=$T/restored
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass"

archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
psql_c "$PORT" "CREATE TABLE t(id int primary key, note text)"
psql_c "$PORT" "INSERT INTO t SELECT g, 'before backup' FROM generate_series(1, 1000) g"

as_pg "$PG_BIN/pg_basebackup" -h "$T/sock" -p "$PORT" -U postgres -D "$RESTORED" -X none \
  -c fast --no-sync
pass "base backup taken without WAL (all WAL must come from walden)"

# work after the backup, spread over several segments
for i in 1 2 3; do
  psql_c "$PORT" "INSERT INTO t SELECT g, 'after backup $i' FROM generate_series($i * 10000, $i * 10000 + 5000) g"
  switch_wal "$PORT" >/dev/null
done
psql_c "$PORT" "INSERT INTO t VALUES (999999, 'last transaction')"
want=$(psql_c "$PORT" "SELECT count(*) FROM t")
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
pass "primary archived up to $last with $want rows"
pg_stop "$PRIMARY"

# restore: recovery.signal and restore_command = walden archive-get
as_pg touch "$RESTORED/recovery.signal"
pg_configure "$RESTORED" "$PORT2" <<CONF
archive_mode = off
restore_command = '$WALDEN_BIN --config $T/walden.conf archive-get %f "%p"'
recovery_target_timeline = 'latest'
CONF
pg_start "$RESTORED"
wait_recovered "$PORT2" "the restored cluster"
got=$(psql_c "$PORT2" "SELECT count(*) FROM t")
[[ $got -eq $want ]] || fail "restored cluster has $got rows, expected $want"
note=$(psql_c "$PORT2" "SELECT note FROM t WHERE id = 999999")
[[ $note == "last transaction" ]] || fail "the last archived transaction is missing"
pass "recovery replayed the archive: $got rows, last transaction present"

restored=$(grep -c 'restored log file' "$RESTORED.log" || true)
[[ $restored -ge 4 ]] || fail "the server log shows only $restored files restored from the archive"
! grep -q '^walden: ' "$RESTORED.log" || fail "walden reported errors during recovery"
pass "$restored WAL files came from walden archive-get"
pg_stop "$RESTORED"
finish
