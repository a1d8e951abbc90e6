#!/usr/bin/env bash
# Incremental backups of clusters whose pages change without the usual
# traces, against a real PostgreSQL 15, each proven by restoring to the
# backup's consistency point and comparing with the server (chain.sh):
#   1. hint bits only: a table read (SELECT sets its tuples' hint bits) and
#      not written between a full and an incr, with data checksums off
#      (no WAL at all for it), with checksums on (initdb -k) and with
#      wal_log_hints = on. The restored file is byte for byte the server's
#      file at the incr (which differs from the full's), the tables equal,
#      amcheck passes, and with checksums pg_checksums --check passes;
#   2. a promoted standby: a standby of the primary (pg_basebackup) is
#      promoted while the old primary goes on alone (its WAL lost); an incr
#      of the promoted server refers to the full of the old primary (or is
#      a full that says why), and restores to the promoted server's rows
#      and relation files;
#   3. the old primary rewound by pg_rewind to follow the promoted one, then
#      promoted in its turn: an incr referring to its own pre-rewind full
#      (a second repository that both archive into) restores to its rows,
#      none of its lost ones.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/chain.sh"

PORT2=$(next_port)
markers() { psql_c "$1" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker"; }
# conf NAME DIR PORT: the config $T/NAME.conf of repository $T/repo-NAME for
# the server in DIR on PORT
conf() {
  write_conf "$T/$1.conf" "repo=$T/repo-$1" "lock-path=$T/locks" "pguser=postgres" \
    "process-max=2" "expire-auto=no" "pghost=$T/sock" "pgport=$3" "pgdata=$2"
}

# ---- 1. hint bits only
# hint_case NAME [INITDB_ARG]: a cluster of its own, settings on stdin
hint_case() {
  local name=$1 dir=$T/hint-$1 port checked
  port=$(next_port)
  conf "$name" "$dir" "$port"
  INITDB_ARGS=${2:-} archiving_primary "$dir" "$port" "$T/$name.conf"
  { echo "autovacuum = off"; cat; } | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
  pg_stop "$dir"
  pg_start "$dir"
  psql_c "$port" "CREATE TABLE hb(id int primary key, v text)"
  psql_c "$port" "INSERT INTO hb SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
  psql_c "$port" "CREATE TABLE marker(id int primary key)"
  psql_c "$port" "INSERT INTO marker VALUES (1)"
  local path f i
  path=$dir/$(psql_c "$port" "SELECT pg_relation_filepath('hb')")
  f=$(take_backup "$T/$name.conf" full)
  cp "$path" "$T/hb-full"
  # read only: hint bits set in memory, written by the incr's checkpoint
  psql_c "$port" "SELECT count(*) FROM hb WHERE v <> ''" >/dev/null
  i=$(take_backup "$T/$name.conf" incr)
  expect_backup "$T/$name.conf" "$i" incr "$f"
  cp "$path" "$T/hb-incr"
  ! cmp -s "$T/hb-full" "$T/hb-incr" || fail "$name: reading hb changed nothing in its file"
  db_checksums "$port" >"$T/want.sums"
  restore_set "$name" "$i" "$T/$name.conf"
  cmp "$T/hb-incr" "$T/r-$name/${path#"$dir/"}" >"$T/cmp.out" ||
    fail "$name: the restored hb differs from the server's at the incr: $(cat "$T/cmp.out")"
  start_restored "$name" "$PORT2"
  [[ $(markers "$PORT2") == 1 ]] || fail "$name: markers $(markers "$PORT2"), expected 1"
  same_tables "$name" "$T/want.sums" "$PORT2"
  checked=$(amcheck_all "$PORT2" "$name")
  pg_stop "$T/r-$name"
  if [[ $2 == -k ]]; then
    as_pg "$PG_BIN/pg_checksums" --check -D "$T/r-$name" >"$T/checksums.out" 2>&1 ||
      fail "$name: pg_checksums --check of the restored cluster: $(cat "$T/checksums.out")"
    checked="$checked, pg_checksums --check"
  fi
  pass "hint bits only, $name: hb's restored file is the server's at incr $i, not the full's; tables equal, amcheck of $checked"
  rm -rf "$T/r-$name"
  drop_server "$dir"
}
hint_case checksums-off "" </dev/null
hint_case checksums-on -k </dev/null
hint_case wal-log-hints "" <<<"wal_log_hints = on"

# ---- 2. a promoted standby
PRIMARY=$T/primary
PORT=$(next_port)
SPORT=$(next_port)
STANDBY=$T/standby
conf a "$PRIMARY" "$PORT"
conf b "$PRIMARY" "$PORT"
archiving_primary "$PRIMARY" "$PORT" "$T/a.conf"
# pg_rewind needs wal_log_hints, and the WAL since the last common checkpoint
psql_c "$PORT" "ALTER SYSTEM SET wal_log_hints = on"
psql_c "$PORT" "ALTER SYSTEM SET wal_keep_size = '512MB'"
# no autovacuum: after a backup the server's files stay what it copied
psql_c "$PORT" "ALTER SYSTEM SET autovacuum = off"
pg_stop "$PRIMARY"
pg_start "$PRIMARY"
walden "$T/b.conf" init >/dev/null || fail "walden init of repository b failed"
archive_to_both "$PORT" "$T/a.conf" "$T/b.conf"
psql_c "$PORT" "CREATE TABLE marker(id int primary key)"
psql_c "$PORT" "CREATE TABLE acct(id int primary key, v int not null, pad text)"
psql_c "$PORT" "INSERT INTO acct SELECT g, 0, md5(g::text) FROM generate_series(1, 30000) g"
psql_c "$PORT" "INSERT INTO marker VALUES (1)"
FA=$(take_backup "$T/a.conf" full)
FB=$(take_backup "$T/b.conf" full)
as_pg "$PG_BIN/pg_basebackup" -h "$T/sock" -p "$PORT" -U postgres -D "$STANDBY" -R -X stream -c fast ||
  fail "pg_basebackup of the standby failed"
pg_configure "$STANDBY" "$SPORT" </dev/null
pg_start "$STANDBY"
psql_c "$PORT" "INSERT INTO marker VALUES (2)"
psql_c "$PORT" "UPDATE acct SET v = 2 WHERE id % 7 = 0"
wait_until 1,2 "marker 2 on the standby" markers "$SPORT"
# the primary's WAL so far is archived, the rest is lost with it
wait_archived "$PORT" "$(switch_wal "$PORT")"
psql_c "$PORT" "ALTER SYSTEM SET archive_command = 'true'"
psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$STANDBY" -w promote >/dev/null || fail "the standby did not promote"
wait_recovered "$SPORT" "the promoted standby"
# both write: the old primary what is lost, the promoted one what stays
psql_c "$PORT" "INSERT INTO marker VALUES (100)"
psql_c "$PORT" "UPDATE acct SET v = 100 WHERE id % 3 = 0"
psql_c "$PORT" "CHECKPOINT"
psql_c "$SPORT" "INSERT INTO marker VALUES (3)"
psql_c "$SPORT" "UPDATE acct SET v = 3 WHERE id % 5 = 0"
psql_c "$SPORT" "INSERT INTO acct SELECT g, 3, 'promoted' FROM generate_series(30001, 31000) g"
IS=$(take_backup "$T/a.conf" incr --pgport "$SPORT" --pgdata "$STANDBY")
what=$(incr_or_full "$T/a.conf" "$IS" "$FA" "the promoted standby")
db_checksums "$SPORT" >"$T/want.sums"
restore_set promoted "$IS" "$T/a.conf"
same_files promoted "$STANDBY" "$T/r-promoted"
start_restored promoted "$PORT2"
[[ $(markers "$PORT2") == 1,2,3 ]] || fail "promoted: markers $(markers "$PORT2"), expected 1,2,3"
same_tables promoted "$T/want.sums" "$PORT2"
checked=$(amcheck_all "$PORT2" promoted)
pass "promoted standby: backup --type incr $IS is $what; restored: markers 1,2,3, relation files and tables equal the promoted server's, amcheck of $checked"
drop_server "$T/r-promoted"

# ---- 3. the old primary rewound to follow the promoted one
pg_stop "$PRIMARY"
as_pg "$PG_BIN/pg_rewind" --target-pgdata "$PRIMARY" -R \
  --source-server "host=$T/sock port=$SPORT user=postgres dbname=postgres" >"$T/rewind.out" 2>&1 ||
  fail "pg_rewind failed: $(cat "$T/rewind.out")"
grep -q "Done!" "$T/rewind.out" || fail "pg_rewind did not rewind: $(cat "$T/rewind.out")"
pg_configure "$PRIMARY" "$PORT" </dev/null
pg_start "$PRIMARY"
psql_c "$SPORT" "INSERT INTO marker VALUES (4)"
wait_until 1,2,3,4 "marker 4 on the rewound old primary" markers "$PORT"
# switch over: the promoted server stops, the rewound one takes over
pg_stop "$STANDBY"
as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY" -w promote >/dev/null || fail "the rewound old primary did not promote"
wait_recovered "$PORT" "the rewound old primary"
psql_c "$PORT" "INSERT INTO marker VALUES (5)"
psql_c "$PORT" "UPDATE acct SET v = 5 WHERE id % 11 = 0"
IP=$(take_backup "$T/b.conf" incr)
what=$(incr_or_full "$T/b.conf" "$IP" "$FB" "the rewound old primary")
IPA=$(take_backup "$T/a.conf" incr)
what_a=$(incr_or_full "$T/a.conf" "$IPA" "$IS" "the rewound old primary in repository a")
db_checksums "$PORT" >"$T/want.sums"
for r in "b $IP" "a $IPA"; do
  read -r repo id <<<"$r"
  restore_set "rewound-$repo" "$id" "$T/$repo.conf"
  same_files "rewound-$repo" "$PRIMARY" "$T/r-rewound-$repo"
  start_restored "rewound-$repo" "$PORT2"
  [[ $(markers "$PORT2") == 1,2,3,4,5 ]] || fail "rewound-$repo: markers $(markers "$PORT2"), expected 1,2,3,4,5"
  same_tables "rewound-$repo" "$T/want.sums" "$PORT2"
  checked=$(amcheck_all "$PORT2" "rewound-$repo")
  drop_server "$T/r-rewound-$repo"
done
pass "rewound old primary: incr $IP in repository b is $what, incr $IPA in a is $what_a; both restored: markers 1,2,3,4,5 (not its lost 100), relation files and tables equal, amcheck of $checked"

pg_stop "$PRIMARY"
finish
