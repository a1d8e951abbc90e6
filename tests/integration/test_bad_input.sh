#!/usr/bin/env bash
# Bad input, each answered by one clear error line and nothing lost: wrong
# passphrase, corrupted and truncated stored segments, a segment of another
# cluster, non-WAL files, a missing or unwritable repository, a duplicate
# push with different content, a full disk, init twice, bad options.
source "$(dirname "$0")/lib.sh"

PGDATA=$T/pgdata
OTHER=$T/other
PORT=$(next_port)
as_pg mkdir -p "$T/copies" "$T/out"
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass"

# real segments from a real server, collected as they are archived
pg_init "$PGDATA"
walden "$T/walden.conf" --pgdata "$PGDATA" init >/dev/null
pg_configure "$PGDATA" "$PORT" <<CONF
archive_mode = on
archive_command = 'cp %p $T/copies/%f && $WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
pg_start "$PGDATA"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 50000) g"
switch_wal "$PORT" >/dev/null
psql_c "$PORT" "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
pg_stop "$PGDATA"
SEG1=000000010000000000000001
SEG2=000000010000000000000002
[[ -f $T/copies/$SEG2 ]] || fail "expected $SEG2 to be archived"
stored() { find "$T/repo/main/wal" -name "$1-*" -type f; }

# init twice
expect_status 1 walden "$T/walden.conf" --pgdata "$PGDATA" init
stderr_has "already initialized"
pass "init twice is refused"

# wrong passphrase: exit 255 (stops recovery), no DEST
printf 'not the passphrase\n' >"$T/wrong"
chown --reference="$T/pass" "$T/wrong"
expect_status 255 walden "$T/walden.conf" --encrypt-passphrase-file "$T/wrong" archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "wrong passphrase"
[[ ! -e $T/out/$SEG1 ]] || fail "DEST created despite the wrong passphrase"
pass "wrong passphrase: archive-get exits 255 with a clear message"

# missing passphrase on an encrypted repository
write_conf "$T/nopass.conf" "repo=$T/repo"
expect_status 255 walden "$T/nopass.conf" archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "encrypt-passphrase"
pass "missing passphrase: archive-get exits 255"

# corrupted and truncated stored segments: 255, never 1; nothing at DEST
f=$(stored "$SEG1")
as_pg cp "$f" "$T/saved"
size=$(stat -c %s "$f")
flip_byte "$f" $((size / 2)) as_pg
expect_status 255 walden "$T/walden.conf" archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "damaged"
[[ -z $(ls -A "$T/out") ]] || fail "corrupted segment left files in the destination folder"
pass "corrupted stored segment: exit 255, nothing written"
as_pg cp "$T/saved" "$f"
as_pg truncate -s $((size - 100)) "$f"
expect_status 255 walden "$T/walden.conf" archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "$SEG1"
[[ -z $(ls -A "$T/out") ]] || fail "truncated segment left files in the destination folder"
pass "truncated stored segment: exit 255, nothing written"
as_pg cp "$T/saved" "$f"
walden "$T/walden.conf" archive-get "$SEG1" "$T/out/$SEG1"
cmp -s "$T/copies/$SEG1" "$T/out/$SEG1" || fail "restored copy differs after repair"
rm -f "$T/out/$SEG1"

# a segment of another cluster
pg_init "$OTHER"
write_conf "$T/other.conf" "repo=$T/repo-other"
walden "$T/other.conf" --pgdata "$OTHER" init >/dev/null
expect_status 1 walden "$T/other.conf" archive-push "$T/copies/$SEG1"
stderr_has "another cluster"
[[ -z $(find "$T/repo-other/main" -path '*/wal/*' -type f) ]] || fail "a foreign segment was stored"
pass "segment of another cluster refused, nothing stored"

# non-WAL files named like segments
as_pg head -c 16777216 /dev/urandom >"$T/000000010000000000000009"
expect_status 1 walden "$T/walden.conf" archive-push "$T/000000010000000000000009"
stderr_has "not a WAL segment"
echo "hello" | as_pg tee "$T/00000001000000000000000A" >/dev/null
expect_status 1 walden "$T/walden.conf" archive-push "$T/00000001000000000000000A"
stderr_has "00000001000000000000000A"
expect_status 1 walden "$T/walden.conf" archive-push "$T/walden.conf"
stderr_has "not a WAL file name"
[[ -z $(stored 000000010000000000000009) && -z $(stored 00000001000000000000000A) ]] ||
  fail "a non-WAL file was stored"
pass "non-WAL files refused, nothing stored"

# duplicate push with different content: refused, archived copy unchanged
f=$(stored "$SEG2")
before=$(sha256sum "$f" | cut -d' ' -f1)
as_pg cp "$T/copies/$SEG2" "$T/$SEG2"
flip_byte "$T/$SEG2" 100000 as_pg
expect_status 1 walden "$T/walden.conf" archive-push "$T/$SEG2"
stderr_has "different content"
[[ $(stored "$SEG2") == "$f" && $(sha256sum "$f" | cut -d' ' -f1) == "$before" ]] ||
  fail "the archived copy changed"
