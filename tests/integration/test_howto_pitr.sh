#!/usr/bin/env bash
# label: slow
# docs/howto-pitr.md run as written, against a real PostgreSQL 15: a table
# dropped after a known marker row; walden info, pg_createcluster, the
# restore to a time just before the DROP with --target-action promote,
# pg_ctlcluster start and the SELECT of step 3 give exactly the rows
# committed before the target. Then what the how-to says of --target-action
# pause: the paused recovery holds the DROP's lock (a SELECT runs into its
# lock timeout), and pg_wal_replay_resume() ends recovery with the table
# back. Needs root (pg_createcluster) and postgresql-common.
source "$(dirname "$0")/lib.sh"
unset PGHOST PGPORT PGHOSTADDR

need_debian_tools

PRIMARY=$T/primary
PORT=$(next_port)
RPORT=$(next_port)
RNAME=restored$$
RDATA=/var/lib/postgresql/15/$RNAME
drop_restored() {
  local rc=$?
  pg_dropcluster --stop 15 "$RNAME" >/dev/null 2>&1 || true
  rm -rf "$RDATA"
  cleanup "$rc"
}
trap drop_restored EXIT

new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "expire-auto=no" "pgdata=$PRIMARY"
# `walden` as the how-to runs it: sudo -u postgres walden ... with the
# config at its place (here given by --config)
pg_init "$PRIMARY"
walden "$T/walden.conf" init >/dev/null
# no autovacuum: its commits would come between the target and the DROP.
# The settings go into the primary's postgresql.conf, as on a server set up
# by hand: pg_configure's postgresql.auto.conf (ALTER SYSTEM's file) comes
# with the backup and would override the copy's own port and socket
# (docs/debian.md)
as_pg mkdir -p "$T/sock"
as_pg tee -a "$PRIMARY/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
port = $PORT
fsync = off
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
autovacuum = off
CONF
pg_start "$PRIMARY"
psql_c "$PORT" "CREATE TABLE important(id int primary key)"
psql_c "$PORT" "INSERT INTO important VALUES (1), (2)"
walden "$T/walden.conf" backup >/dev/null 2>"$T/err" || fail "backup failed: $(cat "$T/err")"
psql_c "$PORT" "INSERT INTO important VALUES (3)"
psql_c "$PORT" "INSERT INTO important VALUES (4)"
# the target: after marker 4's commit; the DROP is the next commit
TARGET=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
psql_c "$PORT" "DROP TABLE important"
psql_c "$PORT" "CREATE TABLE later(id int)"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
pass "important: rows 1,2 before the backup, 3,4 after it, dropped after $TARGET"

# step 1
walden "$T/walden.conf" info >"$T/info" 2>&1 || fail "walden info failed: $(cat "$T/info")"
grep -q "^recoverable: " "$T/info" || fail "walden info shows no recovery window: $(cat "$T/info")"
pass "step 1: walden info shows the recovery window"

# step 2
step2() {
  pg_createcluster 15 "$RNAME" -p "$RPORT" >/dev/null
  rm -rf "$RDATA"
  walden "$T/walden.conf" restore --pgdata "$RDATA" \
    --target-time "$TARGET" --target-action "$1" >"$T/out" 2>"$T/err" ||
    fail "step 2 ($1): restore failed: $(cat "$T/err")"
}
step2 promote
pass "step 2: pg_createcluster, rm -rf, walden restore --target-time --target-action promote"

# step 3
rpsql() { as_pg psql -p "$RPORT" -XAtq -v ON_ERROR_STOP=1 "$@"; }
pg_ctlcluster 15 "$RNAME" start || fail "step 3: pg_ctlcluster start failed"
wait_until f "step 3: in recovery" rpsql -c "SELECT pg_is_in_recovery()"
[[ $(rpsql -c 'SELECT count(*) FROM important') == 4 ]] || fail "step 3: the count is not 4"
got=$(rpsql -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM important")
[[ $got == 1,2,3,4 ]] || fail "step 3: rows '$got', expected 1,2,3,4"
[[ -z $(rpsql -c "SELECT to_regclass('later')") ]] || fail "step 3: a table created after the DROP is there"
[[ $(rpsql -c "SHOW archive_mode") == off ]] || fail "step 3: the copy archives"
pass "step 3: pg_ctlcluster start, SELECT count(*) FROM important: rows 1,2,3,4, nothing after the target"

# "try another target": stop, remove, restore again; here with pause, to
# show what the how-to says of it
pg_ctlcluster 15 "$RNAME" stop
pg_dropcluster 15 "$RNAME"
step2 pause
pg_ctlcluster 15 "$RNAME" start || fail "pause: pg_ctlcluster start failed"
wait_until paused "pause: replay state" rpsql -c "SELECT pg_get_wal_replay_pause_state()"
set +e
rpsql -c "SET lock_timeout = '2s'" -c "SELECT count(*) FROM important" >"$T/out" 2>"$T/err"
st=$?
set -e
[[ $st -ne 0 ]] && grep -q "lock timeout" "$T/err" ||
  fail "pause: the SELECT did not wait for the DROP's lock (status $st: $(cat "$T/out" "$T/err"))"
rpsql -c "SELECT pg_wal_replay_resume()" >/dev/null
wait_until f "pause: in recovery after resume" rpsql -c "SELECT pg_is_in_recovery()"
got=$(rpsql -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM important")
[[ $got == 1,2,3,4 ]] || fail "pause: rows '$got' after resume, expected 1,2,3,4"
pass "pause at the target: the SELECT runs into the DROP's lock; after pg_wal_replay_resume() rows 1,2,3,4"
pg_dropcluster --stop 15 "$RNAME"
finish
