#!/usr/bin/env bash
# label: slow
# Timelines that branch off, against a real PostgreSQL 15, checked by the
# exact set of marker rows (each marker's commit order is known):
#   1. disaster recovery: the primary is lost; the newest backup restored
#      with --archive-mode preserve becomes production on timeline 2 and
#      archives; an end-of-archive restore follows timeline 2 and has its
#      rows; info flags timeline 2 until it has a backup of its own;
#   2. a restored copy (default archive-mode): it promotes, writes, switches
#      WAL, and nothing of it reaches the repository;
#   3. a copy restored with --archive-mode preserve by mistake: it archives
#      timeline 3 while production goes on on timeline 2. While the copy
#      has archived only its history file, restore follows production and
#      says so; once both grow, restore and drill refuse naming both
#      timelines, info, check and verify flag it; --target-timeline 2 gives
#      production's rows, --target-timeline 3 picks the older backup that
#      can follow timeline 3 (the newest is on timeline 2 after the branch);
#   4. expire keeps the history files and the branch's segments;
#   5. a deleted history file: restore, drill, verify and check refuse.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2"

archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
psql_c "$PORT" "CREATE TABLE marker(id int primary key)"
psql_c "$PORT" "INSERT INTO marker VALUES (1)"

W() { walden "$T/walden.conf" "$@"; }
# info_text: walden info's text with its wrapped lines joined (a line that
# goes on is indented by 4 or more), one line per item for grep
info_text() {
  W info | awk 'NR > 1 && /^    / {sub(/^ +/, " "); printf "%s", $0; next}
                NR > 1 {print ""} {printf "%s", $0} END {print ""}'
}
markers() { psql_c "$1" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker"; }
# archived NAME: the archive holds WAL file NAME
archived() { W archive-list 2>/dev/null | grep -q "^$1"; }
# restore_start DIR PORT [restore options]: restores, starts the server and
# waits for it to leave recovery (it promotes at the end of the archive)
restore_start() {
  local dir=$1 port=$2
  shift 2
  W --pgdata "$dir" restore "$@" >"$T/restore.out" 2>"$T/restore.err" ||
    fail "restore into $dir failed: $(cat "$T/restore.err")"
  pg_configure "$dir" "$port" </dev/null
  pg_start "$dir"
  wait_recovered "$port" "the server restored into $dir"
}
# expect_markers PORT WANT WHAT
expect_markers() {
  local got
  got=$(markers "$1")
  [[ $got == "$2" ]] || fail "$3: marker rows {$got}, expected {$2}"
  pass "$3: marker rows {$got}"
}
backup_on() {
  W --pgport "$1" --pgdata "$2" backup >"$T/backup.out" 2>&1 || fail "backup failed: $(cat "$T/backup.out")"
  awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :
}

B1=$(backup_on "$PORT" "$PRIMARY")
psql_c "$PORT" "INSERT INTO marker VALUES (2)"
seg=$(switch_wal "$PORT")
wait_archived "$PORT" "$seg"
# ---- 1. disaster recovery: the primary is lost
pg_stop "$PRIMARY"
PROD=$T/prod
PROD_PORT=$(next_port)
restore_start "$PROD" "$PROD_PORT" --archive-mode preserve
grep -q "^recovery follows timeline 1: the archive has one timeline (1)" "$T/restore.out" ||
  fail "restore does not say which timeline it follows: $(cat "$T/restore.out")"
expect_markers "$PROD_PORT" "1,2" "disaster recovery to the end of the archive"
[[ $(psql_c "$PROD_PORT" "SELECT timeline_id FROM pg_control_checkpoint()") == 2 ]] ||
  psql_c "$PROD_PORT" "CHECKPOINT"
[[ $(psql_c "$PROD_PORT" "SELECT timeline_id FROM pg_control_checkpoint()") == 2 ]] ||
  fail "the new production is not on timeline 2"
psql_c "$PROD_PORT" "INSERT INTO marker VALUES (3)"
seg=$(switch_wal "$PROD_PORT")
wait_archived "$PROD_PORT" "$seg"
archived 00000002.history || fail "the new production did not archive 00000002.history"
pass "the new production archives timeline 2 (up to $seg)"

restore_start "$T/r1" "$(next_port)"
expect_markers "$(cat "$T/.last-port")" "1,2,3" "end-of-archive restore after a disaster recovery follows timeline 2"
grep -q "^recovery follows timeline 2: timeline 2 branched off timeline 1 at .* timeline 1 has no segment after that point" "$T/restore.out" ||
  fail "restore does not follow timeline 2: $(cat "$T/restore.out")"
grep -qx "recovery_target_timeline = '2'" "$T/r1/postgresql.auto.conf" ||
  fail "recovery_target_timeline 2 not written: $(tail -5 "$T/r1/postgresql.auto.conf")"
pg_stop "$T/r1"

info_text >"$T/info.out" || fail "info failed"
grep -q "^  timeline 2: branched off timeline 1 at " "$T/info.out" || fail "info shows no branch: $(cat "$T/info.out")"
grep -q "STRAY" "$T/info.out" || fail "info does not flag timeline 2 without a backup: $(cat "$T/info.out")"
pass "info shows timeline 2's branch and flags it while it has no backup"
B2=$(backup_on "$PROD_PORT" "$PROD")
info_text >"$T/info.out" || fail "info failed"
grep -q "STRAY" "$T/info.out" && fail "info still flags timeline 2 after its backup: $(cat "$T/info.out")"
grep -q "^  timeline 2: .*newest backup $B2" "$T/info.out" || fail "info does not name timeline 2's backup: $(cat "$T/info.out")"
pass "backup $B2 on timeline 2: no longer flagged"
psql_c "$PROD_PORT" "INSERT INTO marker VALUES (4)"
seg=$(switch_wal "$PROD_PORT")
wait_archived "$PROD_PORT" "$seg"

# ---- 2. a restored copy does not archive by default
COPY=$T/copy
COPY_PORT=$(next_port)
restore_start "$COPY" "$COPY_PORT"
expect_markers "$COPY_PORT" "1,2,3,4" "restored copy"
psql_c "$COPY_PORT" "INSERT INTO marker VALUES (100)"
switch_wal "$COPY_PORT" >/dev/null
psql_c "$COPY_PORT" "CHECKPOINT"
sleep 2
W archive-list >"$T/list.out"
grep -q "^00000003" "$T/list.out" && fail "the default copy archived: $(grep '^00000003' "$T/list.out")"
pass "a copy restored with the default archive-mode promoted, wrote and archived nothing"
pg_stop "$COPY"

# ---- 3. a copy restored with --archive-mode preserve by mistake
STRAY=$T/stray
STRAY_PORT=$(next_port)
restore_start "$STRAY" "$STRAY_PORT" --archive-mode preserve
for _ in $(seq 1 120); do archived 00000003.history && break; sleep 0.25; done
archived 00000003.history || fail "the stray copy did not archive its history file"
psql_c "$STRAY_PORT" "INSERT INTO marker VALUES (200)"
# production goes on
psql_c "$PROD_PORT" "INSERT INTO marker VALUES (5)"
seg=$(switch_wal "$PROD_PORT")
wait_archived "$PROD_PORT" "$seg"
# only the history file of timeline 3: production (timeline 2) is followed
restore_start "$T/r2" "$(next_port)"
expect_markers "$(cat "$T/.last-port")" "1,2,3,4,5" "only the parent grows: restore follows production"
grep -q "^recovery follows timeline 2: .*timeline 3 branched off timeline 2 at .* but has no segment while timeline 2 goes on" "$T/restore.out" ||
  fail "restore does not say it stays on timeline 2: $(cat "$T/restore.out")"
pg_stop "$T/r2"

seg=$(switch_wal "$STRAY_PORT")
wait_archived "$STRAY_PORT" "$seg"
[[ $seg == 00000003* ]] || fail "the stray copy archived $seg, not a timeline 3 segment"
psql_c "$PROD_PORT" "INSERT INTO marker VALUES (6)"
seg=$(switch_wal "$PROD_PORT")
wait_archived "$PROD_PORT" "$seg"
pg_stop "$STRAY"
pass "the stray copy archived timeline 3 while production archived on timeline 2"

expect_status 1 W --pgdata "$T/r3" restore
stderr_has "timelines 2 and 3 both grow after timeline 3 branched off timeline 2"
stderr_has "--target-timeline 2 or --target-timeline 3"
[[ ! -e $T/r3 ]] || [[ -z $(ls -A "$T/r3") ]] || fail "a refused restore wrote into its target"
pass "end-of-archive restore refuses to guess between timelines 2 and 3"
expect_status 1 W --pgdata "$T/r3" restore --target-time "$(date -u '+%Y-%m-%d %H:%M:%S+00')"
stderr_has "timelines 2 and 3 both grow"
pass "a restore to a time refuses too"

D() { W --pgport "$PROD_PORT" --scratch-dir "$T/scr" drill "$@"; }
mkdir -p "$T/scr" && chmod 0777 "$T/scr"
expect_status 4 D
grep -q "timelines 2 and 3 both grow" "$T/stdout" || fail "the drill does not say why: $(cat "$T/stdout")"
pass "the drill refuses to guess between timelines 2 and 3 (status 4)"
cat >"$T/prod.sql" <<'SQL'
SELECT string_agg(id::text, ',' ORDER BY id) = '1,2,3,4,5,6' FROM marker;
SQL
chmod 0644 "$T/prod.sql"
expect_status 0 D --target-timeline 2 --check-sql "$T/prod.sql" --report "$T/tl2.json"
grep -q "timeline: follows 2: --target-timeline 2" "$T/stdout" || fail "the drill does not say which timeline: $(cat "$T/stdout")"
python3 -c "import json, sys; d = json.load(open(sys.argv[1]))
assert d['timeline'] == 2 and d['timeline_reason'].startswith('--target-timeline 2'), d" "$T/tl2.json" ||
  fail "the drill's JSON report does not say which timeline: $(cat "$T/tl2.json")"
pass "drill --target-timeline 2 passes with production's rows exactly"

info_text >"$T/info.out" || fail "info failed"
grep -q "^  timeline 3: branched off timeline 2 at .*STRAY" "$T/info.out" ||
  fail "info does not flag timeline 3: $(cat "$T/info.out")"
grep -q "both grow" "$T/info.out" || fail "info does not say that restore refuses: $(cat "$T/info.out")"
W info --output json >"$T/info.json" || fail "info --output json failed"
python3 - "$T/info.json" <<'PY' || fail "info JSON: $(cat "$T/info.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["clusters"][0]
tl = {t["timeline"]: t for t in c["timelines"]}
assert sorted(tl) == [1, 2, 3], tl
assert tl[3]["parent"] == 2 and tl[3]["stray"] is True and tl[3]["grows"] is True, tl[3]
assert tl[2]["parent"] == 1 and tl[2]["stray"] is False and tl[2]["newest_backup"], tl[2]
assert tl[3]["newest_wal"].startswith("00000003"), tl[3]
assert c["timeline_follow"] is None and "both grow" in c["timeline_reason"], c
PY
pass "info (text and JSON) shows the branch, flags timeline 3 and the refusal"
expect_status 3 W verify
grep -q "timelines 2 and 3 both grow" "$T/stdout" || fail "verify does not report the conflict: $(cat "$T/stdout")"
grep -q "timeline 3 .*no backup of its own" "$T/stdout" || fail "verify does not flag timeline 3: $(cat "$T/stdout")"
pass "verify reports the conflict and the stray timeline (status 3)"
expect_status 1 W --pgport "$PROD_PORT" --pgdata "$PROD" check
grep -q "^PROBLEM timelines .*both grow" "$T/stdout" || fail "check does not report the conflict: $(cat "$T/stdout")"
pass "check reports the conflict"

B3=$(backup_on "$PROD_PORT" "$PROD")
psql_c "$PROD_PORT" "INSERT INTO marker VALUES (7)"
seg=$(switch_wal "$PROD_PORT")
wait_archived "$PROD_PORT" "$seg"
restore_start "$T/r4" "$(next_port)" --target-timeline 2
expect_markers "$(cat "$T/.last-port")" "1,2,3,4,5,6,7" "--target-timeline 2: production's rows"
grep -q "restored backup $B3 " "$T/restore.out" || fail "--target-timeline 2 did not take the newest backup: $(cat "$T/restore.out")"
pg_stop "$T/r4"
restore_start "$T/r5" "$(next_port)" --target-timeline 3
expect_markers "$(cat "$T/.last-port")" "1,2,3,4,200" "--target-timeline 3: the copy's timeline, as asked"
grep -q "restored backup $B2 " "$T/restore.out" ||
  fail "--target-timeline 3 did not choose $B2 (the newest backup on its history): $(cat "$T/restore.out")"
grep -q "skipping backup $B3: it is on timeline 2" "$T/restore.err" ||
  fail "--target-timeline 3 does not say why it passed over $B3: $(cat "$T/restore.err")"
pg_stop "$T/r5"
expect_status 1 W --pgdata "$T/r6" restore --target-timeline 3 --set "$B3"
stderr_has "backup $B3 cannot recover along timeline 3"
pass "--set with a backup that cannot follow --target-timeline is refused"

# ---- 5. a deleted history file
mkdir "$T/aside"
mv "$T"/repo/main/wal/00000003.history-* "$T/aside/"
archived 00000003.history && fail "the history file is still there"
expect_status 1 W --pgdata "$T/r7" restore
stderr_has "timeline 3 has segments in the archive but its history file 00000003.history is missing"
expect_status 4 D
grep -q "00000003.history is missing" "$T/stdout" || fail "the drill does not refuse: $(cat "$T/stdout")"
expect_status 3 W verify
grep -q "00000003.history is missing" "$T/stdout" || fail "verify does not report it: $(cat "$T/stdout")"
expect_status 1 W --pgport "$PROD_PORT" --pgdata "$PROD" check
grep -q "^PROBLEM timelines .*00000003.history is missing" "$T/stdout" || fail "check does not report it: $(cat "$T/stdout")"
pass "a deleted history file: restore, drill, verify and check refuse or report it"
mv "$T"/aside/* "$T/repo/main/wal/"
archived 00000003.history || fail "the history file was not put back"

# ---- 4. expire: history files stay; the branch's segments go by the same
# rule as any (before the oldest kept backup's start); with timeline 3's
# segments gone, timeline 3 no longer grows and restore follows production
W expire --retention 1s --retention-full-min 1 >"$T/expire.out" 2>&1 || fail "expire failed: $(cat "$T/expire.out")"
W archive-list >"$T/list.out"
for h in 00000002.history 00000003.history; do
  grep -q "^$h" "$T/list.out" || fail "expire removed $h"
done
grep "^00000003" "$T/list.out" | grep -qv history && fail "timeline 3's segments before $B3 are still there"
info_text >"$T/info.out"
grep -q "^  timeline 2: .*newest backup $B3" "$T/info.out" || fail "info after expire: $(cat "$T/info.out")"
restore_start "$T/r8" "$(next_port)"
expect_markers "$(cat "$T/.last-port")" "1,2,3,4,5,6,7" "after expire: end-of-archive restore follows production"
grep -q "^recovery follows timeline 2: .*timeline 3 branched off timeline 2 at .* but has no segment" "$T/restore.out" ||
  fail "restore after expire: $(cat "$T/restore.out")"
pg_stop "$T/r8"

pg_stop "$PROD"
finish
