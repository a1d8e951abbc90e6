#!/usr/bin/env bash
# walden repo-upgrade against a real PostgreSQL 15 and an encrypted area of
# format 1. This walden writes format 2 only, so the test makes a format-1
# area the documented way: it archives WAL, takes a backup and a dump in
# format 2, then tests/tools/format1.c (walden_format1) rewrites the area as
# an earlier walden wrote it (no signatures, unsigned WAL names, key.conf of
# format 1, no signing key file). Then:
#   - every command that reads the area refuses it, names walden
#     repo-upgrade, and allow-unauthenticated still reads it;
#   - a forged WAL segment (a genuine object under another segment's name:
#     its page header does not match) and a damaged dump file are reported,
#     one line each, not signed; the area stays format 1 (exit 3);
#     --drop-unproven switches it and leaves them unsigned: archive-get
#     refuses the forged segment (255), verify reports both;
#   - an upgrade stopped midway (a backup folder it cannot write) leaves
#     format 1 with WAL already signed, and a second run finishes it;
#   - an upgrade killed at some point (kill -9) is finished by the next run;
#     a run on the upgraded area changes nothing;
#   - the upgraded area verifies clean; a point-in-time restore through
#     archive-get of the renamed WAL gives exactly the marker rows committed
#     before the target; restore-dump gives the dumped rows; archive-push
#     after the upgrade signs with the new signing key file;
#   - an unencrypted area needs --trust-unencrypted-contents.
# label: slow
source "$(dirname "$0")/lib.sh"

FORMAT1=$WALDEN_BUILD_DIR/tests/walden_format1
[[ -x $FORMAT1 ]] || fail "walden_format1 is not built ($FORMAT1)"
PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
common=("lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2")
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "${common[@]}"
write_conf "$T/nokey.conf" "repo=$T/repo" "${common[@]}"
PUSH_CONF=$T/nokey.conf archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

# markers in a known commit order: 1 before the backup, 2 after it and
# before the target time, 3 after the target time
psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz)"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g"
psql_c "$PORT" "INSERT INTO marker VALUES (1, clock_timestamp())"
W backup >"$T/backup.out" 2>"$T/stderr" || fail "backup failed: $(cat "$T/stderr")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
[[ -n $id ]] || fail "no backup id in: $(cat "$T/backup.out")"
W dump --dbname postgres >/dev/null 2>"$T/stderr" || fail "dump failed: $(cat "$T/stderr")"
dump=$(ls "$T/repo/main/dump" | grep -v -- '-globals$' | head -1)
psql_c "$PORT" "INSERT INTO marker VALUES (2, clock_timestamp())"
psql_c "$PORT" "SELECT pg_sleep(1.2)" >/dev/null
target=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
psql_c "$PORT" "SELECT pg_sleep(1.2)" >/dev/null
psql_c "$PORT" "INSERT INTO marker VALUES (3, clock_timestamp())"
seg=$(switch_wal "$PORT")
wait_archived "$PORT" "$seg"
pg_stop "$PRIMARY"
pass "format 2: WAL archived up to $seg, backup $id, dump $dump, markers 1-3"

# ---- a format-1 area
as_pg "$FORMAT1" "$T/walden.conf" >/dev/null 2>"$T/stderr" ||
  fail "walden_format1 failed: $(cat "$T/stderr")"
grep -qx "format-version = 1" "$T/repo/main/cluster.conf" || fail "cluster.conf is not format 1"
grep -qx "format = 1" "$T/repo/main/key.conf" || fail "key.conf is not format 1"
! grep -rq "^signature = " "$T/repo/main/cluster.conf" "$T/repo/main/backup" "$T/repo/main/dump" ||
  fail "signature lines are left"
[[ ! -e $(sign_key_of "$T/walden.conf") ]] || fail "the signing key file is left"
n1=$(find "$T/repo/main/wal" -type f -regextype posix-extended \
  -regex '.*/[0-9A-F]{24}-[0-9a-f]{64}\.zst' | wc -l)
[[ $n1 -ge 2 ]] || fail "only $n1 WAL segments have unsigned names"
pass "walden_format1 made a format-1 area: $n1 unsigned WAL segments, nothing signed"

walseg=$(ls "$T/repo/main/wal/"*/ | grep -E '^[0-9A-F]{24}-' | head -1 | cut -c1-24)
for cmd in info expire "drill --history" "restore-dump --set $dump --to-file $T/x.dump" \
  "restore --pgdata $T/nothing"; do
  # shellcheck disable=SC2086
  expect_status 1 walden "$T/walden.conf" $cmd
  stderr_has "has format 1"
  stderr_has "walden repo-upgrade"
