#!/usr/bin/env bash
# walden backup and restore against a real PostgreSQL 15, point in time:
# a cluster with data checksums and a tablespace, archiving into an
# encrypted repository, pgbench running during the backup. After the
# backup, marker rows are committed at known times; restores to a time
# between two markers, to an LSN, to a named restore point, to the end of
# the archive and to "immediate" must each show exactly the expected rows
# and table contents (ordered checksums) once PostgreSQL has recovered.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2"

INITDB_ARGS=-k archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

as_pg mkdir "$T/ts1"
psql_c "$PORT" "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
ts_oid=$(psql_c "$PORT" "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")
psql_c "$PORT" "CREATE TABLE in_ts(id int, v text) TABLESPACE ts1"
psql_c "$PORT" "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"
psql_c "$PORT" "CREATE UNLOGGED TABLE scratch AS SELECT g FROM generate_series(1, 1000) g"
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s 6 -q postgres >/dev/null 2>&1

# ---- a flag backup does not take: refused with the usage status before
# anything is done (it once took a real backup and exited 0)
expect_status 2 W backup --target-time garbage --dry-run
stderr_has "option '--target-time' does not apply to backup (see walden help backup)"
[[ -z $(ls -A "$T/repo/main/backup" 2>/dev/null) ]] ||
  fail "a refused backup stored something: $(ls -A "$T/repo/main/backup")"
expect_status 2 W info --pgdata "$PRIMARY"
stderr_has "option '--pgdata' does not apply to info"
pass "backup --target-time is refused (status 2), nothing stored; info --pgdata too"

# ---- backup, with pgbench writing all along
# pgbench runs until the backup is done (however long that takes on a
# loaded machine), then it is stopped
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -c 2 -T 600 postgres \
  >"$T/pgbench.log" 2>&1 &
PGBENCH=$!
sleep 1
W backup >"$T/backup.out" || fail "backup failed: $(cat "$T/backup.out")"
pgrep -f "pgbench.*-p $PORT" >/dev/null || fail "pgbench was not running during the backup"
pkill -INT -f "pgbench.*-p $PORT" || true
wait "$PGBENCH" || true
for _ in $(seq 1 100); do
  pgrep -f "pgbench.*-p $PORT" >/dev/null || break
  sleep 0.1
done
grep -q "aborted\|FATAL" "$T/pgbench.log" && fail "pgbench failed: $(tail -3 "$T/pgbench.log")"
grep -q '^backup [0-9TZ]*: .* files, .* stored' "$T/backup.out" ||
  fail "no summary line: $(cat "$T/backup.out")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
pass "backup $id taken while pgbench ran: $(cat "$T/backup.out")"

# on a terminal: progress on stderr (script(1) gives it one)
script -qec "$(printf '%q ' "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --pgdata "$PRIMARY" backup)" /dev/null >"$T/tty.out" ||
  fail "backup on a terminal failed: $(cat "$T/tty.out")"
grep -q 'copy: .*%.*ETA' "$T/tty.out" || fail "no progress on a terminal: $(cat "$T/tty.out")"
grep -q '%' "$T/backup.out" && fail "progress printed when not on a terminal"
pass "progress (percent, bytes, rate, ETA) on a terminal only"

W info >"$T/info.out"
grep -q "$id  full  ok" "$T/info.out" || fail "info does not list $id as ok: $(cat "$T/info.out")"
pass "info lists the backup"

# the repository holds encrypted files only: no PostgreSQL page in clear
manifest=$(ls "$T/repo/main/backup/$id"/backup.manifest*)
[[ $(head -c 8 "$manifest") == WLDNENC1 ]] || fail "manifest is not encrypted"
[[ -z $(find "$T/repo/main/backup/$id/data" -path '*/pg_wal/*' -type f) ]] ||
  fail "pg_wal contents were backed up"
[[ -z $(find "$T/repo/main/backup/$id/data" -name 'postmaster.pid*') ]] ||
  fail "postmaster.pid was backed up"
scratch=$(psql_c "$PORT" "SELECT pg_relation_filepath('scratch')")
[[ -z $(find "$T/repo/main/backup/$id/data" -path "*/${scratch}.*" ! -name '*_init*') ]] ||
  fail "the unlogged table's main fork was backed up"
pass "excluded pg_wal contents, postmaster.pid and the unlogged table's data"
accounts=$(psql_c "$PORT" "SELECT pg_relation_filepath('pgbench_accounts')")
[[ -n $(find "$T/repo/main/backup/$id/parts/$accounts" -name '1.zst') ]] ||
  fail "pgbench_accounts ($(stat -c %s "$PRIMARY/$accounts") bytes) was not stored in parts"
pass "a file larger than the part size is stored in parts"

