#!/usr/bin/env bash
# label: slow
# Retention of diff and incr chains on a real PostgreSQL 15: backups full F,
# incr I1 (of F), incr I2 (of I1), diff D (of F), incr I3 (of D), a marker
# row committed before each. `walden info --output json` shows each one's
# type, reference, chain, own stored size and restored size. A window that
# starts between D and I3 with retention-full-min 0 alone would keep I3 and
# D only (D is the newest backup older than the window start); F is older
# than the window, yet D and I3 depend on it:
#   - expire --dry-run plans F kept ("needed by kept backup D"), I1 and I2
#     expired; expire removes exactly I1 and I2;
#   - F, D and I3 each still restore (--type immediate: their marker rows);
#   - a drill of I3 passes and its report names it an incr of D;
#   - info's JSON afterwards: the three, with their chains whole;
#   - a chain whose full is removed by hand: its members inside the window
#     stay and expire says why, info says the chain is broken, restore of
#     one refuses with the reason.
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
psql_c "$PORT" "CREATE TABLE filler AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g"

# py EXPR: evaluates a Python expression over the JSON document on stdin (j)
py() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

types=(full incr incr diff incr)
ids=()
for round in 1 2 3 4 5; do
  type=${types[round - 1]}
  psql_c "$PORT" "INSERT INTO marker VALUES ($round, clock_timestamp())"
  psql_c "$PORT" "UPDATE filler SET v = md5(v) WHERE id % 97 = $round"
  switch_wal "$PORT" >/dev/null
  # the window will start between D and I3: room for it
  [[ $round == 5 ]] && sleep 4
  W backup --type "$type" >"$T/backup$round.out" 2>"$T/backup$round.err" ||
    fail "backup $round ($type) failed: $(cat "$T/backup$round.out" "$T/backup$round.err")"
  id=$(awk '/^backup /{print $2; exit}' "$T/backup$round.out" | tr -d :)
  [[ -n $id ]] || fail "no backup id in: $(cat "$T/backup$round.out")"
  ids+=("$id")
  last=$(switch_wal "$PORT")
  wait_archived "$PORT" "$last"
  sleep 1.1 # ids are to the second
done
F=${ids[0]} I1=${ids[1]} I2=${ids[2]} D=${ids[3]} I3=${ids[4]}
pass "backups full $F, incr $I1, incr $I2, diff $D, incr $I3"

# ---- info: type, reference, chain, sizes
W info --output json >"$T/info.json" || fail "info failed"
py "[(b['id'], b['type'], b['reference'], b['chain'], b['chain_error']) for b in j['clusters'][0]['backups']] == [
 ('$F', 'full', None, ['$F'], None),
 ('$I1', 'incr', '$F', ['$F', '$I1'], None),
 ('$I2', 'incr', '$I1', ['$F', '$I1', '$I2'], None),
 ('$D', 'diff', '$F', ['$F', '$D'], None),
 ('$I3', 'incr', '$D', ['$F', '$D', '$I3'], None)]" <"$T/info.json" | grep -qx True ||
  fail "info JSON chains: $(cat "$T/info.json")"
# a diff or incr stores less than its full, and restores as much
py "all(b['stored_size'] < j['clusters'][0]['backups'][0]['stored_size'] and b['size'] > b['stored_size'] for b in j['clusters'][0]['backups'][1:])" \
  <"$T/info.json" | grep -qx True || fail "info JSON sizes: $(cat "$T/info.json")"
W info >"$T/info.txt" || fail "info (text) failed"
grep -q "reference $D, chain $F > $D > $I3" "$T/info.txt" || fail "text info: $(cat "$T/info.txt")"
pass "info (JSON and text) shows types, references, chains, stored beside restored size"

# ---- the window starts halfway between D's and I3's stop
stop_of() { py "[b for b in j['clusters'][0]['backups'] if b['id'] == '$1'][0]['stop_time']" <"$T/info.json"; }
epoch() { date -u -d "$1" +%s; }
tD=$(epoch "$(stop_of "$D")") tI3=$(epoch "$(stop_of "$I3")")
win_start=$(((tD + tI3 + 1) / 2))
window=$(($(date +%s) - win_start))s
EXP=(--retention "$window" --retention-full-min 0)

W expire --dry-run "${EXP[@]}" >"$T/dry.out" || fail "dry run failed: $(cat "$T/dry.out")"
grep -q "^keep    backup  $F: .*needed by kept backup $D" "$T/dry.out" ||
  fail "dry run does not keep $F for $D: $(cat "$T/dry.out")"
grep -q "^expire  backup  $I1: .*older than" "$T/dry.out" || fail "dry run keeps $I1: $(cat "$T/dry.out")"
grep -q "^expire  backup  $I2: .*older than" "$T/dry.out" || fail "dry run keeps $I2: $(cat "$T/dry.out")"
grep -q "^keep    backup  $D: .*needed to restore to the window start" "$T/dry.out" ||
  fail "dry run: $D: $(cat "$T/dry.out")"
