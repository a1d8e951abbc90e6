#!/usr/bin/env bash
# What a backup refuses and what a restore never does:
#   - backups refused with one clear line: archiving broken (timeout with
#     the server's archiver state), another cluster, a backup running;
#   - a corrupt data page is found by its checksum: the backup is stored but
#     marked, exit status 3, the warning names file and block;
#   - a crafted manifest ('..', absolute paths, links outside pg_tblspc,
#     relative tablespace locations, files in undeclared tablespaces) is
#     rejected and nothing is written outside the target.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "process-max=2"
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
walden "$T/walden.conf" --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '/bin/false'
CONF
pg_start "$PRIMARY"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

# ---- archiving broken: a timeout that says why
expect_status 1 W backup --archive-timeout 3s
stderr_has "did not reach the repository within 3 s"
stderr_has "archive_command = '/bin/false'"
W info >"$T/info.out"
grep -q "no backups" "$T/info.out" || fail "a failed backup is listed: $(cat "$T/info.out")"
[[ -z $(ls "$T/repo/main/backup" 2>/dev/null) ]] || fail "the failed backup left files behind"
pass "broken archiving: the backup fails after archive-timeout, naming archive_command"

# ---- a backup killed half-way: never listed, removed by the next backup
W backup --archive-timeout 60s >/dev/null 2>&1 &
for _ in $(seq 1 100); do
  [[ -n $(ls "$T/repo/main/backup" 2>/dev/null) ]] && break
  sleep 0.1
done
sleep 1
pkill -9 -f "walden --config $T/walden.conf backup --archive-timeout 60s" || true
wait || true
killed=$(ls "$T/repo/main/backup")
[[ -n $killed ]] || fail "the killed backup left nothing to clean up (test did not work)"
W info >"$T/info.out"
grep -q "no backups" "$T/info.out" || fail "a killed backup is listed: $(cat "$T/info.out")"
pass "a backup killed half-way ($killed) is not listed"

psql_c "$PORT" "ALTER SYSTEM SET archive_mode = off"
pg_stop "$PRIMARY"
pg_start "$PRIMARY"
expect_status 1 W backup
stderr_has "archive_mode is off"
psql_c "$PORT" "ALTER SYSTEM SET archive_mode = on"
psql_c "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'"
pg_stop "$PRIMARY"
pg_start "$PRIMARY"
pass "archive_mode off: refused at once"

# ---- another cluster's repository
as_pg "$PG_BIN/initdb" -D "$T/other" -A trust -U postgres --no-sync >/dev/null
write_conf "$T/other.conf" "repo=$T/other-repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "cluster=other"
walden "$T/other.conf" --pgdata "$T/other" init >/dev/null
expect_status 1 walden "$T/other.conf" --pgport "$PORT" --pgdata "$PRIMARY" backup
stderr_has "but the repository's cluster 'other' is"
pass "a server of another cluster is refused"

# ---- one backup of a cluster at a time
as_pg mkdir -p "$T/locks"
BACKUP_LOCK=$(lock_file "$T/locks" "$T/repo" main backup)
as_pg flock "$BACKUP_LOCK" sleep 20 &
HOLDER=$!
for _ in $(seq 1 50); do
  as_pg flock -n "$BACKUP_LOCK" true 2>/dev/null || break
  sleep 0.1
done
expect_status 1 W backup
stderr_has "another walden backup of cluster 'main' is running"
kill "$HOLDER" 2>/dev/null || true
pkill -f "sleep 20" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
pass "a second backup at the same time is refused"

# ---- a corrupt page: found, reported, the backup marked
psql_c "$PORT" "CREATE TABLE damaged AS SELECT g, md5(g::text) AS v FROM generate_series(1, 2000) g"
psql_c "$PORT" "CHECKPOINT"
relpath=$(psql_c "$PORT" "SELECT pg_relation_filepath('damaged')")
pg_stop "$PRIMARY"
# block 1, in the middle of its tuples (the header and its LSN stay intact)
printf 'garbage!' | dd of="$PRIMARY/$relpath" bs=1 seek=$((8192 + 4000)) conv=notrunc status=none
pg_start "$PRIMARY"
expect_status 3 W backup
grep -q "invalid page checksum in '$PRIMARY/$relpath', block 1" "$T/stderr" ||
  fail "no warning naming the page: $(cat "$T/stderr")"
