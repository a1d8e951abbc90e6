#!/usr/bin/env bash
# walden verify against a real PostgreSQL 15 and an encrypted repository
# (archiving through walden archive-push, a backup, a dump):
#   - an intact repository verifies (exit 0) with and without the passphrase;
#   - on copies of the repository, each damage is found and named, with and
#     without the passphrase: a flipped byte in a backup file (without the
#     key: by its stored SHA-256 from backup.stored), a missing backup file,
#     a missing WAL segment the backup needs, a flipped byte in a dump file,
#     a truncated WAL file (without the key: by the encryption's framing), a
#     gap in the archive, a damaged backup.stored (with the key: it disagrees
#     with the manifest);
#   - a corrupt file is reported as corrupt and a missing one as missing;
#   - --set limits verify to one backup (and its WAL) or one dump;
#   - a backup whose backup.stored was removed is reported as missing, with
#     and without the key;
#   - a wrong passphrase stops verify with one line.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
common=("lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2")
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "${common[@]}"
write_conf "$T/nokey.conf" "repo=$T/repo" "${common[@]}"
INITDB_ARGS=-k PUSH_CONF=$T/nokey.conf archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 50000) g"
psql_c "$PORT" "CHECKPOINT"
W backup >"$T/backup.out" 2>"$T/stderr" || fail "backup failed: $(cat "$T/stderr")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
W dump --dbname postgres >/dev/null 2>"$T/stderr" || fail "dump failed: $(cat "$T/stderr")"
dump=$(ls "$T/repo/main/dump" | grep -v -- '-globals$' | head -1)
[[ -n $dump ]] || fail "no dump was made"
# more WAL after the backup, so the archive can have a gap in its middle
for _ in 1 2 3 4; do
  psql_c "$PORT" "INSERT INTO t SELECT g, 'more' FROM generate_series(1, 1000) g"
  seg=$(switch_wal "$PORT")
done
wait_archived "$PORT" "$seg"
pg_stop "$PRIMARY"

B=$T/repo/main/backup/$id
[[ -f $B/backup.stored ]] || fail "the backup wrote no backup.stored: $(ls -la "$B" 2>&1)"
grep -q "^complete = yes$" "$B/backup.stored" || fail "backup.stored is not complete"
grep -qP '^[0-9a-f]{64}\t[0-9]+\tbackup\.manifest\.zst$' "$B/backup.stored" ||
  fail "backup.stored has no line for the manifest: $(tail -3 "$B/backup.stored")"
grep -qP '^[0-9a-f]{64}\t[0-9]+\tdata/PG_VERSION\.zst$' "$B/backup.stored" ||
  fail "backup.stored has no line for PG_VERSION"
pass "backup $id wrote backup.stored, its manifest's line included"

# V CONF REPO ARGS...: verify REPO (the repository or a damaged copy)
V() {
  local conf=$1 repo=$2
  shift 2
  walden "$conf" --repo "$repo" verify "$@"
}
# stdout_has TEXT: the last expect_status's stdout holds TEXT
stdout_has() {
  grep -qF -- "$1" "$T/stdout" || fail "stdout does not mention '$1': $(cat "$T/stdout")"
}
stdout_lacks() {
  ! grep -qF -- "$1" "$T/stdout" || fail "stdout mentions '$1': $(cat "$T/stdout")"
}
# a fresh copy of the repository to damage
copy() {
  rm -rf "$T/case"
  as_pg cp -a "$T/repo" "$T/case"
  C=$T/case/main
}
# flip FILE: inverts one byte in the middle of FILE
flip() {
  as_pg python3 -c 'import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    data = f.read()
    off = len(data) // 2
    f.seek(off)
    f.write(bytes([data[off] ^ 0xFF]))' "$1"
}
# both CHECK_NAME WANT_STATUS TEXT...: runs verify with and without the
# passphrase on the copy, expecting the status and each TEXT in stdout
both() {
  local what=$1 want=$2
  shift 2
  for conf in walden nokey; do
    expect_status "$want" V "$T/$conf.conf" "$T/case"
    for text in "$@"; do stdout_has "$text"; done
    if [[ $want -ne 0 ]]; then
      grep -q "verify found" "$T/stderr" || fail "$what ($conf): no error line: $(cat "$T/stderr")"
    fi
  done
}

# ---- intact
expect_status 0 V "$T/walden.conf" "$T/repo"
stdout_has "verified 1 backups, 2 dumps"
stdout_has ": 0 problems"
stdout_lacks "stored checksums only"
expect_status 0 V "$T/nokey.conf" "$T/repo"
stdout_has ": 0 problems"
stdout_has "stored checksums only (no passphrase)"
stdout_lacks "unchecked"
pass "an intact repository verifies with and without the passphrase"
# on a terminal: progress on stderr (script(1) gives it one), else none
script -qec "$(printf '%q ' "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" verify)" \
  /dev/null >"$T/tty.out" || fail "verify on a terminal failed: $(cat "$T/tty.out")"
# (a quick run may show only its first line, before any byte is read)
grep -q 'verify: .*/s\|verify \.\.\. [0-9]* s' "$T/tty.out" ||
  fail "no progress on a terminal: $(cat "$T/tty.out")"
grep -q 'verify: ' "$T/stdout" && fail "progress printed when not on a terminal"
pass "verify shows progress on a terminal only"