# ---- markers at known points after the backup
accounts_sum() {
  psql_c "$1" "SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts"
}
mark() { psql_c "$PORT" "INSERT INTO marker VALUES ($1, clock_timestamp())"; }
mark 1
mark 2
lsn_after_2=$(psql_c "$PORT" "SELECT pg_current_wal_insert_lsn()")
sum_at_2=$(accounts_sum "$PORT")
psql_c "$PORT" "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 7 = 0"
mark 3
sum_at_3=$(accounts_sum "$PORT")
sleep 0.2
target_time=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 0.2
psql_c "$PORT" "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 5 = 0"
xid_4=$(psql_c "$PORT" "INSERT INTO marker VALUES (4, clock_timestamp()); SELECT txid_current()")
sum_at_4=$(accounts_sum "$PORT")
psql_c "$PORT" "SELECT pg_create_restore_point('after_4')" >/dev/null
psql_c "$PORT" "UPDATE pgbench_accounts SET abalance = abalance - 3 WHERE aid % 3 = 0"
mark 5
sum_at_5=$(accounts_sum "$PORT")
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
ts_sum=$(psql_c "$PORT" "SELECT md5(string_agg(v, ',' ORDER BY id)) FROM in_ts")

# restore_and_check NAME WANT_MARKERS WANT_SUM [restore options...]
restore_and_check() {
  local name=$1 want=$2 sum=$3
  shift 3
  local dir=$T/r-$name
  walden "$T/walden.conf" --pgdata "$dir" --tablespace-map "$ts_oid=$T/ts-$name" \
    restore "$@" >"$T/restore.out" || fail "restore $name failed: $(cat "$T/restore.out")"
  [[ $(stat -c %a "$dir") == 700 ]] || fail "restored pgdata mode is $(stat -c %a "$dir")"
  [[ -f $dir/recovery.signal ]] || fail "no recovery.signal"
  [[ -f $dir/${scratch}_init && ! -e $dir/$scratch ]] ||
    fail "the unlogged table's init fork is missing, or its main fork restored"
  [[ $(readlink "$dir/pg_tblspc/$ts_oid") == "$T/ts-$name" ]] ||
    fail "tablespace link points to $(readlink "$dir/pg_tblspc/$ts_oid")"
  pg_configure "$dir" "$PORT2" <<<"archive_mode = off"
  pg_start "$dir" || { ls -la "$dir" >&2; cat "$dir.log" >&2; tail -20 "$dir/postgresql.auto.conf" >&2; fail "$name: server did not start"; }
  wait_recovered "$PORT2" "$name"
  local got
  got=$(psql_c "$PORT2" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker")
  [[ $got == "$want" ]] || fail "$name: markers '$got', expected '$want'"
  if [[ $sum != - ]]; then
    [[ $(accounts_sum "$PORT2") == "$sum" ]] || fail "$name: pgbench_accounts differ"
  fi
  [[ $(psql_c "$PORT2" "SELECT md5(string_agg(v, ',' ORDER BY id)) FROM in_ts") == "$ts_sum" ]] ||
    fail "$name: the table in the tablespace differs"
  [[ $(psql_c "$PORT2" "SELECT count(*) FROM scratch") == 0 ]] ||
    fail "$name: the unlogged table is not empty"
  pg_stop "$dir"
  rm -rf "$dir" "$T/ts-$name"
}

restore_and_check time "1,2,3" "$sum_at_3" --target-time "$target_time" --target-action promote
pass "restore to a time between markers 3 and 4: markers 1-3, accounts as at that time"
restore_and_check lsn "1,2" "$sum_at_2" --target-lsn "$lsn_after_2" --target-action promote
pass "restore to an LSN: markers 1-2"
restore_and_check name "1,2,3,4" "$sum_at_4" --target-name after_4 --target-action promote
pass "restore to a named restore point: markers 1-4"
restore_and_check xid "1,2,3,4" "$sum_at_4" --target-xid "$xid_4" --target-action promote
pass "restore to a transaction id: markers 1-4"
restore_and_check end "1,2,3,4,5" "$sum_at_5"
pass "restore to the end of the archive: markers 1-5"
restore_and_check immediate "" - --target immediate --target-action promote
pass "restore with --target immediate: consistent, no marker"

# a target before the backup ended: no backup can reach it
expect_status 1 walden "$T/walden.conf" --pgdata "$T/r-early" restore \
  --target-time "2000-01-01 00:00:00+00"
stderr_has "no backup ends before the target"
pass "a target older than every backup is refused"

# a non-empty target directory is refused and left alone
as_pg mkdir -p "$T/busy"
as_pg touch "$T/busy/keep"
expect_status 1 walden "$T/walden.conf" --pgdata "$T/busy" restore
stderr_has "is not empty"
[[ $(ls "$T/busy") == keep ]] || fail "the non-empty target was modified"
pass "a non-empty target directory is refused"

# a corrupted stored file fails the restore, naming the file
obj=$(find "$T/repo/main/backup/$id/data/base" -type f -size +20k | head -1)
rel=${obj#"$T/repo/main/backup/$id/data/"}
cp "$obj" "$T/saved"
flip_byte "$obj" 200
expect_status 1 walden "$T/walden.conf" --pgdata "$T/r-corrupt" restore --set "$id" \
  --tablespace-map "$ts_oid=$T/ts-corrupt"
stderr_has "${rel%.zst}"
cp "$T/saved" "$obj"
rm "$obj"
expect_status 1 walden "$T/walden.conf" --pgdata "$T/r-missing" restore --set "$id" \
  --tablespace-map "$ts_oid=$T/ts-missing"
stderr_has "missing its file '${rel%.zst}'"
cp "$T/saved" "$obj"
pass "a corrupted or missing stored file fails the restore, naming it"

finish
