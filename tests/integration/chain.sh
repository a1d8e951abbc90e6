# chain.sh - sourced after lib.sh by the tests of incremental and
# differential backups: taking a backup of a given type, restoring one
# (with its chain) to its consistency point, and comparing what a server
# holds with what another held: every permanent table's rows in physical
# order (ctid), the public relations' kinds, persistence and tablespaces,
# the relation files of a restored data directory, plus amcheck's checks of
# every index and table.

# a failure inside $(...) ends the command substitution there too
shopt -s inherit_errexit

# take_backup CONF TYPE [GLOBAL OPTION]...: walden backup --type TYPE with
# CONF and the options (--pgport P --pgdata D); prints the new backup's id.
# Its output is left in $T/backup.out and $T/backup.err.
take_backup() {
  local conf=$1 type=$2 id
  shift 2
  walden "$conf" "$@" backup --type "$type" >"$T/backup.out" 2>"$T/backup.err" ||
    fail "backup --type $type failed: $(cat "$T/backup.out" "$T/backup.err")"
  id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
  [[ -n $id ]] || fail "backup --type $type printed no id: $(cat "$T/backup.out")"
  echo "$id"
}

# backup_field CONF ID FIELD: the FIELD of backup ID in info's JSON
# ("null" for a JSON null; lists joined by commas)
backup_field() {
  walden "$1" info --output json >"$T/info.json" 2>"$T/info.err" ||
    fail "info --output json failed: $(cat "$T/info.err")"
  python3 - "$T/info.json" "$2" "$3" <<'PY' || fail "backup $2 has no field $3: $(cat "$T/info.json")"
import json, sys
for c in json.load(open(sys.argv[1]))["clusters"]:
    for b in c["backups"]:
        if b["id"] == sys.argv[2]:
            v = b[sys.argv[3]]
            print("null" if v is None else ",".join(map(str, v)) if isinstance(v, list) else v)
            sys.exit(0)
sys.exit(1)
PY
}

# expect_backup CONF ID TYPE REFERENCE: info shows backup ID with that type
# and reference ("null" for none)
expect_backup() {
  local t r
  t=$(backup_field "$1" "$2" type)
  r=$(backup_field "$1" "$2" reference)
  [[ $t == "$3" && $r == "$4" ]] ||
    fail "backup $2 is of type $t with reference $r, expected $3 with reference $4"
}

# psql_db PORT DB: runs the SQL on stdin in database DB (psql's \gexec works)
psql_db() {
  as_pg psql -h "$T/sock" -p "$1" -U postgres -d "$2" -XAtq -v ON_ERROR_STOP=1 -f -
}

# databases PORT: every database that takes connections
databases() { psql_c "$1" "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1"; }

