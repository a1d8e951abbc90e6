#!/usr/bin/env bash
# label: slow
# A Debian cluster (pg_createcluster: its postgresql.conf and pg_hba.conf in
# /etc/postgresql/15/NAME, its socket in /var/run/postgresql) on a port other
# than 5432, backed up and restored by the procedure of docs/debian.md,
# checked by marker rows: walden check and backup find the server through
# pgdata's postmaster.pid (no pghost, no pgport); a restore into a new
# cluster made with pg_createcluster, started with pg_ctlcluster; and the
# disaster case, a restore into the cluster's own data directory. Needs
# root (pg_createcluster) and postgresql-common.
source "$(dirname "$0")/lib.sh"
unset PGHOST PGPORT PGHOSTADDR

need_debian_tools

NAME=wdtest$$
NEW=wdnew$$
PORT=$(next_port)
PORT2=$(next_port)
DATA=/var/lib/postgresql/15/$NAME
DATA2=/var/lib/postgresql/15/$NEW
drop_clusters() {
  local rc=$?
  for c in "$NAME" "$NEW"; do
    pg_dropcluster --stop 15 "$c" >/dev/null 2>&1 || true
    rm -rf "/var/lib/postgresql/15/$c" "/var/lib/postgresql/15/$c.damaged"
  done
  cleanup "$rc"
}
trap drop_clusters EXIT

# dpsql PORT SQL: as psql_c, through Debian's socket directory
dpsql() {
  as_pg psql -h /var/run/postgresql -p "$1" -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$2"
}
# markers_of PORT NAME WANT: once PORT's server has left recovery, its
# markers are WANT
markers_of() {
  local got=''
  wait_until f "$2: in recovery" dpsql "$1" "SELECT pg_is_in_recovery()"
  got=$(dpsql "$1" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker")
  [[ $got == "$3" ]] || fail "$2: markers '$got', expected '$3'"
}

pg_createcluster 15 "$NAME" -p "$PORT" >/dev/null
[[ ! -e $DATA/postgresql.conf && -f /etc/postgresql/15/$NAME/postgresql.conf ]] ||
  fail "pg_createcluster did not keep the configuration in /etc"
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "expire-auto=no" "pgdata=$DATA"
walden "$T/walden.conf" init >/dev/null
cat >"/etc/postgresql/15/$NAME/conf.d/walden.conf" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
pg_ctlcluster 15 "$NAME" start

# ---- check and backup with neither pghost nor pgport: postmaster.pid's
walden "$T/walden.conf" check >"$T/out" 2>"$T/err" || fail "check failed: $(cat "$T/out" "$T/err")"
# without pgdata, libpq's default (port 5432) is not this server
write_conf "$T/nopgdata.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "lock-path=$T/locks"
expect_status 1 walden "$T/nopgdata.conf" check
grep -q "5432" "$T/stdout" "$T/stderr" || fail "check without pgdata did not try 5432: $(cat "$T/stdout" "$T/stderr")"
pass "check finds the cluster on port $PORT in /var/run/postgresql through pgdata's postmaster.pid"

dpsql "$PORT" "CREATE TABLE marker(id int primary key)"
dpsql "$PORT" "INSERT INTO marker VALUES (1)"
walden "$T/walden.conf" backup >"$T/out" 2>"$T/err" || fail "backup failed: $(cat "$T/out" "$T/err")"
dpsql "$PORT" "INSERT INTO marker VALUES (2)"
last=$(dpsql "$PORT" "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$PORT" "$last" dpsql
pass "backup of the Debian cluster, markers 1 (in it) and 2 (archived after it)"

# ---- into a new Debian cluster: pg_createcluster, empty its data
# directory, restore into it, start it with pg_ctlcluster (docs/debian.md)
pg_createcluster 15 "$NEW" -p "$PORT2" >/dev/null
rm -rf "$DATA2"
walden "$T/walden.conf" --pgdata "$DATA2" restore >"$T/out" 2>"$T/err" ||
  fail "restore into the new cluster failed: $(cat "$T/err")"
pg_ctlcluster 15 "$NEW" start || fail "pg_ctlcluster could not start the restored cluster: $(tail -5 "/var/log/postgresql/postgresql-15-$NEW.log")"
markers_of "$PORT2" "new cluster" "1,2"
[[ $(dpsql "$PORT2" "SHOW archive_mode") == off ]] || fail "the restored copy archives"
[[ $(dpsql "$PORT2" "SHOW config_file") == /etc/postgresql/15/$NEW/postgresql.conf ]] ||
  fail "the restored cluster does not run on its own configuration"
pg_ctlcluster 15 "$NEW" stop
pass "restored into a new pg_createcluster cluster on port $PORT2, started by pg_ctlcluster: markers 1,2, archive_mode off"

# ---- the disaster case: the cluster's own data directory, restored in place
dpsql "$PORT" "INSERT INTO marker VALUES (3)"
last=$(dpsql "$PORT" "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$PORT" "$last" dpsql
pg_ctlcluster 15 "$NAME" stop
mv "$DATA" "$DATA.damaged"
walden "$T/walden.conf" restore --archive-mode preserve >"$T/out" 2>"$T/err" ||
  fail "restore into the cluster's own directory failed: $(cat "$T/err")"
pg_ctlcluster 15 "$NAME" start || fail "pg_ctlcluster could not start the restored cluster"
markers_of "$PORT" "same cluster" "1,2,3"
[[ $(dpsql "$PORT" "SHOW archive_mode") == on ]] || fail "--archive-mode preserve did not keep archiving"
pass "restored in place into the Debian cluster's data directory: markers 1,2,3, archiving kept"
finish
