#!/usr/bin/env bash
# label: slow
# walden restore keeps to its own business, against a real PostgreSQL 15:
# bad recovery targets are refused before anything is written; without
# --set the newest backup whose WAL is in the archive is taken (and the
# newer one passed over is named); a stale recovery_target_time that the
# backup brought in postgresql.auto.conf neither stops an end-of-archive
# restore early nor clashes with --target-xid; a restored copy does not
# archive into the repository unless --archive-mode preserve; tablespace
# targets are checked (empty, no symlink, no overlap) before anything is
# written; a root restore takes the owner from the authenticated manifest,
# not from backup.info; fifos and folders where repository files belong
# are refused at once. Restores are checked by marker rows committed in a
# known order.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2" "expire-auto=no"
as_pg mkdir "$T/ts1" "$T/ts2" "$T/empty"

archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}
psql_c "$PORT" "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
psql_c "$PORT" "CREATE TABLESPACE ts2 LOCATION '$T/ts2'"
ts1=$(psql_c "$PORT" "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")
ts2=$(psql_c "$PORT" "SELECT oid FROM pg_tablespace WHERE spcname = 'ts2'")
psql_c "$PORT" "CREATE TABLE in_ts(id int) TABLESPACE ts1"
psql_c "$PORT" "INSERT INTO in_ts SELECT generate_series(1, 100)"
psql_c "$PORT" "CREATE TABLE marker(id int primary key)"
# what an earlier point-in-time restore of this cluster leaves behind: its
# target, in postgresql.auto.conf, which every later base backup copies
psql_c "$PORT" "ALTER SYSTEM SET recovery_target_time = '$(psql_c "$PORT" "SELECT now() - interval '1 minute'")'"
psql_c "$PORT" "ALTER SYSTEM SET recovery_target_action = 'shutdown'"

# backup A, marker 1 (in a segment of its own), backup B, markers 2 and 3
W backup >"$T/a.out" || fail "backup A failed: $(cat "$T/a.out")"
A=$(awk '/^backup /{print $2; exit}' "$T/a.out" | tr -d :)
psql_c "$PORT" "INSERT INTO marker VALUES (1)"
switch_wal "$PORT" >/dev/null
W backup >"$T/b.out" || fail "backup B failed: $(cat "$T/b.out")"
B=$(awk '/^backup /{print $2; exit}' "$T/b.out" | tr -d :)
xid2=$(psql_c "$PORT" "INSERT INTO marker VALUES (2); SELECT txid_current()")
psql_c "$PORT" "INSERT INTO marker VALUES (3)"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
pg_stop "$PRIMARY"
[[ -n $A && -n $B && $A != "$B" ]] || fail "two backups expected, got '$A' and '$B'"
pass "backups $A and $B, markers 1 (between them), 2 and 3 (after B, xid $xid2)"

objects() { find "$T/repo" -type f | sort; }

# ---- bad recovery targets: refused, one line, the target left untouched
bad_target() {
  local what=$1
  shift
  set +e
  walden "$T/walden.conf" --pgdata "$T/empty" restore "$@" >"$T/stdout" 2>"$T/stderr"
  local got=$?
  set -e
  [[ $got -eq 1 || $got -eq 2 ]] || fail "restore $* exited $got: $(cat "$T/stderr")"
  stderr_has "$what"
  [[ -z $(ls -A "$T/empty") && $(stat -c %a "$T/empty") == 755 ]] ||
    fail "refused target $* touched the target directory"
  walden "$T/walden.conf" --pgdata "$T/new" restore "$@" >/dev/null 2>&1 &&
    fail "restore $* into a new directory succeeded"
  [[ ! -e $T/new ]] || fail "refused target $* created the target directory"
}
bad_target "--target-lsn" --target-lsn FFFFFFFFF/0
bad_target "--target-lsn" --target-lsn 0x1/0
bad_target "--target-time" --target-time "2026-02-30 10:00:00+00"
bad_target "no time zone" --target-time "2026-11-22 10:00:00"
bad_target "--target-time" --target-time "yesterday"
bad_target "--target-xid" --target-xid 0
bad_target "--target-xid" --target-xid -5
bad_target "--target-xid" --target-xid 18446744073709551616
bad_target "--target-timeline" --target-timeline 0 --target-xid 5
bad_target "--target-timeline" --target-timeline newest --target-xid 5
bad_target "target-name" --target-name ""
bad_target "--target-name" --target-name "$(printf 'n%.0s' $(seq 1 64))"
bad_target "one recovery target" --target-xid 5 --target-name x
bad_target "--target-action needs" --target-action promote
pass "14 bad targets refused with one line each, the target directory untouched"

