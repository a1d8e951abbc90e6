#!/usr/bin/env bash
# README command 1: installs the dependencies, builds walden, and runs its
# main job on a throwaway PostgreSQL 15 with a local-disk repository:
# PostgreSQL archives every WAL segment through `walden archive-push` into a
# compressed (zstd) and encrypted repository, `walden backup` takes an
# online base backup while pgbench runs, `walden dump` takes logical dumps,
# `walden restore` brings the backup back to a point in time into a second
# server, which recovers through `walden archive-get`, `walden restore-dump`
# brings a dump back into a new database, `walden drill` proves the latest
# backup restores and measures RTO and RPO, and `walden expire --dry-run`
# shows what retention keeps. Everything lives in one temporary folder, removed at
# the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
bash scripts/install-deps.sh
BUILD_DIR=build bash scripts/build.sh >/dev/null
walden=$src/build/src/walden

bindir=$(pg_config --bindir 2>/dev/null || true)
[[ -x $bindir/initdb ]] || bindir=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/walden-demo.XXXXXX)
chmod 0755 "$work"
as_pg() { "$@"; }
if [[ $(id -u) -eq 0 ]]; then
  # PostgreSQL refuses to run as root: run it, and walden under it, as postgres
  chown postgres: "$work"
  as_pg() { runuser -u postgres -- "$@"; }