grep -q "PAGE CHECKSUM ERRORS" "$T/stdout" || fail "summary does not say it: $(cat "$T/stdout")"
W info >"$T/info.out"
grep -q "full  errors" "$T/info.out" || fail "info does not mark the backup: $(cat "$T/info.out")"
pass "a corrupt page is reported with file and block; exit 3; the backup is marked"

psql_c "$PORT" "DROP TABLE damaged"
psql_c "$PORT" "CHECKPOINT"
W backup >"$T/backup.out" || fail "clean backup failed: $(cat "$T/stderr")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
pass "a clean backup after the damaged table is gone: $id"
[[ ! -e $T/repo/main/backup/$killed ]] || fail "the killed backup $killed was not cleaned up"
pass "the next backups removed the killed backup's files"

# ---- crafted manifests
man=$(ls "$T/repo/main/backup/$id"/backup.manifest.zst)
cp "$man" "$T/manifest.good"
zstd -qdc "$man" >"$T/manifest.txt"
# (format 2: HASH, LAYERS and MAP follow the path)
grep -qP '^f\t.*\tPG_VERSION\tw\t-\t-$' "$T/manifest.txt" || fail "manifest has no PG_VERSION line"
sysid=$(sed -n 's/^system-identifier = //p' "$T/repo/main/cluster.conf")
key=$(sign_key_of "$T/walden.conf")
# a manifest edited without the signing key fails authentication, before
# anything is written
sed 's|\tPG_VERSION\t|\t../escape\t|' "$T/manifest.txt" | zstd -q -o "$man" -f
rm -rf "$T/target"
expect_status 1 walden "$T/walden.conf" --pgdata "$T/target" restore --set "$id"
stderr_has "failed authentication"
[[ ! -e $T/target/PG_VERSION && ! -e $T/escape ]] || fail "an unsigned manifest was acted on"
cp "$T/manifest.good" "$man"
pass "a manifest edited without the signing key is refused: failed authentication"
# The checks behind the signature (a writer's own bugs): crafted manifests
# signed again with the area's key.
# craft SED_EXPRESSION DESCRIPTION EXPECTED_MESSAGE
craft() {
  sed "$1" "$T/manifest.txt" >"$T/crafted.txt"
  resign_text "$T/crafted.txt" "$key" main "$sysid" "backup/$id/backup.manifest"
  zstd -q -o "$T/crafted.zst" -f "$T/crafted.txt"
  cp "$T/crafted.zst" "$man"
  rm -rf "$T/target"
  expect_status 1 walden "$T/walden.conf" --pgdata "$T/target" restore --set "$id"
  stderr_has "$3"
  [[ ! -e $T/escape && ! -e /tmp/walden-escape && ! -e $T/outside/PG_VERSION ]] ||
    fail "$2: something was written outside the target"
  cp "$T/manifest.good" "$man"
  pass "crafted manifest with $2 is refused"
}
craft 's|\tPG_VERSION\t|\t../escape\t|' "a '..' path" "manifest path '../escape'"
craft 's|\tPG_VERSION\t|\tbase/../../escape\t|' "a '..' inside a path" "has an empty, '.' or '..' element"
craft 's|\tPG_VERSION\t|\t/tmp/walden-escape\t|' "an absolute path" "is not a relative path"
craft 's|^d\t\(.*\)\tbase$|l\t\1\tbase\t'"$T"'/outside|' "a link outside pg_tblspc" \
  "link 'base' outside pg_tblspc"
craft 's|\tPG_VERSION\t|\tpg_tblspc/4242/PG_VERSION\t|' "a file in an undeclared tablespace" \
  "in a tablespace the backup does not have"
printf 'l\t0777\t0\t0\t-\t-\t0\t0\tpg_tblspc/4243\trelative/dir\n' >"$T/extra"
craft "/^\[files\]\$/r $T/extra" "a relative tablespace location" "relative location 'relative/dir'"

# and the untouched manifest still restores, into an existing empty folder
rm -rf "$T/target"
as_pg mkdir -m 0755 "$T/target"
walden "$T/walden.conf" --pgdata "$T/target" restore --set "$id" >/dev/null ||
  fail "restore of the untouched backup failed: $(cat "$T/stderr")"
[[ $(cat "$T/target/PG_VERSION") == 15 ]] || fail "PG_VERSION not restored"
[[ $(stat -c %a "$T/target") == 700 ]] || fail "the existing target was not set to mode 0700"
pass "the untouched manifest restores into an existing empty folder (made 0700)"

finish