done
expect_status 3 walden "$T/walden.conf" verify
grep -q "has format 1.*walden repo-upgrade" "$T/stdout" || fail "verify: $(cat "$T/stdout")"
expect_status 255 walden "$T/walden.conf" archive-get "$walseg" "$T/seg"
stderr_has "walden repo-upgrade"
pass "info, expire, drill, restore-dump, restore and archive-get refuse format 1 naming walden repo-upgrade; verify reports it (exit 3)"
expect_status 0 walden "$T/walden.conf" --allow-unauthenticated info
grep -q "repo-upgrade" "$T/stderr" || fail "info --allow-unauthenticated does not warn: $(cat "$T/stderr")"
grep -q "$id" "$T/stdout" || fail "info --allow-unauthenticated does not list backup $id"
pass "allow-unauthenticated reads format 1 with a warning naming repo-upgrade"

as_pg cp -a "$T/repo" "$T/f1" # a pristine format-1 area for the cases below

# ---- forged objects are reported and not signed
as_pg cp -a "$T/f1" "$T/forged"
write_conf "$T/forged.conf" "repo=$T/forged" "encrypt-passphrase-file=$T/pass" "${common[@]}"
F=$T/forged/main
genuine=$(ls "$F/wal/"*/* | grep -E '/[0-9A-F]{24}-[0-9a-f]{64}\.zst$' | head -1)
g=$(basename "$genuine")
fname=${g:0:16}000000F0${g:24}
as_pg cp "$genuine" "$(dirname "$genuine")/$fname"
dfile=$(ls "$F/dump/$dump/" | grep -v manifest)
as_pg python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; open(p, "wb").write(b)' "$F/dump/$dump/$dfile"
expect_status 3 walden "$T/forged.conf" repo-upgrade
grep -q "^walden: not signed: '.*$fname'" "$T/stderr" || fail "the forged segment is not reported: $(cat "$T/stderr")"
grep -q "^walden: not signed: '.*dump/$dump" "$T/stderr" || fail "the damaged dump is not reported: $(cat "$T/stderr")"
grep -q "stays format 1" "$T/stderr" || fail "no summary line: $(cat "$T/stderr")"
grep -qx "format-version = 1" "$F/cluster.conf" || fail "the area was switched with unproven objects"
pass "a forged WAL segment and a damaged dump are reported, one line each; the area stays format 1 (exit 3)"
expect_status 0 walden "$T/forged.conf" repo-upgrade --drop-unproven
grep -qx "format-version = 2" "$F/cluster.conf" || fail "--drop-unproven did not switch the area"
[[ -f $(dirname "$genuine")/$fname ]] || fail "the forged object was removed, not left out"
! ls "$(dirname "$genuine")" | grep -q "^${fname:0:24}-[0-9a-f]\{64\}-" || fail "the forged segment was signed"
grep -q "stored-header = " "$F/dump/$dump/dump.manifest" && fail "the damaged dump was signed"
expect_status 255 walden "$T/forged.conf" archive-get "${fname:0:24}" "$T/forged.seg"
stderr_has "failed authentication"
[[ ! -e $T/forged.seg ]] || fail "archive-get wrote the forged segment"
expect_status 3 walden "$T/forged.conf" verify
grep -q "$fname" "$T/stdout" || fail "verify does not report the forged segment: $(cat "$T/stdout")"
grep -q "dump/$dump" "$T/stdout" || fail "verify does not report the unsigned dump: $(cat "$T/stdout")"
pass "--drop-unproven switches the area and leaves them unsigned: archive-get refuses (255), verify reports them"

# ---- stopped midway, then finished
as_pg cp -a "$T/f1" "$T/intr"
write_conf "$T/intr.conf" "repo=$T/intr" "encrypt-passphrase-file=$T/pass" "${common[@]}"
I=$T/intr/main
chmod 0555 "$I/backup/$id"
expect_status 1 walden "$T/intr.conf" repo-upgrade
chmod 0755 "$I/backup/$id"
grep -qx "format-version = 1" "$I/cluster.conf" || fail "a failed upgrade switched the area"
ns=$(find "$I/wal" -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}-[0-9a-f]{64}-[0-9a-f]{128}\.zst' | wc -l)
[[ $ns -ge 1 ]] || fail "the stopped upgrade signed no WAL before it stopped"
expect_status 1 walden "$T/intr.conf" --allow-unauthenticated info
stderr_has "run it again to finish"
expect_status 0 walden "$T/intr.conf" repo-upgrade
grep -qx "format-version = 2" "$I/cluster.conf" || fail "the second run did not switch the area"
expect_status 0 walden "$T/intr.conf" verify
pass "an upgrade stopped after signing $ns WAL segments leaves format 1; the next run finishes and verifies clean"

# ---- killed at some point, resumed; a second run is a no-op
# shellcheck disable=SC2016
as_pg sh -c 'echo $$ >"$1"; exec "$2" --config "$3" repo-upgrade' sh "$T/upgrade.pid" \
  "$WALDEN_BIN" "$T/walden.conf" >/dev/null 2>&1 &
bg=$!
sleep 1
pid=$(cat "$T/upgrade.pid")
kill -9 "$pid" 2>/dev/null || true
wait $bg 2>/dev/null || true
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
expect_status 0 walden "$T/walden.conf" repo-upgrade
grep -qx "format-version = 2" "$T/repo/main/cluster.conf" || fail "the resumed upgrade did not switch"
grep -q "^signature = " "$T/repo/main/cluster.conf" || fail "cluster.conf is not signed"
grep -qx "format = 2" "$T/repo/main/key.conf" || fail "key.conf is not format 2"
n2=$(find "$T/repo/main/wal" -type f -regextype posix-extended \
  -regex '.*/[0-9A-F]{24}-[0-9a-f]{64}-[0-9a-f]{128}\.zst' | wc -l)
n0=$(find "$T/repo/main/wal" -type f -regextype posix-extended \
  -regex '.*/[0-9A-F]{24}-[0-9a-f]{64}\.zst' | wc -l)
[[ $n2 -eq $n1 && $n0 -eq 0 ]] || fail "$n2 signed and $n0 unsigned segments, expected $n1 and 0"
pass "an upgrade killed after 1 s is finished by the next run: $n2 segments signed, none left unsigned"
before=$(cd "$T/repo" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
expect_status 0 walden "$T/walden.conf" repo-upgrade
grep -q "format 2 already: nothing to upgrade" "$T/stdout" || fail "second run: $(cat "$T/stdout")"
after=$(cd "$T/repo" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
[[ $before == "$after" ]] || fail "a run on an upgraded area changed files"
pass "a run on the upgraded area says so and changes nothing"

expect_status 0 walden "$T/walden.conf" verify
expect_status 0 walden "$T/nokey.conf" verify
pass "the upgraded area verifies clean, with and without the passphrase"

# ---- point-in-time restore through archive-get of the upgraded WAL
RESTORED=$T/restored
PORT2=$(next_port)
walden "$T/walden.conf" restore --pgdata "$RESTORED" --set "$id" --target-time "$target" \
  --target-action promote >/dev/null 2>"$T/stderr" || fail "restore failed: $(cat "$T/stderr")"
pg_configure "$RESTORED" "$PORT2" </dev/null
pg_start "$RESTORED"
wait_recovered "$PORT2" "the restored cluster"
got=$(psql_c "$PORT2" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker")
[[ $got == "1,2" ]] || fail "restored markers are '$got', expected '1,2'"
restored=$(grep -c 'restored log file' "$RESTORED.log" || true)
[[ $restored -ge 1 ]] || fail "no WAL came from archive-get"
pg_stop "$RESTORED"
pass "point-in-time restore of backup $id: markers 1,2 (3 is after the target); $restored WAL files from archive-get"

# ---- restore-dump, and archive-push with the new signing key file
pg_start "$PRIMARY"
psql_c "$PORT" "CREATE DATABASE fromdump"
W restore-dump --set "$dump" --target-dbname fromdump >/dev/null 2>"$T/stderr" ||
  fail "restore-dump failed: $(cat "$T/stderr")"
got=$(as_pg psql -h "$T/sock" -p "$PORT" -U postgres -d fromdump -XAtq -c "SELECT count(*) FROM t")
[[ $got -eq 20000 ]] || fail "restore-dump gave $got rows, expected 20000"
pass "restore-dump of the upgraded dump: 20000 rows"
psql_c "$PORT" "INSERT INTO marker VALUES (4, clock_timestamp())"
seg=$(switch_wal "$PORT")
wait_archived "$PORT" "$seg"
pg_stop "$PRIMARY"
ls "$T/repo/main/wal/${seg:0:16}/" | grep -q "^$seg-[0-9a-f]\{64\}-[0-9a-f]\{128\}\.zst$" ||
  fail "$seg was not archived under a signed name: $(ls "$T/repo/main/wal/${seg:0:16}/")"
expect_status 0 walden "$T/walden.conf" archive-get "$seg" "$T/pushed.seg"
[[ $(stat -c %s "$T/pushed.seg") -eq 16777216 ]] || fail "archive-get of $seg gave a wrong size"
pass "archive-push after the upgrade signs with the new signing key file: $seg restores"

# ---- an unencrypted area: nothing proves it, an explicit option signs it
UDATA=$T/udata
pg_init "$UDATA"
write_conf "$T/plain.conf" "repo=$T/plain" "${common[@]}"
walden "$T/plain.conf" --pgdata "$UDATA" init >/dev/null
as_pg "$FORMAT1" "$T/plain.conf" >/dev/null 2>"$T/stderr" || fail "walden_format1: $(cat "$T/stderr")"
expect_status 1 walden "$T/plain.conf" repo-upgrade
stderr_has "--trust-unencrypted-contents"
grep -qx "format-version = 1" "$T/plain/main/cluster.conf" || fail "the unencrypted area was switched"
expect_status 0 walden "$T/plain.conf" repo-upgrade --trust-unencrypted-contents
grep -q "^verification key: [0-9a-f]\{64\}" "$T/stdout" || fail "no verification key: $(cat "$T/stdout")"
grep -qx "format-version = 2" "$T/plain/main/cluster.conf" || fail "the unencrypted area was not switched"
expect_status 0 walden "$T/plain.conf" info
pass "an unencrypted area is upgraded only with --trust-unencrypted-contents, which prints the verification key"

finish
