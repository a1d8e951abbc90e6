#!/usr/bin/env bash
# A real PostgreSQL 15 archives through walden archive-push into three
# repositories at once (zstd + encryption, no compression + encryption, gzip
# without encryption). Every segment PostgreSQL reports archived must be in
# each repository, unreadable as plaintext where encrypted, and come back
# byte-identical through walden archive-get.
source "$(dirname "$0")/lib.sh"

PGDATA=$T/pgdata
PORT=$(next_port)
as_pg mkdir -p "$T/copies" "$T/out"
new_passphrase "$T/pass"
write_conf "$T/zstd.conf" "repo=$T/repo-zstd" "compress=zstd" "encrypt-passphrase-file=$T/pass"
write_conf "$T/none.conf" "repo=$T/repo-none" "compress=none" "encrypt-passphrase-file=$T/pass"
write_conf "$T/gzip.conf" "repo=$T/repo-gzip" "compress=gzip" "compress-level=1"
CONFS=("$T/zstd.conf" "$T/none.conf" "$T/gzip.conf")

pg_init "$PGDATA"
for c in "${CONFS[@]}"; do walden "$c" --pgdata "$PGDATA" init >/dev/null; done
pass "init of three repositories from pg_control"

push="cp %p $T/copies/%f"
for c in "${CONFS[@]}"; do push="$push && $WALDEN_BIN --config $c archive-push %p"; done
pg_configure "$PGDATA" "$PORT" <<CONF
archive_mode = on
archive_command = '$push'
wal_keep_size = '1GB'
CONF
pg_start "$PGDATA"

# init through libpq (no pgdata): the same identity as from pg_control
write_conf "$T/libpq.conf" "repo=$T/repo-libpq" "pghost=$T/sock" "pgport=$PORT" "pguser=postgres"
walden "$T/libpq.conf" init >/dev/null
id_file=$(grep '^system-identifier' "$T/repo-zstd/main/cluster.conf")
id_pq=$(grep '^system-identifier' "$T/repo-libpq/main/cluster.conf")
id_sql=$(psql_c "$PORT" "SELECT system_identifier FROM pg_control_system()")
[[ "$id_pq" == "$id_file" && "$id_file" == "system-identifier = $id_sql" ]] ||
  fail "identities differ: pg_control '$id_file', libpq '$id_pq', server $id_sql"
grep -q '^pg-version = 15' "$T/repo-libpq/main/cluster.conf" || fail "libpq init did not record the version"
pass "init through libpq records the server's system identifier and version"

MARKER="walden-plaintext-marker-$RANDOM$RANDOM"
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
psql_c "$PORT" "CREATE TABLE marker(t text); INSERT INTO marker SELECT '$MARKER' FROM generate_series(1, 1000)"
for _ in 1 2 3; do
  psql_c "$PORT" "INSERT INTO marker SELECT '$MARKER' FROM generate_series(1, 100)"
  last=$(switch_wal "$PORT")
done
wait_archived "$PORT" "$last"
failed=$(psql_c "$PORT" "SELECT failed_count FROM pg_stat_archiver")
[[ $failed -eq 0 ]] || fail "PostgreSQL saw $failed failed archive attempts"
pass "PostgreSQL archived through walden up to $last without failures"

ls "$T/copies" | sort >"$T/archived"
n=$(wc -l <"$T/archived")
[[ $n -ge 4 ]] || fail "only $n files archived"
grep -rlqF "$MARKER" "$T/copies" || fail "the marker is not in the WAL: the plaintext check below would prove nothing"

for c in "${CONFS[@]}"; do
  kind=$(basename "$c" .conf)
  repo=$T/repo-$kind
  walden "$c" archive-list >"$T/listed"
  diff -u "$T/archived" "$T/listed" || fail "$kind: archive-list differs from what PostgreSQL archived"
  while read -r f; do
    walden "$c" archive-get "$f" "$T/out/$f" || fail "$kind: archive-get $f failed"
    cmp -s "$T/copies/$f" "$T/out/$f" || fail "$kind: $f came back different"
    rm -f "$T/out/$f"
  done <"$T/archived"
  pass "$kind: all $n archived files listed and restored byte-identical"
  if [[ $kind != gzip ]]; then
    ! grep -rqF "$MARKER" "$repo" || fail "$kind: plaintext found in the encrypted repository"
    files=$(find "$repo/main/wal" -type f | wc -l)
    magic=$(find "$repo/main/wal" -type f -exec head -c 8 {} \; -exec echo \; | grep -c '^WLDNENC1$')
    [[ $files -eq $n && $magic -eq $n ]] || fail "$kind: $magic of $files stored files are encrypted"
    pass "$kind: no plaintext in the repository, every stored file encrypted"
  else
    f=$(find "$repo/main/wal" -type f -name '*.gz' | head -1)
    gzip -t "$f" || fail "gzip: stored file is not valid gzip"
    pass "gzip: stored files decode with the gzip tool"
  fi
done

# not in the archive: exit 1, quietly
expect_status 1 walden "$T/zstd.conf" archive-get 0000000100000000000000FE "$T/out/x"
[[ ! -s $T/stderr && ! -e $T/out/x ]] || fail "not-found printed something or created DEST"
expect_status 1 walden "$T/zstd.conf" archive-get 00000009.history "$T/out/x"
pass "archive-get of a missing segment or history file exits 1 quietly"

# a history file round trip (as after a promotion)
printf '1\t0/5000000\tno recovery target specified\n' >"$T/00000002.history"
chmod 0644 "$T/00000002.history"
walden "$T/zstd.conf" archive-push "$T/00000002.history"
walden "$T/zstd.conf" archive-get 00000002.history "$T/out/00000002.history"
cmp -s "$T/00000002.history" "$T/out/00000002.history" || fail "history file came back different"
pass "history file archived and restored"

# PostgreSQL re-offers a segment after a crash: identical content succeeds
first=$(head -1 "$T/archived")
as_pg cp "$T/copies/$first" "$T/$first"
walden "$T/zstd.conf" archive-push "$T/$first" || fail "re-push of identical $first failed"
pass "re-push of an archived segment with identical content succeeds"

# changing the passphrase re-wraps the key only: old files stay readable
# with the new passphrase, the old passphrase stops working
new_passphrase "$T/pass2"
keyfile=$T/repo-zstd/main/key.conf
before=$(find "$T/repo-zstd/main/wal" -type f -exec sha256sum {} + | sort)
walden "$T/zstd.conf" repo-passphrase --new-passphrase-file "$T/pass2" >/dev/null
after=$(find "$T/repo-zstd/main/wal" -type f -exec sha256sum {} + | sort)
[[ "$before" == "$after" ]] || fail "changing the passphrase rewrote archived files"
expect_status 255 walden "$T/zstd.conf" archive-get "$first" "$T/out/$first"
stderr_has "wrong passphrase"
walden "$T/zstd.conf" --encrypt-passphrase-file "$T/pass2" archive-get "$first" "$T/out/$first"
cmp -s "$T/copies/$first" "$T/out/$first" || fail "$first unreadable after the passphrase change"
pass "repo-passphrase: new passphrase reads old files, old passphrase refused, no data rewritten"

pg_stop "$PGDATA"
finish