fi
cleanup() {
  as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null 2>&1 || true
  as_pg "$bindir/pg_ctl" -D "$work/restored" -m fast stop >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "a throwaway PostgreSQL 15 in $work/pgdata"
as_pg "$bindir/initdb" -D "$work/pgdata" -A trust -U postgres >/dev/null
as_pg mkdir -p "$work/repo" "$work/sock"
as_pg bash -c "umask 077; head -c 24 /dev/urandom | base64 > '$work/passphrase'"
as_pg tee "$work/walden.conf" >/dev/null <<CONF
repo = $work/repo
cluster = demo
compress = zstd
compress-level = 3
encrypt-passphrase-file = $work/passphrase
sign-key-file = $work/%c.sign-key
pghost = $work/sock
pgport = 55432
pguser = postgres
lock-path = $work/locks
CONF
chmod 0600 "$work/walden.conf"
cat >>"$work/pgdata/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/sock'
port = 55432
archive_mode = on
archive_command = '$walden --config $work/walden.conf archive-push %p'
CONF
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/postgres.log" -w start >/dev/null
psql_() { as_pg psql -h "$work/sock" -p 55432 -U postgres -d postgres -XAtq "$@"; }

step "walden init: the repository records the cluster and creates its keys (encryption, signing)"
as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/pgdata" init

step "pgbench generates WAL; PostgreSQL archives it through walden archive-push"
as_pg "$bindir/pgbench" -h "$work/sock" -p 55432 -U postgres -i -s 10 -q postgres 2>&1 | tail -1
as_pg "$bindir/pgbench" -h "$work/sock" -p 55432 -U postgres -T 5 -c 2 postgres | grep -E "^tps"
last=$(psql_ -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
psql_ -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 120); do
  done_wal=$(psql_ -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$done_wal" > "$last" || "$done_wal" == "$last" ]] && break
  sleep 0.5
done
psql_ -c "SELECT 'archived: ' || archived_count || ', failed: ' || failed_count ||
                 ', last: ' || coalesce(last_archived_wal, '-') FROM pg_stat_archiver"

step "walden check: repository, passphrase, server, archive_command, a forced segment arriving"
as_pg "$walden" --config "$work/walden.conf" check

step "what is in the repository (walden archive-list)"
as_pg "$walden" --config "$work/walden.conf" archive-list | tee "$work/list" | head -5
echo "... $(wc -l <"$work/list") files; raw size in pg_wal $(du -sh "$work/pgdata/pg_wal" | cut -f1)," \
  "stored size $(du -sh "$work/repo/demo/wal" | cut -f1) (zstd + AES-256-GCM)"

step "walden archive-get restores a segment byte for byte"
seg=$(grep -E '^[0-9A-F]{24}$' "$work/list" | tail -1)
as_pg "$walden" --config "$work/walden.conf" archive-get "$seg" "$work/$seg.restored"
if [[ -f $work/pgdata/pg_wal/$seg ]]; then
  cmp "$work/pgdata/pg_wal/$seg" "$work/$seg.restored" && echo "$seg: identical to pg_wal/$seg"
else
  echo "$seg restored ($(stat -c %s "$work/$seg.restored") bytes; recycled from pg_wal already)"
fi
set +e
as_pg "$walden" --config "$work/walden.conf" archive-get 0000000100000099000000FF "$work/x"
echo "archive-get of a segment that was never archived: exit $? (1 = not in the archive)"
set -e

step "walden backup: an online base backup while pgbench keeps writing"
as_pg "$bindir/pgbench" -h "$work/sock" -p 55432 -U postgres -T 4 -c 2 postgres >/dev/null 2>&1 &
sleep 1
as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/pgdata" backup
wait

step "walden dump: every database with pg_dump, streamed into the same repository"
as_pg "$walden" --config "$work/walden.conf" dump

step "walden info: backups, dumps, the WAL archive and the recovery window"
as_pg "$walden" --config "$work/walden.conf" info

step "point in time: a table dropped by mistake after the backup"
psql_ -c "CREATE TABLE precious AS SELECT g AS id FROM generate_series(1, 1000) g"
sleep 1
target=$(psql_ -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1
psql_ -c "DROP TABLE precious"
echo "precious created, then dropped; recovery target: $target"
psql_ -c "SELECT pg_walfile_name(pg_switch_wal())" >/dev/null
sleep 2

step "walden restore --target-time: the backup into a new directory, recovery prepared"
as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/restored" restore \
  --target-time "$target" --target-action promote
cat >>"$work/restored/postgresql.auto.conf" <<CONF
port = 55433
archive_mode = off
CONF
as_pg "$bindir/pg_ctl" -D "$work/restored" -l "$work/restored.log" -w start >/dev/null
for _ in $(seq 1 120); do
  [[ $(as_pg psql -h "$work/sock" -p 55433 -U postgres -XAtqc "SELECT pg_is_in_recovery()" postgres) == f ]] && break
  sleep 0.5
done
echo "restored server recovered to $target: precious has" \
  "$(as_pg psql -h "$work/sock" -p 55433 -U postgres -XAtqc "SELECT count(*) FROM precious" postgres) rows"

step "walden restore-dump: the dump of postgres into a new database"
as_pg "$walden" --config "$work/walden.conf" restore-dump \
  --dbname postgres --target-dbname postgres_copy --create
echo "postgres_copy has" \
  "$(as_pg psql -h "$work/sock" -p 55432 -U postgres -XAtqc "SELECT count(*) FROM pgbench_accounts" postgres_copy)" \
  "pgbench_accounts rows"

step "walden drill: the latest backup restored into a scratch server, checked, RTO and RPO measured"
as_pg "$walden" --config "$work/walden.conf" drill --scratch-dir "$work" --report "$work/drill.json" ||
  echo "(the drill did not pass: see above)"
python3 -c "import json; d = json.load(open('$work/drill.json')); print('drill report:', d['status'], 'RTO', d['rto_seconds'], 's, RPO', d['rpo_seconds'], 's')"

step "walden metrics: the state for Prometheus (a few of the lines)"
as_pg "$walden" --config "$work/walden.conf" metrics | grep -E '^walden_(backup_last_age|wal_newest_age|drill_last_status|archiver_failed)'

step "walden expire --dry-run: what the 30-day retention keeps, and why"
as_pg "$walden" --config "$work/walden.conf" expire --dry-run | grep -v '^keep    wal' || true
step "done"