# ---- end of the archive, with the stale recovery_target_time in the backup
as_pg mkdir "$T/m"
walden "$T/walden.conf" --pgdata "$T/r-end" --tablespace-map "$ts1=$T/m/end1" \
  --tablespace-map "$ts2=$T/m/end2" restore >"$T/out" 2>"$T/err" ||
  fail "restore to the end failed: $(cat "$T/err")"
grep -q "restored backup $B" "$T/out" || fail "restore did not take the newest backup: $(cat "$T/out")"
before=$(objects)
check_markers end "$T/r-end" "1,2,3"
grep -q "^#walden-restore-disabled# recovery_target_time = " "$T/r-end/postgresql.auto.conf" ||
  fail "the stale recovery_target_time is not commented out"
pass "end-of-archive restore of a backup carrying recovery_target_time: markers 1,2,3"
[[ $(psql_c "$PORT2" "SHOW archive_mode") == off ]] || fail "the restored copy archives"
grep -q "^archive_mode = off" "$T/r-end/postgresql.auto.conf" || fail "archive_mode = off not written"
psql_c "$PORT2" "INSERT INTO marker VALUES (100)"
psql_c "$PORT2" "SELECT pg_switch_wal()" >/dev/null
psql_c "$PORT2" "CHECKPOINT"
pg_stop "$T/r-end"
[[ $(objects) == "$before" ]] || fail "the restored copy wrote into the repository: $(diff <(echo "$before") <(objects))"
[[ -z $(find "$T/repo" -name '00000002.history*') ]] || fail "a timeline 2 history reached the repository"
pass "the promoted copy ran with archive_mode off: nothing reached the repository"
rm -rf "$T/r-end" "$T/m/end1" "$T/m/end2"

# ---- --target-xid despite the stale recovery_target_time
walden "$T/walden.conf" --pgdata "$T/r-xid" --tablespace-map "$ts1=$T/m/xid1" \
  --tablespace-map "$ts2=$T/m/xid2" restore --target-xid "$xid2" --target-action promote \
  >"$T/out" 2>"$T/err" || fail "restore to xid failed: $(cat "$T/err")"
check_markers xid "$T/r-xid" "1,2"
pg_stop "$T/r-xid"
pass "--target-xid with a stale recovery_target_time in the backup: markers 1,2"
rm -rf "$T/r-xid" "$T/m/xid1" "$T/m/xid2"

# ---- tablespace targets, each refused before anything is written
bad_ts() {
  local what=$1
  shift
  expect_status "$REFUSED" walden "$T/walden.conf" --pgdata "$PGD" restore "$@"
  stderr_has "$what"
  [[ ! -e $PGD && ! -e $T/m/a && -z $(ls -A "$T/empty") ]] || fail "refused restore ($*) wrote something"
}
REFUSED=1
PGD=$T/m/pg
as_pg mkdir "$T/real"
as_pg ln -s "$T/real" "$T/link"
bad_ts "is not empty" # recorded locations: the primary's, in use
bad_ts "is not empty" --tablespace-map "$ts1=$T/primary" --tablespace-map "$ts2=$T/m/b"
bad_ts "overlap" --tablespace-map "$ts1=$PGD/inside" --tablespace-map "$ts2=$T/m/b"
bad_ts "overlap" --tablespace-map "$ts1=$T/m" --tablespace-map "$ts2=$T/empty"
bad_ts "overlap" --tablespace-map "$ts1=$T/m/a" --tablespace-map "$ts2=$T/m/a/b"
bad_ts "symbolic link" --tablespace-map "$ts1=$T/link/a" --tablespace-map "$ts2=$T/m/b"
bad_ts "symbolic link" --tablespace-map "$ts1=$T/m/a" --tablespace-map "$ts2=$T/link"
# the data directory may be reached through a symlink, but it is compared
# with the tablespaces where it really is
PGD=$T/link/pg
bad_ts "overlap" --tablespace-map "$ts1=$T/real" --tablespace-map "$ts2=$T/m/b"
[[ -z $(ls -A "$T/real") ]] || fail "something was written through the link"
pass "tablespace targets refused: not empty, inside the data directory (also through a symlink) or another target, through a symlink"

