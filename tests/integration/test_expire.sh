#!/usr/bin/env bash
# label: slow
# Retention on a real PostgreSQL 15 archiving through walden: three rounds
# of backup + dump + marker rows some seconds apart stand for days (the
# windows are given in seconds, so no clock is faked). `walden info
# --output json` is parsed to place the window start between the second
# and third backups; then
#   - expire --dry-run (text and JSON, parsed) plans to expire the first
#     backup and dump, keep the second (newest before the window start)
#     and third, and changes nothing;
#   - expire removes exactly that, and the WAL before the second backup's
#     start, keeping history files; afterwards a point-in-time restore to
#     just after the window start shows exactly the markers of that time;
#   - expire refuses to run while a backup holds the lock;
#   - with everything outside a 1 s window, the newest backup and the
#     newest dump of each database stay;
#   - backup with expire-auto expires by itself;
#   - info reports a gap in the archive.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2" "expire-auto=no"
archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}
psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"

# py EXPR: evaluates a Python expression over the JSON document on stdin (j)
py() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

for round in 1 2 3; do
  psql_c "$PORT" "INSERT INTO marker VALUES ($round, clock_timestamp())"
  switch_wal "$PORT" >/dev/null
  W backup >"$T/backup$round.out" || fail "backup $round failed: $(cat "$T/backup$round.out")"
  W dump --dbname postgres >"$T/dump$round.out" || fail "dump $round failed"
  psql_c "$PORT" "INSERT INTO marker VALUES ($((round * 10)), clock_timestamp())"
  last=$(switch_wal "$PORT")
  wait_archived "$PORT" "$last"
  [[ $round == 3 ]] || sleep 7
