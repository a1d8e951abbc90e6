#!/usr/bin/env bash
# label: slow
# Restores that can only be exactly right or refused, against a real
# PostgreSQL 15, checked by marker rows committed in a known order:
# --set with a backup that ends after the target (time, LSN, xid) is
# refused, naming the backup that can reach it; without --set the backup
# that ends before the target is taken; --type immediate stops at the
# backup's consistency point; --type standby streams from its primary;
# backup's and restore's types are kept apart. The config names neither
# pghost nor pgport: backup connects where pgdata's postmaster.pid says.
source "$(dirname "$0")/lib.sh"
unset PGHOST PGPORT PGHOSTADDR

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pguser=postgres" "process-max=2" "expire-auto=no" "pgdata=$PRIMARY"

archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() { walden "$T/walden.conf" "$@"; }
psql_c "$PORT" "CREATE TABLE marker(id int primary key)"

# marker 1, backup A, marker 2 (its xid, the time and LSN after its commit),
# backup B, marker 3
psql_c "$PORT" "INSERT INTO marker VALUES (1)"
W backup >"$T/a.out" 2>"$T/a.err" || fail "backup A failed: $(cat "$T/a.out" "$T/a.err")"
A=$(awk '/^backup /{print $2; exit}' "$T/a.out" | tr -d :)
xid2=$(psql_c "$PORT" "INSERT INTO marker VALUES (2); SELECT txid_current()")
T2=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '+00'")
L2=$(psql_c "$PORT" "SELECT pg_current_wal_lsn()")
switch_wal "$PORT" >/dev/null
W backup >"$T/b.out" 2>"$T/b.err" || fail "backup B failed: $(cat "$T/b.out" "$T/b.err")"
B=$(awk '/^backup /{print $2; exit}' "$T/b.out" | tr -d :)
psql_c "$PORT" "INSERT INTO marker VALUES (3)"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
[[ -n $A && -n $B && $A != "$B" ]] || fail "two backups expected, got '$A' and '$B'"
pass "backups $A and $B taken with neither pghost nor pgport set (postmaster.pid's socket and port $PORT)"
W check >"$T/out" 2>"$T/err" || fail "check failed: $(cat "$T/out" "$T/err")"
grep -q "^ok *postgresql" "$T/out" || fail "check did not report the server: $(cat "$T/out")"
pass "check reaches the server on port $PORT in $T/sock with neither pghost nor pgport set"

# the backups record where their transactions end
for id in "$A" "$B"; do
  grep -q '^end-xmin = [0-9]' "$T/repo/main/backup/$id/backup.info" ||
    fail "backup $id does not record end-xmin: $(cat "$T/repo/main/backup/$id/backup.info")"
done
bx=$(sed -n 's/^end-xmin = //p' "$T/repo/main/backup/$B/backup.info")
[[ $bx -gt $xid2 ]] || fail "backup B's end-xmin $bx is not past marker 2's xid $xid2"
pass "end-xmin recorded ($B: $bx, past marker 2's xid $xid2)"

# restore_refused WHAT ARGS...: restore exits 1 with one line holding WHAT, and
# writes nothing
restore_refused() {
  local what=$1
  shift
  expect_status "${STATUS:-1}" walden "$T/walden.conf" --pgdata "$T/new" restore "$@"
  stderr_has "$what"
  [[ ! -e $T/new ]] || fail "refused restore $* created the target directory"
}

# ---- --set B with a target before B's end: refused, naming A
restore_refused "backup $B ends at " --set "$B" --target-time "$T2" --target-action promote
stderr_has "after the target time '$T2'"
stderr_has "restore backup $A"
restore_refused "backup $B ends at LSN " --set "$B" --target-lsn "$L2"
stderr_has "restore backup $A (it ends at LSN"
restore_refused "backup $B ends after transaction $xid2" --set "$B" --target-xid "$xid2"
stderr_has "restore backup $A"
pass "--set $B before its end refused for a time, an LSN and an xid, naming $A"
# the epoch-qualified form of the same xid is the same transaction
epoch_xid=$(psql_c "$PORT" "SELECT (txid_current() >> 32) * 4294967296 + $xid2")
restore_refused "backup $B ends after transaction" --set "$B" --target-xid "$epoch_xid"
# ... and with a target before every backup, none can reach it
early=$(psql_c "$PORT" "SELECT to_char((now() - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00'")
restore_refused "no backup of the cluster ends before the target" --set "$A" --target-time "$early"
restore_refused "no backup ends before the target" --target-time "$early"
pass "a target before every backup is refused, with --set and without"

# ---- the same targets without --set: A is chosen, the markers are 1,2
# restore_chose_a NAME TARGET...: restore into $T/r-NAME chose A and holds 1,2
restore_chose_a() {
  local name=$1 dir=$T/r-$1
  shift
  W --pgdata "$dir" restore "$@" --target-action promote >"$T/out" 2>"$T/err" ||
    fail "restore to $name $* failed: $(cat "$T/err")"
  grep -q "restored backup $A" "$T/out" || fail "the target $name did not choose $A: $(cat "$T/out")"
  check_markers "$name" "$dir" "1,2"
  pg_stop "$dir"
}
restore_chose_a time --target-time "$T2"
pass "--target-time without --set chose $A: markers 1,2"
restore_chose_a lsn --target-lsn "$L2"
restore_chose_a xid --target-xid "$xid2"
pass "--target-lsn and --target-xid without --set chose $A: markers 1,2"
rm -rf "$T/r-time" "$T/r-lsn" "$T/r-xid"