# ---- root restore: the owner comes from the manifest, not backup.info
if [[ $(id -u) -eq 0 ]]; then
  info=$T/repo/main/backup/$B/backup.info
  cp -p "$info" "$T/info.saved"
  sed -i 's/^owner = .*/owner = nobody/' "$info"
  grep -q '^owner = nobody' "$info" || fail "cannot edit backup.info"
  # signed again with the area's own key (an edit by an outsider is refused
  # as failing authentication: test_forgery.sh): even a summary that
  # authenticates does not choose the owner
  sysid=$(sed -n 's/^system-identifier = //p' "$T/repo/main/cluster.conf")
  resign_text "$info" "$(sign_key_of "$T/walden.conf")" main "$sysid" "backup/$B/backup.info"
  "$WALDEN_BIN" --config "$T/walden.conf" --pgdata "$T/r-root" --set "$B" \
    --tablespace-map "$ts1=$T/m/root1" --tablespace-map "$ts2=$T/m/root2" restore >"$T/out" 2>"$T/err" ||
    fail "root restore failed: $(cat "$T/err")"
  [[ $(stat -c %U "$T/r-root") == postgres && $(stat -c %U "$T/r-root/PG_VERSION") == postgres &&
    $(stat -c %U "$T/m/root1") == postgres ]] ||
    fail "root restore gave the files to $(stat -c %U "$T/r-root" "$T/r-root/PG_VERSION" "$T/m/root1")"
  cp -p "$T/info.saved" "$info"
  rm -rf "$T/r-root" "$T/m/root1" "$T/m/root2"
  pass "root restore: owner postgres from the manifest, backup.info's 'nobody' ignored"
fi

# ---- a WAL segment of B's range gone: A is taken, and B is named
bstart=$(awk -F' = ' '/^start-wal/{print $2}' "$T/repo/main/backup/$B/backup.info")
seg=$(find "$T/repo/main/wal" -name "$bstart-*" -type f)
[[ -n $bstart && -n $seg ]] || fail "cannot find B's first segment '$bstart'"
mv "$seg" "$T/seg.saved"
walden "$T/walden.conf" --pgdata "$T/r-old" --tablespace-map "$ts1=$T/m/old1" \
  --tablespace-map "$ts2=$T/m/old2" restore >"$T/out" 2>"$T/err" ||
  fail "restore without B's WAL failed: $(cat "$T/err")"
grep -q "restored backup $A" "$T/out" || fail "restore did not fall back to $A: $(cat "$T/out")"
grep -q "skipping backup $B: WAL segment $bstart" "$T/err" || fail "no reason given for skipping $B: $(cat "$T/err")"
[[ $(grep -c . "$T/err") -eq 1 ]] || fail "expected one line about $B: $(cat "$T/err")"
check_markers old "$T/r-old" "1" # recovery ends at the gap, before B
pg_stop "$T/r-old"
rm -rf "$T/r-old" "$T/m/old1" "$T/m/old2"
pass "B's segment $bstart missing: restore took $A, said why, markers 1 (the archive ends at the gap)"
expect_status 1 walden "$T/walden.conf" --pgdata "$T/empty" restore --set "$B"
stderr_has "backup $B cannot be restored: WAL segment $bstart"
[[ -z $(ls -A "$T/empty") ]] || fail "the refused --set restore wrote into the target"
pass "--set $B without its WAL: refused, naming the segment"
mv "$T/seg.saved" "$seg"