done
W info --output json >"$T/info.json"
ids=($(py "' '.join(b['id'] for b in j['clusters'][0]['backups'])" <"$T/info.json"))
[[ ${#ids[@]} == 3 ]] || fail "expected 3 backups: $(cat "$T/info.json")"
B1=${ids[0]} B2=${ids[1]} B3=${ids[2]}
[[ $(py "len(j['clusters'][0]['dumps'])" <"$T/info.json") == 6 ]] ||
  fail "expected 3 runs of 2 dumps: $(cat "$T/info.json")"
# the JSON contract's keys (docs/json.md)
py "all(k in j['clusters'][0] for k in ('name', 'system_id', 'pg_version', 'backups', 'dumps', 'wal', 'recovery_window'))
and isinstance(j['clusters'][0]['system_id'], str)
and all(k in b for b in j['clusters'][0]['backups'] for k in ('id', 'type', 'status', 'start_time', 'stop_time', 'start_lsn', 'stop_lsn', 'timeline', 'size', 'stored_size'))
and all(k in d for d in j['clusters'][0]['dumps'] for k in ('id', 'database', 'status', 'start_time', 'stop_time', 'size', 'stored_size'))
and all(k in j['clusters'][0]['wal'] for k in ('min', 'max', 'gaps'))
and j['clusters'][0]['recovery_window']['from'] is not None and j['clusters'][0]['wal']['gaps'] == []" \
  <"$T/info.json" | grep -qx True || fail "info JSON lacks contract keys: $(cat "$T/info.json")"
pass "info --output json parses, has every contract key; 3 backups $B1 $B2 $B3"

# the window starts halfway between the stop times of backups 2 and 3
stop_of() { py "[b for b in j['clusters'][0]['backups'] if b['id'] == '$1'][0]['stop_time']" <"$T/info.json"; }
epoch() { date -u -d "$1" +%s; }
t2=$(epoch "$(stop_of "$B2")") t3=$(epoch "$(stop_of "$B3")")
win_start=$(((t2 + t3) / 2))
window=$(($(date +%s) - win_start))s
EXP=(--retention "$window" --retention-dump "$window")
segments_before=$(find "$T/repo/main/wal" -type f -name '0*' | wc -l)

# ---- dry run: the plan, nothing changed
W expire --dry-run "${EXP[@]}" >"$T/dry.out"
grep -q "^expire  backup  $B1: " "$T/dry.out" || fail "dry run does not expire $B1: $(cat "$T/dry.out")"
grep -q "^keep    backup  $B2: .*window" "$T/dry.out" || fail "dry run does not keep $B2 for the window: $(cat "$T/dry.out")"
grep -q "^keep    backup  $B3: " "$T/dry.out" || fail "dry run does not keep $B3"
grep -q "^would expire 1 backups, 2 dumps" "$T/dry.out" || fail "dry-run summary: $(tail -1 "$T/dry.out")"
W expire --dry-run --output json "${EXP[@]}" >"$T/dry.json"
py "sorted(i['id'] for i in j['items'] if i['action'] == 'expire' and i['kind'] == 'backup') == ['$B1']
and j['dry_run'] and j['backups_expired'] == 1 and j['dumps_expired'] == 2 and j['wal_files_removed'] > 0" \
  <"$T/dry.json" | grep -qx True || fail "dry-run JSON: $(cat "$T/dry.json")"
[[ -d $T/repo/main/backup/$B1 && $(find "$T/repo/main/wal" -type f -name '0*' | wc -l) == "$segments_before" ]] ||
  fail "the dry run changed the repository"
pass "expire --dry-run: plans $B1 and the first dumps away with reasons (text and JSON), changes nothing"

# ---- expire
wal_from=$(py "[b for b in j['clusters'][0]['backups'] if b['id'] == '$B2'][0]['start_wal']" <"$T/info.json")
W expire "${EXP[@]}" >"$T/expire.out" || fail "expire failed: $(cat "$T/expire.out")"
grep -q "^expired 1 backups, 2 dumps, [1-9][0-9]* WAL files" "$T/expire.out" ||
  fail "expire summary: $(tail -1 "$T/expire.out")"
[[ ! -e $T/repo/main/backup/$B1 && -d $T/repo/main/backup/$B2 && -d $T/repo/main/backup/$B3 ]] ||
  fail "backups on disk: $(ls "$T/repo/main/backup")"
W info --output json >"$T/info2.json"
py "[b['id'] for b in j['clusters'][0]['backups']] == ['$B2', '$B3'] and len(j['clusters'][0]['dumps']) == 4" \
  <"$T/info2.json" | grep -qx True || fail "after expire: $(cat "$T/info2.json")"
older=$(find "$T/repo/main/wal" -type f -name '0*' ! -name '*.history*' | sed 's|.*/||; s|-.*||' |
  awk -v from="${wal_from:8}" 'substr($0, 9, 16) < from' | head -3)
[[ -z $older ]] || fail "WAL before $wal_from remains: $older"
[[ -n $(find "$T/repo/main/wal" -name "$wal_from-*") ]] || fail "the segment $wal_from was removed"
pass "expire removed $B1, the first dumps and the WAL before $wal_from; kept $B2, $B3"

# every point of the window is restorable: just after the window start
target=$(date -u -d "@$((win_start + 1))" '+%Y-%m-%d %H:%M:%S+00')
want=$(psql_c "$PORT" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker WHERE at <= '$target'")
W --pgdata "$T/restored" restore --target-time "$target" --target-action promote >"$T/restore.out" ||
  fail "restore failed: $(cat "$T/restore.out")"
grep -q "restored backup $B2" "$T/restore.out" || fail "restore did not use $B2: $(cat "$T/restore.out")"
pg_configure "$T/restored" "$PORT2" <<<"archive_mode = off"
pg_start "$T/restored"
wait_recovered "$PORT2" "restore to the window start"
got=$(psql_c "$PORT2" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker")
[[ $got == "$want" ]] || fail "restored markers '$got', expected '$want'"
pg_stop "$T/restored"
pass "restore to just after the window start ($target) from $B2: markers $got"

# ---- the lock: no expire while a backup runs
mkdir -p "$T/locks"
flock -o "$(lock_file "$T/locks" "$T/repo" main backup)" sleep 10 &
holder=$!
sleep 0.5
expect_status 1 W expire "${EXP[@]}"
stderr_has "another walden backup of cluster 'main' is running"
kill $holder 2>/dev/null || true
wait $holder 2>/dev/null || true
pass "expire refuses to run while the backup lock is held"

# ---- everything outside a 1 s window: the newest backup and dumps stay
W expire --retention 1s --retention-dump 1s --retention-full-min 0 >"$T/expire2.out" ||
  fail "expire failed: $(cat "$T/expire2.out")"
W info --output json >"$T/info3.json"
py "[b['id'] for b in j['clusters'][0]['backups']] == ['$B3'] and sorted(d['database'] or d['kind'] for d in j['clusters'][0]['dumps']) == ['globals', 'postgres']" \
  <"$T/info3.json" | grep -qx True || fail "after expiring everything: $(cat "$T/info3.json")"
[[ -n $(find "$T/repo/main/wal" -maxdepth 1 -name '*.history*') || $(psql_c "$PORT" "SELECT timeline_id FROM pg_control_checkpoint()") == 1 ]] ||
  fail "history files were removed"
pass "a 1 s window keeps the newest backup ($B3) and the newest dump of each database"

# ---- expire-auto after a backup
# (B4 or B5 is the newest backup before the 1 s window's start: B3 goes)
W backup >/dev/null || fail "backup 4 failed"
sleep 2
# not while a dump holds its lock (the backup itself succeeds), not with
# dry-run
# held until killed below: a backup on a loaded machine may outlast any
# fixed time
flock -o "$(lock_file "$T/locks" "$T/repo" main dump)" sleep 900 &
holder=$!
sleep 0.5
expect_status 0 W backup --expire-auto yes --retention 1s
grep -q "warning: expire after backup skipped: another walden dump" "$T/stderr" ||
  fail "no warning for the skipped expire: $(cat "$T/stderr")"
pkill -P $holder 2>/dev/null || true # its sleep, then flock itself
kill $holder 2>/dev/null || true
wait $holder 2>/dev/null || true
expect_status 0 W backup --expire-auto yes --retention 1s --dry-run
grep -q "^expired" "$T/stdout" && fail "the backup expired despite dry-run: $(cat "$T/stdout")"
[[ -d $T/repo/main/backup/$B3 ]] || fail "$B3 went despite the lock or dry-run"
pass "a backup skips its expire while a dump holds the lock (exit 0, warning) and with dry-run"
sleep 1
W backup --expire-auto yes --retention 1s --retention-full-min 1 >"$T/backup5.out" ||
  fail "backup failed: $(cat "$T/backup5.out")"
grep -q "^expired [1-9] backups" "$T/backup5.out" || fail "backup did not expire: $(cat "$T/backup5.out")"
[[ ! -e $T/repo/main/backup/$B3 ]] || fail "$B3 was not expired by the backup"
pass "backup with expire-auto expired the older backups: $(grep '^expired' "$T/backup5.out")"

# ---- a gap in the archive is reported
for i in 1 2 3; do psql_c "$PORT" "INSERT INTO marker VALUES ($((100 + i)), now())"; switch_wal "$PORT" >/dev/null; done
psql_c "$PORT" "INSERT INTO marker VALUES (99, now())"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
victim=$(find "$T/repo/main/wal" -type f -name '0*' ! -name '*.history*' ! -name '*.backup*' | sort | tail -2 | head -1)
rm "$victim"
vname=$(basename "$victim" | sed 's/-.*//')
W info --output json | py "[g['from'] for g in j['clusters'][0]['wal']['gaps']]" | grep -q "$vname" ||
  fail "the gap at $vname is not reported"
W info | grep -q "GAP on timeline 1: $vname" || fail "text info does not show the gap"
pass "a missing segment ($vname) shows as a gap in info"

finish