# ---- a backup without end-xmin (an older walden's): said, not refused
info=$T/repo/main/backup/$B/backup.info
cp -p "$info" "$T/info.saved"
grep -v '^end-xmin = ' "$T/info.saved" | as_pg tee "$info" >/dev/null
sysid=$(sed -n 's/^system-identifier = //p' "$T/repo/main/cluster.conf")
resign_text "$info" "$(sign_key_of "$T/walden.conf")" main "$sysid" "backup/$B/backup.info"
W --pgdata "$T/r-old" restore --set "$B" --target-xid "$((bx + 1000))" >"$T/out" 2>"$T/err" ||
  fail "restore of a backup without end-xmin failed: $(cat "$T/err")"
grep -q "cannot be checked" "$T/err" || fail "no warning that the xid cannot be checked: $(cat "$T/err")"
cp -p "$T/info.saved" "$info"
rm -rf "$T/r-old"
pass "a backup without end-xmin: the xid target is taken, with a warning that it cannot be checked"

# ---- --type immediate: the rows of A's consistency point
W --pgdata "$T/r-imm" restore --set "$A" --type immediate --target-action promote >"$T/out" 2>"$T/err" ||
  fail "immediate restore failed: $(cat "$T/err")"
grep -q "^recovery_target = 'immediate'" "$T/r-imm/postgresql.auto.conf" ||
  fail "no recovery_target = 'immediate' written"
check_markers immediate "$T/r-imm" "1"
pg_stop "$T/r-imm"
rm -rf "$T/r-imm"
pass "--type immediate of $A: markers 1 (marker 2 came after its end)"

# ---- --type default: the end of the archive
W --pgdata "$T/r-def" restore --type default >"$T/out" 2>"$T/err" ||
  fail "default restore failed: $(cat "$T/err")"
grep -q "restored backup $B" "$T/out" || fail "the default restore did not take $B: $(cat "$T/out")"
check_markers default "$T/r-def" "1,2,3"
pg_stop "$T/r-def"
rm -rf "$T/r-def"
pass "--type default: end of the archive, markers 1,2,3"

# ---- types of the other command, and contradictions: refused
STATUS=1
STATUS=2 restore_refused "invalid value for option 'type' of restore: 'full'" --type full
restore_refused "--type standby follows its primary" --type standby --target-time "$T2"
restore_refused "--type immediate ends recovery where the backup becomes consistent" --type immediate --target-xid "$xid2"
restore_refused "--primary-conninfo is for --type standby" --primary-conninfo "host=x"
restore_refused "--target-action needs" --type standby --target-action promote
unset STATUS
expect_status 2 W backup --type standby
stderr_has "invalid value for option 'type' of backup: 'standby'"
expect_status 2 W backup --type incremental
stderr_has "incremental"
# a config file that both commands read may hold either's type
write_conf "$T/both.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "lock-path=$T/locks" \
  "pguser=postgres" "expire-auto=no" "pgdata=$PRIMARY" "type=full"
walden "$T/both.conf" --pgdata "$T/r-both" restore --set "$A" >/dev/null 2>"$T/err" ||
  fail "restore with type = full in the config file failed: $(cat "$T/err")"
[[ -f $T/r-both/recovery.signal ]] || fail "type = full in the config file did not make a default restore"
rm -rf "$T/r-both"
pass "restore refuses backup's type and contradicting targets; backup refuses restore's types"

# ---- --type standby: streams from the primary
conninfo="host=$T/sock port=$PORT user=postgres application_name=stby password=notlogged"
W --pgdata "$T/stby" --log-level debug restore --type standby --primary-conninfo "$conninfo" \
  >"$T/out" 2>"$T/err" || fail "standby restore failed: $(cat "$T/err")"
grep -q "to run it as a standby" "$T/out" || fail "the output does not say standby: $(cat "$T/out")"
! grep -q notlogged "$T/out" "$T/err" || fail "walden printed the primary_conninfo's password"
[[ -f $T/stby/standby.signal && ! -e $T/stby/recovery.signal ]] || fail "standby.signal expected, alone"
grep -qF "primary_conninfo = '$conninfo'" "$T/stby/postgresql.auto.conf" ||
  fail "primary_conninfo not written: $(cat "$T/stby/postgresql.auto.conf")"
pg_configure "$T/stby" "$PORT2" </dev/null
pg_start "$T/stby"
[[ $(psql_c "$PORT2" "SELECT pg_is_in_recovery()") == t ]] || fail "the standby is not in recovery"
psql_c "$PORT" "INSERT INTO marker VALUES (4)"
wait_until 1,2,3,4 "marker 4 on the standby (markers)" \
  psql_c "$PORT2" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker"
[[ $(psql_c "$PORT" "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'stby' AND state = 'streaming'") == 1 ]] ||
  fail "the primary has no streaming standby"
[[ $(psql_c "$PORT2" "SELECT pg_is_in_recovery()") == t ]] || fail "the standby left recovery"
pass "--type standby: marker 4, inserted on the primary after the restore, streamed to the standby, still in recovery"
pg_stop "$T/stby"
pg_stop "$PRIMARY"
finish