# ---- fifos and folders where repository files belong: refused at once
# swap PATH KIND: puts a fifo (or a folder) where PATH was; unswap puts it back
swap() {
  mv "$1" "$1.saved"
  if [[ $2 == fifo ]]; then as_pg mkfifo "$1"; else as_pg mkdir "$1"; fi
}
unswap() { rm -rf "$1" && mv "$1.saved" "$1"; }
refused_at_once() {
  local path=$1 kind=$2
  shift 2
  swap "$path" "$kind"
  set +e
  timeout 20 "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" "$@" >"$T/stdout" 2>"$T/stderr"
  local got=$?
  set -e
  unswap "$path"
  [[ $got -ne 124 ]] || fail "walden $* hung on a $kind in place of $path"
  [[ $got -ne 0 ]] || fail "walden $* accepted a $kind in place of $path"
  stderr_has "$path"
  grep -q "is a $kind" "$T/stderr" || fail "message does not say what is wrong: $(cat "$T/stderr")"
}
info=$T/repo/main/backup/$B/backup.info
# backup.info is a summary: info says what is wrong and reads the manifest
for kind in fifo folder; do
  swap "$info" $kind
  set +e
  timeout 20 "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" info >"$T/stdout" 2>"$T/stderr"
  got=$?
  set -e
  unswap "$info"
  [[ $got -ne 124 ]] || fail "walden info hung on a $kind in place of backup.info"
  [[ $got -eq 0 ]] || fail "walden info failed on a $kind in place of backup.info: $(cat "$T/stderr")"
  grep -qF "'$info' is a $kind, not a regular file" "$T/stderr" ||
    fail "info does not say what is wrong with backup.info: $(cat "$T/stderr")"
  grep -q "$B" "$T/stdout" || fail "info does not list $B from its manifest: $(cat "$T/stdout")"
done
key=$(find "$T/repo" -maxdepth 2 -name 'key.conf' | head -1)
cluster=$(find "$T/repo" -maxdepth 2 -name 'cluster.conf' | head -1)
[[ -n $key && -n $cluster ]] || fail "no key.conf or cluster.conf in the repository"
refused_at_once "$key" fifo archive-get "$bstart" "$T/empty/x"
refused_at_once "$cluster" fifo info
refused_at_once "$seg" fifo archive-get "$bstart" "$T/empty/x"
data=$(find "$T/repo/main/backup/$B/data" -name 'PG_VERSION*' -type f | head -1)
[[ -n $data ]] || fail "no stored PG_VERSION in backup $B"
refused_at_once "$data" fifo --pgdata "$T/r-fifo" restore --set "$B" \
  --tablespace-map "$ts1=$T/m/f1" --tablespace-map "$ts2=$T/m/f2"
rm -rf "$T/r-fifo" "$T/m/f1" "$T/m/f2"
pass "fifos in place of backup.info, key.conf, cluster.conf, a WAL object, a data object, and a folder in place of backup.info: refused at once, naming them"

# ---- --archive-mode preserve: a restore that replaces the primary archives
walden "$T/walden.conf" --pgdata "$T/r-keep" --tablespace-map "$ts1=$T/m/keep1" \
  --tablespace-map "$ts2=$T/m/keep2" restore --archive-mode preserve >"$T/out" 2>"$T/err" ||
  fail "restore --archive-mode preserve failed: $(cat "$T/err")"
! grep -q "^archive_mode = off" "$T/r-keep/postgresql.auto.conf" || fail "preserve wrote archive_mode = off"
check_markers keep "$T/r-keep" "1,2,3"
[[ $(psql_c "$PORT2" "SHOW archive_mode") == on ]] || fail "preserve: archive_mode is not on"
for _ in $(seq 1 240); do
  [[ -n $(find "$T/repo" -name '00000002.history*') ]] && break
  sleep 0.25
done
[[ -n $(find "$T/repo" -name '00000002.history*') ]] || fail "preserve: the promoted copy did not archive its timeline history"
pg_stop "$T/r-keep"
pass "--archive-mode preserve: the promoted copy archived 00000002.history into the repository"
finish