# ---- a flipped byte in a backup data file
copy
f=$(find "$C/backup/$id/data/base" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
rel=${f#"$T/case/"}
flip "$f"
both "flipped byte" 3 "corrupt: $rel: "
expect_status 3 V "$T/nokey.conf" "$T/case"
stdout_has "corrupt: $rel: stored copy does not match its checksum"
[[ $(grep -c '^corrupt:' "$T/stdout") -eq 1 ]] || fail "more than the one file reported: $(cat "$T/stdout")"
stdout_lacks "missing:"
pass "a flipped byte in $rel is reported as corrupt, with and without the key"

# ---- a missing backup file
copy
f=$C/backup/$id/data/PG_VERSION.zst
rm "$f"
both "missing file" 3 "missing: ${f#"$T/case/"}: " "lists it; the repository does not have it"
stdout_lacks "corrupt:"
pass "a missing backup file is reported as missing, with and without the key"

# ---- a missing WAL segment the backup needs
copy
start_wal=$(sed -n 's/^start-wal = //p' "$B/backup.info")
[[ -n $start_wal ]] || fail "backup.info has no start-wal"
wal=$(ls "$C/wal/${start_wal:0:16}/$start_wal"-*)
rm "$wal"
both "missing WAL" 3 "missing: main/wal/${start_wal:0:16}/$start_wal: WAL segment $start_wal, needed by backup $id"
expect_status 0 V "$T/walden.conf" "$T/case" --set "$dump"
pass "a missing WAL segment the backup needs is named; --set of the dump ignores it"

# ---- a flipped byte in a dump file
copy
f=$(ls "$C/dump/$dump"/dump.pgdump*)
flip "$f"
both "flipped dump byte" 3 "corrupt: ${f#"$T/case/"}: "
expect_status 0 V "$T/walden.conf" "$T/case" --set "$id"
stdout_has "verified 1 backups, 0 dumps"
expect_status 3 V "$T/nokey.conf" "$T/case" --set "$dump"
stdout_has "verified 0 backups, 1 dumps"
stdout_has "corrupt: ${f#"$T/case/"}: stored copy does not match its checksum"
pass "a flipped byte in dump $dump is found; --set limits verify to one backup or dump"

# ---- a truncated WAL file: found by the framing without the key
copy
last=$(find "$C/wal" -type f -name '0*-*' | sort | tail -1)
as_pg truncate -s -200 "$last"
both "truncated WAL" 3 "corrupt: ${last#"$T/case/"}: "
expect_status 3 V "$T/nokey.conf" "$T/case"
stdout_has "encrypted stream is truncated"
pass "a truncated WAL file is found without the key (framing) and with it"

# ---- a gap in the archive (a segment no backup needs)
copy
mapfile -t segs < <(find "$C/wal" -type f -name '0*-*' ! -name '*.backup-*' ! -name '*.partial-*' |
  sort)
gap=${segs[${#segs[@]} - 2]}
gapname=$(basename "$gap")
gapname=${gapname%%-*}
rm "$gap"
both "archive gap" 3 "wal-gap: main/wal/${gapname:0:16}/$gapname: WAL segment $gapname is missing"
stdout_lacks "needed by backup"
pass "a gap in the archive is reported"

# ---- backup.stored damaged: with the key it disagrees with the manifest
copy
as_pg sed -i -E '0,/^[0-9a-f]{64}\t/s/^([0-9a-f])/x\1/' "$C/backup/$id/backup.stored"
expect_status 3 V "$T/walden.conf" "$T/case"
stdout_has "main/backup/$id/backup.stored: "
as_pg sed -i -E 's/^x//' "$C/backup/$id/backup.stored"
first=$(grep -m1 -P '^[0-9a-f]{64}\t' "$C/backup/$id/backup.stored")
sha=${first:0:64}
as_pg sed -i "s/^$sha/$(echo "$sha" | tr '0-9a-f' 'f0-9a-e')/" "$C/backup/$id/backup.stored"
expect_status 3 V "$T/walden.conf" "$T/case"
stdout_has "corrupt: main/backup/$id/backup.stored: disagrees with the manifest about the stored SHA-256"
pass "a damaged backup.stored is found with the key"

# ---- backup.stored removed: every backup of a format-2 area writes one
# before its manifest, so its absence is reported, with or without the key
copy
rm "$C/backup/$id/backup.stored"
expect_status 3 V "$T/nokey.conf" "$T/case"
stdout_has "missing: main/backup/$id/backup.stored: backup $id has no backup.stored: it was removed"
expect_status 3 V "$T/walden.conf" "$T/case"
stdout_has "missing: main/backup/$id/backup.stored: backup $id has no backup.stored: it was removed"
pass "a backup whose backup.stored was removed: missing (exit 3), without the key and with it"

# ---- a wrong passphrase
echo "not the passphrase" >"$T/wrong"
chmod 0600 "$T/wrong"
[[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$T/wrong"
expect_status 1 walden "$T/walden.conf" --encrypt-passphrase-file "$T/wrong" verify
stderr_has "wrong passphrase"
expect_status 1 V "$T/walden.conf" "$T/repo" --set 20200101T000000Z
stderr_has "no backup or dump '20200101T000000Z'"
pass "a wrong passphrase or an unknown --set: exit 1, one line"

finish