walden "$T/walden.conf" archive-push "$T/copies/$SEG2" || fail "identical re-push failed"
pass "duplicate push: different content refused and archived copy kept, identical accepted"

# missing repository: push fails, get must not say "not found"
write_conf "$T/missing.conf" "repo=$T/no-such-repo"
expect_status 1 walden "$T/missing.conf" archive-push "$T/copies/$SEG1"
stderr_has "does not exist"
expect_status 255 walden "$T/missing.conf" archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "does not exist"
pass "missing repository: push exits 1, get exits 255 (not 1)"

# unwritable repository (the server user may not write into it)
if [[ ${#RUN_AS[@]} -gt 0 ]]; then
  cp -a "$T/repo" "$T/repo-ro"
  # SEG2 is not in this copy: pushing it must write, and cannot
  find "$T/repo-ro/main/wal" -name "$SEG2-*" -type f -delete
  chown -R root: "$T/repo-ro"
  chmod -R go-w "$T/repo-ro"
  write_conf "$T/ro.conf" "repo=$T/repo-ro" "encrypt-passphrase-file=$T/pass"
  expect_status 1 walden "$T/ro.conf" archive-push "$T/copies/$SEG2"
  stderr_has "Permission denied"
  [[ -z $(find "$T/repo-ro/main/wal" -name "$SEG2-*") ]] || fail "a copy of $SEG2 appeared"
  # archive-get from a repository it may not read: 255, never "not found"
  chmod -R go-rx "$T/repo-ro/main/wal"
  expect_status 255 walden "$T/ro.conf" archive-get "$SEG1" "$T/out/$SEG1"
  stderr_has "Permission denied"
  [[ ! -e $T/out/$SEG1 ]] || fail "DEST created from an unreadable repository"
  pass "unwritable repository: push fails with a permission error; unreadable: get exits 255"
else
  echo "skip - unwritable repository (needs root to set up)"
fi

# disk full: a 2 MiB tmpfs as the repository
if [[ $(id -u) -eq 0 ]] && mkdir -p "$T/full" && mount -t tmpfs -o size=2m,mode=0755 tmpfs "$T/full" 2>/dev/null; then
  chown postgres: "$T/full"
  write_conf "$T/full.conf" "repo=$T/full/repo" "compress=none"
  walden "$T/full.conf" --pgdata "$PGDATA" init >/dev/null
  expect_status 1 walden "$T/full.conf" archive-push "$T/copies/$SEG1"
  stderr_has "No space left on device"
  leftover=$(find "$T/full/repo/main/wal" -type f 2>/dev/null | wc -l)
  find "$T/full/repo" -name ".*.tmp.*" | grep -q . && fail "temporary file left behind"
  umount "$T/full"
  [[ $leftover -eq 0 ]] || fail "a full disk left $leftover files behind"
  pass "disk full: push fails with 'no space', no partial file left"
else
  echo "skip - disk full (cannot mount a tmpfs here)"
fi

# secrets never printed: a wrong passphrase, even at debug level
expect_status 255 walden "$T/nopass.conf" --encrypt-passphrase "not-this-secret-42" \
  --log-level debug archive-get "$SEG1" "$T/out/$SEG1"
stderr_has "wrong passphrase"
grep -qF "not-this-secret-42" "$T/stderr" && fail "a wrong passphrase was printed: $(cat "$T/stderr")"
pass "secrets: a wrong passphrase given on the command line is not printed, even at debug level"

# configuration end to end: environment, WALDEN_CONFIG, options after the
# command; a flag beats the environment, which beats the file
write_conf "$T/bogus.conf" "repo=$T/no-such-repo" "encrypt-passphrase-file=$T/pass"
rm -f "$T/out/$SEG1"
as_pg env WALDEN_CONFIG="$T/bogus.conf" WALDEN_REPO="$T/repo" "$WALDEN_BIN" \
  archive-get "$SEG1" "$T/out/$SEG1" || fail "WALDEN_REPO did not beat the config file"
cmp -s "$T/copies/$SEG1" "$T/out/$SEG1" || fail "archive-get through the environment differs"
rm -f "$T/out/$SEG1"
expect_status 255 as_pg env WALDEN_CONFIG="$T/walden.conf" WALDEN_REPO="$T/repo" "$WALDEN_BIN" \
  archive-get "$SEG1" "$T/out/$SEG1" --repo "$T/no-such-repo"
stderr_has "no-such-repo"
pass "configuration: WALDEN_CONFIG and WALDEN_REPO apply; a flag after the command wins"

# bad options: exit 2 naming the option (254 for archive-get)
expect_status 2 walden "$T/walden.conf" --compress lz4 archive-push "$T/copies/$SEG1"
stderr_has "compress"
expect_status 2 walden "$T/walden.conf" --no-such-option 1 archive-list
stderr_has "no-such-option"
expect_status 254 walden "$T/walden.conf" --bogus x archive-get "$SEG1" "$T/out/x"
stderr_has "bogus"
expect_status 2 walden "$T/walden.conf" archive-push
stderr_has "usage"
pass "bad options and usage: exit 2 (254 for archive-get) naming the problem"

finish
