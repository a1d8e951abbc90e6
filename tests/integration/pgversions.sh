# pgversions.sh - sourced by the version matrix (test_pg13.sh, test_pg15.sh,
# test_pg17.sh, test_pg18.sh): the main flows of walden against a real
# server of one PostgreSQL major version.
#
# The caller sets PGV (the major version) and SUITE (the Debian suite that
# has it; empty for the host's 15). For another suite the server runs from
# a cached Debian root (scripts/pg-rootfs.sh SUITE, built once per machine
# under /var/cache/walden-test/rootfs):
#   - the test's folder is inside the root (TMPDIR=ROOT/tmp): data
#     directories, sockets, the repository and the config file have one
#     host path that is also valid inside the root (the root's host path is
#     a symlink to / inside it);
#   - PostgreSQL's programs run inside the root as the unprivileged
#     postgres user through `unshare --user --root`: small wrappers in
#     $T/pgbin, given to walden as pg-bin and used by the test;
#   - archive_command and restore_command run inside the root too, so a
#     wrapper at walden's own host path inside the root runs a copy of the
#     host's release build of walden (build-release/src/walden, which
#     scripts/test.sh builds) through the host's dynamic loader and a copy
#     of the host's libraries: bullseye's glibc and OpenSSL are older than
#     the host's. The ASan build cannot run there: its leak checker needs
#     /proc, which the root does not mount. Everything walden does on the
#     host (init, check, backup, restore, dump, drill, verify, expire) runs
#     the test build.
# Marker rows: 1 before the backup, 2 after it, then a target time, then 3.
# Restores to the end of the archive must show 3 rows, to the target time 2.