# db_checksums PORT: one line per permanent table of every database,
# "DB|TABLE|MD5", the MD5 over its rows in ctid order (each row with its
# ctid: a physical restore keeps every tuple where it was), then per
# database one line of its public relations (kind, persistence, tablespace).
# Unlogged and temporary tables are left out: a restore empties them.
db_checksums() {
  local port=$1 db
  for db in $(databases "$port"); do
    psql_db "$port" "$db" <<'SQL' | sed "s/^/$db|/"
SELECT format('SELECT %L, md5(coalesce(string_agg(md5(_r.ctid::text || '':'' || _r::text), '''' ORDER BY _r.ctid), '''')) FROM %s _r',
              c.oid::regclass::text, c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY 1 \gexec
SELECT '(relations)', coalesce(string_agg(format('%s:%s:%s:%s', c.relname, c.relkind, c.relpersistence,
                                                 coalesce(t.spcname, 'default')), ',' ORDER BY c.relname), '')
FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
WHERE c.relnamespace = 'public'::regnamespace AND c.relpersistence <> 't';
SQL
  done
}

# amcheck_all PORT WHAT: amcheck in every database of the server on PORT:
# bt_index_check (with heapallindexed) of every btree index, verify_heapam of
# every table, materialized view and TOAST table; fails naming WHAT at the
# first corruption. Prints the numbers of indexes and tables checked.
AMCHECK_SQL="CREATE EXTENSION IF NOT EXISTS amcheck;
SELECT count(bt_index_check(c.oid, true))
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisvalid AND i.indisready;
SELECT count(*) FROM pg_class c WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't';
SELECT coalesce(string_agg(format('%s block %s offset %s: %s', c.oid::regclass, v.blkno, v.offnum, v.msg), '; '), '')
FROM pg_class c CROSS JOIN LATERAL verify_heapam(c.oid) v
WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't';"
amcheck_all() {
  local port=$1 what=$2 db out idx=0 tab=0 lines
  for db in $(databases "$port"); do
    out=$(psql_db "$port" "$db" <<<"$AMCHECK_SQL" 2>&1) || fail "$what: amcheck of database $db: $out"
    mapfile -t lines <<<"$out"
    [[ -z ${lines[2]:-} ]] || fail "$what: verify_heapam in database $db: ${lines[2]}"
    idx=$((idx + lines[0]))
    tab=$((tab + lines[1]))
  done
  echo "$idx indexes and $tab tables"
}

# restore_set NAME ID CONF [RESTORE OPTION]...: restores backup ID (its
# chain) of CONF's repository with --type immediate into $T/r-NAME
restore_set() {
  local name=$1 id=$2 conf=$3
  shift 3
  walden "$conf" --pgdata "$T/r-$name" restore --set "$id" --type immediate --target-action promote "$@" \
    >"$T/restore.out" 2>"$T/restore.err" || fail "$name: restore of $id failed: $(cat "$T/restore.err")"
}

# start_restored NAME PORT: starts the server restored into $T/r-NAME on
# PORT and waits until it has left recovery
start_restored() {
  local dir=$T/r-$1
  pg_configure "$dir" "$2" <<<"archive_mode = off"
  pg_start "$dir" || fail "$1: the restored server did not start: $(tail -5 "$dir.log")"
  wait_recovered "$2" "$1"
}

# restore_chain NAME ID PORT CONF [RESTORE OPTION]...: restore_set, then
# start_restored on PORT
restore_chain() {
  local name=$1 id=$2 port=$3 conf=$4
  shift 4
  restore_set "$name" "$id" "$conf" "$@"
  start_restored "$name" "$port"
}

# incr_or_full CONF ID REFERENCE WHAT: backup ID (just taken, its output
# still in $T/backup.*) is an incremental of REFERENCE, or a full that said
# why it is one; prints which
incr_or_full() {
  local t r
  t=$(backup_field "$1" "$2" type)
  r=$(backup_field "$1" "$2" reference)
  if [[ $t == incr && $r == "$3" ]]; then
    echo "an incremental of $3"
  elif [[ $t == full && $r == null ]]; then
    grep -h "no backup for --type incr to refer to (.*): taking a full backup" "$T/backup.out" "$T/backup.err" ||
      fail "$4: backup --type incr took a full without saying why: $(cat "$T/backup.out" "$T/backup.err")"
  else
    fail "$4: backup $2 is of type $t with reference $r, expected incr of $3 or a full"
  fi
}

# relation_files DIR: the relation files of the data directory DIR (under
# base/ and the tablespaces), one path a line, sorted; of an unlogged
# relation (one with an init fork) only the init fork, the one a backup keeps
relation_files() {
  python3 - "$1" <<'PY'
import os, re, sys
top, files = sys.argv[1], []
for sub in ("base", "pg_tblspc"):
    for d, _, names in os.walk(os.path.join(top, sub), followlinks=True):
        files += [os.path.relpath(os.path.join(d, n), top) for n in names
                  if re.fullmatch(r"[0-9]+(_(fsm|vm|init))?(\.[0-9]+)?", n)]
unlogged = {f[:-5] for f in files if f.endswith("_init")}
for f in sorted(files):
    if f.endswith("_init") or re.sub(r"(_(fsm|vm))?(\.[0-9]+)?$", "", f) not in unlogged:
        print(f)
PY
}

# same_files WHAT DIR RESTORED: the restored data directory (before its
# server starts) has the relation files DIR has, no more, no fewer
same_files() {
  relation_files "$2" >"$T/want.files"
  relation_files "$3" >"$T/got.files"
  diff "$T/want.files" "$T/got.files" >"$T/files.diff" ||
    fail "$1: relation files differ (< the server's, > restored): $(cat "$T/files.diff")"
}

# same_tables WHAT WANT_FILE PORT: the server on PORT holds what WANT_FILE
# (db_checksums' output of the other server) says, table by table
same_tables() {
  db_checksums "$3" >"$T/got.sums"
  diff "$2" "$T/got.sums" >"$T/sums.diff" || fail "$1: tables differ (< expected, > restored): $(cat "$T/sums.diff")"
}

# drop_server DIR: stops the server of DIR and removes DIR
drop_server() {
  pg_stop "$1"
  rm -rf "$1"
}

# archive_to_both PORT CONF_A CONF_B: the server on PORT archives every WAL
# file into both repositories (each one's backups restore from its own)
archive_to_both() {
  psql_c "$1" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $2 archive-push %p && $WALDEN_BIN --config $3 archive-push %p'"
  psql_c "$1" "SELECT pg_reload_conf()" >/dev/null
}