grep -q "^keep    backup  $I3: .*inside" "$T/dry.out" || fail "dry run: $I3: $(cat "$T/dry.out")"
pass "expire --dry-run keeps $F (needed by $D), $D and $I3; expires $I1 and $I2"

W expire "${EXP[@]}" >"$T/expire.out" || fail "expire failed: $(cat "$T/expire.out")"
remaining=$(ls "$T/repo/main/backup" | sort | tr '\n' ' ')
[[ $remaining == "$F $D $I3 " ]] || fail "backups left: '$remaining', expected '$F $D $I3 '"
W info --output json >"$T/info2.json" || fail "info failed"
py "[(b['id'], b['chain'], b['chain_error']) for b in j['clusters'][0]['backups']] == [
 ('$F', ['$F'], None), ('$D', ['$F', '$D'], None), ('$I3', ['$F', '$D', '$I3'], None)]" \
  <"$T/info2.json" | grep -qx True || fail "info JSON after expire: $(cat "$T/info2.json")"
W verify >"$T/verify.out" 2>"$T/verify.err" ||
  fail "verify after expire failed: $(cat "$T/verify.out" "$T/verify.err")"
pass "expire removed exactly $I1 and $I2; info shows $F, $D, $I3 with whole chains; verify passes"

# ---- each kept backup restores: its own marker rows
n=0
for pair in "$F:1" "$D:1,2,3,4" "$I3:1,2,3,4,5"; do
  id=${pair%%:*} want=${pair#*:}
  n=$((n + 1))
  W --pgdata "$T/r$n" restore --set "$id" --type immediate --target-action promote \
    >"$T/restore$n.out" 2>"$T/restore$n.err" ||
    fail "restore of $id failed: $(cat "$T/restore$n.out" "$T/restore$n.err")"
  check_markers "restore of $id" "$T/r$n" "$want"
  pg_stop "$T/r$n"
  rm -rf "$T/r$n"
done
pass "$F, $D and $I3 each restore to their own marker rows"

# ---- a drill of the incr restores its chain and names it
as_pg mkdir "$T/scr"
W --scratch-dir "$T/scr" drill --set "$I3" --report "$T/drill.json" >"$T/drill.out" 2>"$T/drill.err" ||
  fail "drill of $I3 failed: $(cat "$T/drill.out" "$T/drill.err")"
grep -q "^drill .* of backup $I3: PASSED" "$T/drill.out" || fail "drill: $(cat "$T/drill.out")"
grep -q "^  backup: incr of $D (its chain restored with it)" "$T/drill.out" ||
  fail "drill does not name the type and reference: $(cat "$T/drill.out")"
py "j['backup_id'] == '$I3' and j['backup_type'] == 'incr' and j['backup_reference'] == '$D'" \
  <"$T/drill.json" | grep -qx True || fail "drill report: $(cat "$T/drill.json")"
W drill --history --output json >"$T/hist.json" || fail "drill --history failed"
py "[(d['backup_id'], d['backup_type'], d['backup_reference']) for d in j['drills']] == [('$I3', 'incr', '$D')]" \
  <"$T/hist.json" | grep -qx True || fail "drill history: $(cat "$T/hist.json")"
W drill --history >"$T/hist.txt" || fail "drill --history (text) failed"
grep -Eq "^20[0-9TZ]+ +$I3 +incr +passed " "$T/hist.txt" || fail "drill history (text): $(cat "$T/hist.txt")"
pass "drill of $I3 passed, its report and its record name it an incr of $D"

# ---- the full gone: the chain stays inside the window, and says why
rm -rf "${T:?}/repo/main/backup/$F"
W info --output json >"$T/info3.json" || fail "info failed"
py "[(b['id'], b['chain_error']) for b in j['clusters'][0]['backups']] == [
 ('$D', 'reference $F is missing'), ('$I3', \"$D's reference $F is missing\")]" \
  <"$T/info3.json" | grep -qx True || fail "info JSON without the full: $(cat "$T/info3.json")"
W info >"$T/info3.txt" || fail "info (text) failed"
grep -q "CHAIN BROKEN: cannot be restored: reference $F is missing" "$T/info3.txt" ||
  fail "text info without the full: $(cat "$T/info3.txt")"
W expire --dry-run --retention 1d >"$T/dry3.out" || fail "dry run failed: $(cat "$T/dry3.out")"
grep -q "^keep    backup  $I3: cannot be restored (prior $D not usable): kept while inside" "$T/dry3.out" ||
  fail "expire without the full: $(cat "$T/dry3.out")"
grep -q "^keep    backup  $D: cannot be restored (prior $F missing)" "$T/dry3.out" ||
  fail "expire without the full: $(cat "$T/dry3.out")"
expect_status 1 W --pgdata "$T/r-broken" restore --set "$I3"
stderr_has "backup $I3 cannot be restored: its chain is broken: $D's reference $F is missing"
[[ ! -e $T/r-broken ]] || fail "the refused restore wrote $T/r-broken"
pass "without $F: info says the chain is broken, expire keeps it inside the window and says why, restore refuses"

finish