SRC=${WALDEN_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PGV=${PGV:?set PGV}
SUITE=${SUITE:-}
ROOT=
skip_or_fail() {
  if [[ ${WALDEN_REQUIRE_SERVERS:-0} == 1 ]]; then
    echo "FAIL: $(basename "$0" .sh): $*" >&2
    exit 1
  fi
  echo "SKIP: $(basename "$0" .sh): $*"
  exit 0
}
if [[ -n $SUITE ]]; then
  [[ $(id -u) -eq 0 ]] || skip_or_fail "PostgreSQL $PGV needs root (debootstrap, unshare)"
  command -v debootstrap >/dev/null || skip_or_fail "debootstrap is not installed"
  ROOT=$(bash "$SRC/scripts/pg-rootfs.sh" "$SUITE") || skip_or_fail "no root for $SUITE"
  export TMPDIR=$ROOT/tmp
fi
source "$SRC/tests/integration/lib.sh"

INNER_WRAPPER=
if [[ -n $ROOT ]]; then
  inner_src=${WALDEN_INNER_BIN:-$SRC/build-release/src/walden}
  [[ -x $inner_src ]] || fail "no release build of walden at $inner_src (scripts/test.sh builds it)"
  # walden's release build, the host loader and libraries, inside the root
  mkdir -p "$T/inner"
  cp "$inner_src" "$T/inner/walden"
  for lib in $(ldd "$inner_src" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    cp -L "$lib" "$T/inner/"
  done
  # at the path the server's archive_command and a restore_command name
  INNER_WRAPPER=$ROOT$WALDEN_BIN
  mkdir -p "$(dirname "$INNER_WRAPPER")"
  cat >"$INNER_WRAPPER" <<SH
#!/bin/sh
exec $T/inner/ld-linux-x86-64.so.2 --library-path $T/inner $T/inner/walden "\$@"
SH
  chmod 0755 "$INNER_WRAPPER"
  # PostgreSQL's programs of the root, run inside it as the caller
  mkdir -p "$T/pgbin"
  for p in initdb pg_ctl postgres psql pg_dump pg_dumpall pg_restore pgbench pg_controldata; do
    cat >"$T/pgbin/$p" <<SH
#!/bin/sh
# $p of PostgreSQL $PGV in $ROOT
case "\$PWD" in $ROOT/*) wd=\$PWD ;; *) wd=/ ;; esac
LC_ALL=C.UTF-8 LANG=C.UTF-8 exec unshare --user --map-user=\$(id -u) --map-group=\$(id -g) \\
  --root=$ROOT --wd="\$wd" /usr/lib/postgresql/$PGV/bin/$p "\$@"
SH
    chmod 0755 "$T/pgbin/$p"
  done
  PG_BIN=$T/pgbin
  trap 'rc=$?; rm -f "$INNER_WRAPPER"; cleanup $rc' EXIT
else
  PG_BIN=/usr/lib/postgresql/$PGV/bin
fi
[[ $("$PG_BIN/postgres" --version) == *" $PGV."* ]] ||
  fail "expected PostgreSQL $PGV: $("$PG_BIN/postgres" --version)"

PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "pg-bin=$PG_BIN" "process-max=2" "archive-timeout=60s"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT")
  walden "$T/walden.conf" "$@"
}
sql() { as_pg "$PG_BIN/psql" -h "$T/sock" -p "$1" -U postgres -d "${3:-postgres}" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

# ---- init, archive-push through the server's archive_command, check
# 18 turns data checksums on by itself; the others are asked to
if [[ $PGV -ge 18 ]]; then
  as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync >/dev/null
else
  as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
fi
W --pgdata "$PRIMARY" init >/dev/null
grep -qx "pg-version = ${PGV}0000" "$T/repo/main/cluster.conf" ||
  fail "init recorded $(grep pg-version "$T/repo/main/cluster.conf")"
# walden reads the system identifier from pg_control itself
sysid=$(as_pg "$PG_BIN/pg_controldata" "$PRIMARY" | awk -F': *' '/^Database system identifier/ {print $2}')
grep -qx "system-identifier = $sysid" "$T/repo/main/cluster.conf" ||
  fail "init read $(grep system-identifier "$T/repo/main/cluster.conf"), pg_controldata says $sysid"
pass "init records PostgreSQL $PGV and the system identifier pg_controldata shows"
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
# 17+: WAL summaries in pg_wal/summaries while the backup runs
[[ $PGV -lt 17 ]] || pg_configure "$PRIMARY" "$PORT" <<<"summarize_wal = on"
pg_start "$PRIMARY"
[[ $(sql "$PORT" "SHOW data_checksums") == on ]] || fail "data checksums are off"
sql "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"
sql "$PORT" "INSERT INTO marker VALUES (1, clock_timestamp())"
seg=$(sql "$PORT" "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$PORT" "$seg"
ls "$T/repo/main/wal/"*/"$seg"-* >/dev/null 2>&1 || fail "$seg is not in the repository"
W check >"$T/check.out" 2>&1 || fail "check failed: $(cat "$T/check.out")"
pass "archive_command archives $seg; check passes"

# ---- backup with checksums while pgbench writes, info
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -c 2 -T 6 -n postgres \
  >"$T/pgbench.out" 2>&1 &
bench=$!
sleep 1
W --pgdata "$PRIMARY" backup >"$T/backup.out" 2>&1 || fail "backup failed: $(cat "$T/backup.out")"
wait $bench || fail "pgbench failed: $(cat "$T/pgbench.out")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
[[ -n $id ]] || fail "no backup id: $(cat "$T/backup.out")"
zstd -dcq "$T/repo/main/backup/$id/backup.manifest.zst" >"$T/manifest"
grep -qx "data-checksums = yes" "$T/manifest" || fail "the backup did not check data checksums"
W info >"$T/info.out" || fail "info failed"
grep -q "$id" "$T/info.out" || fail "info does not list $id: $(cat "$T/info.out")"
if [[ $PGV -ge 17 ]]; then
  [[ -n $(ls "$PRIMARY/pg_wal/summaries") ]] || fail "the server wrote no WAL summaries"
  grep -q "pg_wal/." "$T/manifest" && fail "the backup holds files of pg_wal: $(grep pg_wal/ "$T/manifest")"
fi
pass "backup $id under pgbench, checksums verified; info lists it"

sql "$PORT" "INSERT INTO marker VALUES (2, clock_timestamp())"
sleep 1.2
target=$(sql "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1.2
sql "$PORT" "INSERT INTO marker VALUES (3, clock_timestamp())"
seg=$(sql "$PORT" "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$PORT" "$seg"

# ---- restore to the end of the archive and to the target time, each
# started by a server of the same major version
restored() { # NAME WANT_ROWS [restore options]
  local dir=$T/$1 want=$2 port
  shift 2
  port=$(next_port)
  W restore --pgdata "$dir" "$@" >"$T/restore.out" 2>&1 ||
    fail "restore $*: $(cat "$T/restore.out")"
  pg_configure "$dir" "$port" <<<"archive_mode = off"
  pg_start "$dir"
  wait_recovered "$port" "restore $*"
  local got
  got=$(sql "$port" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker")
  [[ $got == "$want" ]] || fail "restore $*: marker rows $got, expected $want"
  [[ $(sql "$port" "SHOW server_version_num") == "$PGV"* ]] || fail "restored server version"
  # the backup leaves pg_wal out, summaries included: the server makes the
  # folders again
  [[ $PGV -lt 17 || -d $dir/pg_wal/summaries ]] || fail "no pg_wal/summaries after the start"
  pg_stop "$dir"
}
restored end 1,2,3
pass "restore to the end of the archive: markers 1,2,3"
restored pitr 1,2 --target-time "$target" --target-action promote
pass "restore to $target: markers 1,2"

# ---- dump, restore-dump, restore-dump --globals
sql "$PORT" "CREATE ROLE app_owner LOGIN PASSWORD 'pw-$PGV'"
sql "$PORT" "CREATE DATABASE app OWNER app_owner"
sql "$PORT" "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 500) g" app
W --expire-auto off dump >"$T/dump.out" 2>&1 || fail "dump failed: $(cat "$T/dump.out")"
app_id=$(awk '/^dump .*: app,/ {sub(":", "", $2); print $2}' "$T/dump.out")
[[ -n $app_id ]] || fail "no dump of app: $(cat "$T/dump.out")"
W restore-dump --set "$app_id" --target-dbname app_copy --create >"$T/rd.out" 2>&1 ||
  fail "restore-dump failed: $(cat "$T/rd.out")"
[[ $(sql "$PORT" "SELECT count(*) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM t" app_copy) == \
  $(sql "$PORT" "SELECT count(*) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM t" app) ]] ||
  fail "app_copy differs from app"
pass "dump and restore-dump --create: equal rows"
# without pg-bin: PATH's pg_dump is the host's 15 (Debian's pg_wrapper),
# too old for 16+, and walden says so instead of running it
if [[ $PGV -gt 15 ]]; then
  grep -v '^pg-bin' "$T/walden.conf" >"$T/nobin.conf"
  chown --reference="$T/walden.conf" "$T/nobin.conf"
  chmod 0600 "$T/nobin.conf"
  expect_status 1 walden "$T/nobin.conf" --pgport "$PORT" --expire-auto off dump --dbname app
  stderr_has "is PostgreSQL 15, the cluster is PostgreSQL $PGV"
  stderr_has "pg-bin"
  pass "without pg-bin, PATH's pg_dump of 15 is refused for a $PGV cluster, naming pg-bin"
fi
sql "$PORT" "DROP DATABASE app_copy"
sql "$PORT" "REASSIGN OWNED BY app_owner TO postgres" app
sql "$PORT" "ALTER DATABASE app OWNER TO postgres"
sql "$PORT" "DROP ROLE app_owner"
W restore-dump --globals >"$T/rg.out" 2>&1 || fail "restore-dump --globals failed: $(cat "$T/rg.out")"
[[ $(sql "$PORT" "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'") == 1 ]] ||
  fail "--globals did not bring back app_owner"
grep -q 'role "postgres" already exists' "$T/rg.out" &&
  fail "restore-dump --globals warns about the role it connects as: $(cat "$T/rg.out")"
pass "restore-dump --globals brings back a dropped role, quietly"

# ---- drill of the backup and of a dump (the drill's server runs pg-bin's
# programs, its restore_command the walden inside the root)
# the scratch folder: short enough for the drill server's socket path (107
# bytes), which must be inside the root
SCR=$T/scr
[[ -z $ROOT ]] || SCR=$ROOT/tmp
as_pg mkdir -p "$SCR"
W --scratch-dir "$SCR" --rpo-target 1h drill >"$T/drill.out" 2>&1 ||
  fail "drill failed: $(cat "$T/drill.out")"
pass "drill of backup $id passes"
W --scratch-dir "$SCR" --rpo-target 1h drill --dump >"$T/drilld.out" 2>&1 ||
  fail "drill --dump failed: $(cat "$T/drilld.out")"
grep -q 'already exists' "$T/drilld.out" && fail "drill --dump warns: $(cat "$T/drilld.out")"
pass "drill --dump (no --dbname) passes, quietly"
# a dump of the postgres database goes into the scratch cluster's own
W --expire-auto off dump --dbname postgres >"$T/dumpp.out" 2>&1 ||
  fail "dump --dbname postgres failed: $(cat "$T/dumpp.out")"
W --scratch-dir "$SCR" --rpo-target 1h drill --dump >"$T/drillp.out" 2>&1 ||
  fail "drill --dump of postgres failed: $(cat "$T/drillp.out")"
grep -q -- 'Z-postgres' "$T/drillp.out" ||
  fail "the drill did not take the postgres dump: $(cat "$T/drillp.out")"
grep -q 'already exists' "$T/drillp.out" && fail "drill --dump warns: $(cat "$T/drillp.out")"
pass "drill --dump of the postgres database passes, quietly"

# ---- verify and expire
W verify >"$T/verify.out" 2>&1 || fail "verify failed: $(cat "$T/verify.out")"
W --retention 1s --retention-full-min 1 expire >"$T/expire.out" 2>&1 ||
  fail "expire failed: $(cat "$T/expire.out")"
W check >"$T/check.out" 2>&1 || fail "check after expire failed: $(cat "$T/check.out")"
pass "verify and expire pass"

# archiver_failures: the server's failed archive_command count so far.
archiver_failures() { sql "$PORT" "SELECT failed_count FROM pg_stat_archiver"; }
# wait_archive_failure N: until the server's archive_command has failed more
# than N times (60 s at most).
wait_archive_failure() {
  for _ in $(seq 1 240); do
    (($(archiver_failures) > $1)) && return
    sleep 0.25
  done
  fail "the server's archive_command did not fail"
}
# wait_archived_since N: until the server's archive_command has succeeded
# more than N times in all (60 s at most): the server runs the command it
# was reloaded with, not the one before
archiver_archived() { sql "$PORT" "SELECT archived_count FROM pg_stat_archiver"; }
wait_archived_since() {
  for _ in $(seq 1 240); do
    (($(archiver_archived) > $1)) && return
    sleep 0.25
  done
  fail "the server's archive_command did not succeed again"
}

# ---- why WAL does not arrive (1): archive-push cannot sign (its signing key
# file is missing); a backup whose WAL wait times out quotes the failure
sql "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf --sign-key-file $T/missing.key archive-push %p'"
sql "$PORT" "SELECT pg_reload_conf()" >/dev/null
failed0=$(archiver_failures)
sql "$PORT" "SELECT pg_switch_wal()" >/dev/null
sql "$PORT" "INSERT INTO marker VALUES (5, clock_timestamp())"
sql "$PORT" "SELECT pg_switch_wal()" >/dev/null
wait_archive_failure "$failed0"
expect_status 1 W --pgdata "$PRIMARY" --archive-timeout 5s backup
grep -q "walden archive-push last failed at .* on 0000.*: .*missing.key" "$T/stdout" "$T/stderr" ||
  fail "backup does not quote archive-push's failure: $(cat "$T/stdout" "$T/stderr")"
sql "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'"
sql "$PORT" "SELECT pg_reload_conf()" >/dev/null
pass "archive-push's failure (its signing key file missing) quoted by backup when its WAL wait times out"

# ---- why WAL does not arrive (2): the server archives into the area of
# another cluster, archive-push refuses its segments, check and metrics
# quote why
as_pg "$PG_BIN/initdb" -D "$T/other" -A trust -U postgres --no-sync >/dev/null
W --cluster other --pgdata "$T/other" init >/dev/null
sql "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf --cluster other archive-push %p'"
sql "$PORT" "SELECT pg_reload_conf()" >/dev/null
failed0=$(archiver_failures)
sql "$PORT" "INSERT INTO marker VALUES (4, clock_timestamp())"
sql "$PORT" "SELECT pg_switch_wal()" >/dev/null
wait_archive_failure "$failed0"
expect_status 1 W --cluster other --archive-timeout 5s check
grep -q "walden archive-push last failed at .* on 0000.*: .*belongs to another cluster" "$T/stdout" "$T/stderr" ||
  fail "check does not quote archive-push's failure: $(cat "$T/stdout" "$T/stderr")"
W --cluster other metrics >"$T/metrics.out" 2>&1 || fail "metrics failed: $(cat "$T/metrics.out")"
grep -q '^walden_archive_push_last_failure_timestamp_seconds{cluster="other",segment="0000[0-9A-F]*",reason=".*belongs to another cluster.*"} [0-9]' "$T/metrics.out" ||
  fail "metrics has no archive-push failure: $(grep archive_push "$T/metrics.out")"
pass "archive-push's failure (a segment of another cluster) quoted by check and metrics"
# the server archives into its own area again (waited for: until then the
# archiver may still run the old command and record its failure anew); a
# success of the other cluster's clears its record
archived0=$(archiver_archived)
sql "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'"
sql "$PORT" "SELECT pg_reload_conf()" >/dev/null
wait_archived_since "$archived0"
compgen -G "$T/locks/other-*-archive-push-failure.state" >/dev/null || fail "the failure record is not in the lock folder"
as_pg "$WALDEN_BIN" --config "$T/walden.conf" --cluster other archive-push "$T/other/pg_wal/000000010000000000000001" ||
  fail "a segment of the other cluster was refused"
compgen -G "$T/locks/other-*-archive-push-failure.state" >/dev/null && fail "a successful push left the failure record"
pass "a successful push clears the record"
finish
