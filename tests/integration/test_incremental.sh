#!/usr/bin/env bash
# Incremental and differential backups against a real PostgreSQL 15 (data
# checksums off, wal_log_hints off), each proven by restoring it to its
# consistency point (--type immediate) and comparing with what the primary
# held at that point, writes stopped in between: marker rows committed in a
# known order, every permanent table's rows in ctid order in every database
# (chain.sh), the relations' kinds and tablespaces, the relation files in
# the restored directory (no more, no fewer than the server's), and amcheck.
# The chain:
#   full F (asked as --type incr with an empty repository: a full, said so),
#   incr I1, incr I2, diff D (refers to F), with in between:
#   - CREATE DATABASE ... STRATEGY FILE_COPY from a template changed before F;
#   - ALTER TABLE ... SET TABLESPACE into a tablespace (--tablespace-map);
#   - an unlogged table (init fork restored, data empty) and one turned
#     logged (SET LOGGED);
#   - TRUNCATE, DELETE + VACUUM that truncates the end of a table, a table
#     growing past many blocks and past a 64 MiB part (and truncated back
#     below it), DROP and CREATE of a table of the same name, VACUUM FULL,
#     DROP DATABASE and CREATE DATABASE with the same OID (same paths);
#   - tables only read (hint bits set, nothing written) between backups.
# --type incr with --full-fallback no and no backup is refused (status 1).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/chain.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pguser=postgres" "process-max=2" "expire-auto=no" \
  "pghost=$T/sock" "pgport=$PORT" "pgdata=$PRIMARY"
archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
# no autovacuum: after a backup the server's files stay what it copied
psql_c "$PORT" "ALTER SYSTEM SET autovacuum = off"
psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
W() { walden "$T/walden.conf" "$@"; }
sql() { psql_c "$PORT" "$1"; }
sql_in() { psql_db "$PORT" "$1" <<<"$2" >/dev/null; }
markers() { psql_c "$1" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker"; }
# expect_chain ID IDS: info's chain of backup ID, from its full
expect_chain() {
  local got
  got=$(backup_field "$T/walden.conf" "$1" chain)
  [[ $got == "$2" ]] || fail "info shows the chain of $1 as $got, expected $2"
}

# ---- the cluster before the full backup
sql "CREATE TABLE marker(id int primary key)"
sql "CREATE TABLE acct(id int primary key, v int not null, pad text)
     WITH (fillfactor = 90)"
sql "INSERT INTO acct SELECT g, g % 100, md5(g::text) FROM generate_series(1, 20000) g"
sql "CREATE INDEX acct_v ON acct(v)"
# the template FILE_COPY copies later, changed now
sql_in template1 "CREATE TABLE tmpl(id int primary key, v text);
                  INSERT INTO tmpl SELECT g, md5(g::text) FROM generate_series(1, 3000) g;"
as_pg mkdir "$T/ts1"
sql "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
ts_oid=$(sql "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")
sql "CREATE TABLE in_ts(id int primary key, v text) TABLESPACE ts1"
sql "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 2000) g"
sql "CREATE TABLE moving(id int primary key, v text)"
sql "INSERT INTO moving SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
sql "CREATE UNLOGGED TABLE unl(id int primary key, v text)"
sql "INSERT INTO unl SELECT g, md5(g::text) FROM generate_series(1, 2000) g"
sql "CREATE UNLOGGED TABLE unl2log(id int primary key, v text)"
sql "INSERT INTO unl2log SELECT g, md5(g::text) FROM generate_series(1, 3000) g"
sql "CREATE TABLE trunc_all(id int primary key, v text)"
sql "INSERT INTO trunc_all SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
sql "CREATE TABLE trunc_tail(id int primary key, v text)"
sql "INSERT INTO trunc_tail SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
sql "CREATE TABLE grow(id int, v text)"
sql "INSERT INTO grow VALUES (1, 'one block')"
sql "CREATE TABLE recreated(id int primary key, v text)"
sql "INSERT INTO recreated SELECT g, 'old ' || g FROM generate_series(1, 3000) g"
sql "CREATE TABLE rewritten(id int primary key, v text)"
sql "INSERT INTO rewritten SELECT g, md5(g::text) FROM generate_series(1, 4000) g"
# about 56 MiB (8 rows of 1 KiB a block), to grow past the first 64 MiB part later
sql "CREATE TABLE big(id int, pad text)"
sql "INSERT INTO big SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 57000) g"
# written now, read (hint bits) only after the full backup
sql "CREATE TABLE hints(id int, v text)"
sql "INSERT INTO hints SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
# a database dropped and created again with the same OID later: the same
# paths (its catalogs) with other bytes, and fewer files
sql "CREATE DATABASE reborn OID = 60000"
sql_in reborn "CREATE TABLE old_rows(id int primary key, v text);
               INSERT INTO old_rows SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
               DELETE FROM old_rows WHERE id % 2 = 0; VACUUM old_rows;"
sql "INSERT INTO marker VALUES (1)"
unl_path=$(sql "SELECT pg_relation_filepath('unl')")

# check_point NAME ID MARKERS: restores ID into $T/r-NAME (the tablespace
# into $T/ts-NAME), compares it with the primary (writes stopped since ID)
check_point() {
  local name=$1 id=$2 want=$3 dir=$T/r-$1 got
  db_checksums "$PORT" >"$T/want.sums"
  [[ $(markers "$PORT") == "$want" ]] || fail "$name: the primary holds markers $(markers "$PORT"), expected $want"
  restore_set "$name" "$id" "$T/walden.conf" --tablespace-map "$ts_oid=$T/ts-$name"
  [[ -f $dir/${unl_path}_init ]] || fail "$name: the unlogged table's init fork was not restored"
  same_files "$name" "$PRIMARY" "$dir"
  start_restored "$name" "$PORT2"
  got=$(markers "$PORT2")
  [[ $got == "$want" ]] || fail "$name: markers '$got', expected '$want'"
  same_tables "$name" "$T/want.sums" "$PORT2"
  [[ $(psql_c "$PORT2" "SELECT count(*) FROM unl") == 0 ]] || fail "$name: the unlogged table is not empty"
  local checked
  checked=$(amcheck_all "$PORT2" "$name")
  pass "$name ($id): markers $got; $(grep -c . "$T/want.files") relation files, $(grep -vc '|(relations)|' "$T/want.sums") tables and relation lists equal the primary's; amcheck of $checked"
  drop_server "$dir"
  rm -rf "$T/ts-$name"
}

# ---- --type incr with an empty repository: a full, said so; with
# --full-fallback no: refused (another repository of the same cluster)
write_conf "$T/other.conf" "repo=$T/other" "lock-path=$T/locks" "pguser=postgres" \
  "expire-auto=no" "pghost=$T/sock" "pgport=$PORT" "pgdata=$PRIMARY"
walden "$T/other.conf" init >/dev/null || fail "walden init of the second repository failed"
expect_status 1 walden "$T/other.conf" --full-fallback no backup --type incr
stderr_has "no backup for --type incr to refer to"
[[ -z $(ls -A "$T/other/main/backup" 2>/dev/null) ]] ||
  fail "a refused backup stored something: $(ls -A "$T/other/main/backup")"
pass "--type incr --full-fallback no without a prior backup refused: $(cat "$T/stderr")"

F=$(take_backup "$T/walden.conf" incr)
grep -q "no backup for --type incr to refer to (.*): taking a full backup" "$T/backup.out" "$T/backup.err" ||
  fail "backup --type incr without a prior backup does not say it takes a full: $(cat "$T/backup.out" "$T/backup.err")"
expect_backup "$T/walden.conf" "$F" full null
pass "--type incr with an empty repository took full backup $F and said so"
check_point full "$F" 1
fsize=$(backup_field "$T/walden.conf" "$F" stored_size)

# ---- changes, then incr I1
sql "INSERT INTO marker VALUES (2)"
sql "UPDATE acct SET v = v + 1 WHERE id % 50 = 0"
sql "CREATE DATABASE fc TEMPLATE template1 STRATEGY FILE_COPY"
sql "ALTER TABLE moving SET TABLESPACE ts1"
sql "INSERT INTO in_ts SELECT g, 'new' FROM generate_series(2001, 2500) g"
sql "INSERT INTO unl SELECT g, 'more' FROM generate_series(2001, 4000) g"
sql "ALTER TABLE unl2log SET LOGGED"
sql "TRUNCATE trunc_all"
tail_size=$(sql "SELECT pg_relation_size('trunc_tail')")
sql "DELETE FROM trunc_tail WHERE id > 3000"
sql "VACUUM trunc_tail"
sql "INSERT INTO grow SELECT g, md5(g::text) FROM generate_series(2, 3000) g"
sql "DROP TABLE recreated"
sql "CREATE TABLE recreated(id int primary key, v text)"
sql "INSERT INTO recreated SELECT g, 'new ' || g FROM generate_series(1, 2000) g"
sql "SELECT count(*) FROM hints" >/dev/null
[[ $(sql "SELECT pg_relation_size('trunc_tail') < $tail_size / 4") == t ]] ||
  fail "VACUUM did not truncate trunc_tail ($(sql "SELECT pg_relation_size('trunc_tail')") bytes)"
[[ $(sql "SELECT pg_relation_size('grow') > 10 * 8192") == t ]] || fail "grow did not grow past 10 blocks"
I1=$(take_backup "$T/walden.conf" incr)
expect_backup "$T/walden.conf" "$I1" incr "$F"
expect_chain "$I1" "$F,$I1"
check_point incr1 "$I1" 1,2

# ---- more changes (big grows past its first 64 MiB part), then incr I2
sql "INSERT INTO marker VALUES (3)"
sql "UPDATE big SET id = -id WHERE id IN (5, 30000, 56000)"
sql "INSERT INTO big SELECT g, repeat(md5(g::text), 30) FROM generate_series(57001, 66000) g"
[[ $(sql "SELECT pg_relation_size('big') > 64 * 1024 * 1024") == t ]] ||
  fail "big is not past 64 MiB ($(sql "SELECT pg_relation_size('big')") bytes)"
sql_in fc "INSERT INTO tmpl VALUES (3001, 'in the copied database'); DELETE FROM tmpl WHERE id < 10"
sql "UPDATE moving SET v = 'moved' WHERE id % 10 = 0"
sql "INSERT INTO unl2log SELECT g, 'logged now' FROM generate_series(3001, 3500) g"
sql "INSERT INTO trunc_all SELECT g, 'after truncate' FROM generate_series(1, 100) g"
sql "VACUUM FULL rewritten"
sql "DROP DATABASE reborn"
sql "CREATE DATABASE reborn OID = 60000 STRATEGY WAL_LOG"
sql_in reborn "CREATE TABLE new_rows(id int primary key); INSERT INTO new_rows VALUES (1), (2)"
sql "SELECT count(*) FROM grow" >/dev/null
I2=$(take_backup "$T/walden.conf" incr)
expect_backup "$T/walden.conf" "$I2" incr "$I1"
expect_chain "$I2" "$F,$I1,$I2"
check_point incr2 "$I2" 1,2,3

# ---- more changes, then diff D: against F, it holds all of I1's and I2's
sql "INSERT INTO marker VALUES (4)"
sql "DELETE FROM acct WHERE id % 3 = 0"
sql "CREATE INDEX acct_pad ON acct(pad)"
sql "TRUNCATE grow"
sql "INSERT INTO grow VALUES (7, 'after truncate')"
sql "DROP TABLE hints"
sql "ALTER TABLE in_ts SET TABLESPACE pg_default"
sql "DELETE FROM big WHERE id > 60000"
sql "VACUUM big"
[[ $(sql "SELECT pg_relation_size('big') < 64 * 1024 * 1024") == t ]] ||
  fail "VACUUM did not truncate big below 64 MiB ($(sql "SELECT pg_relation_size('big')") bytes)"
D=$(take_backup "$T/walden.conf" diff)
expect_backup "$T/walden.conf" "$D" diff "$F"
expect_chain "$D" "$F,$D"
check_point diff "$D" 1,2,3,4

# the incrementals store less than the full
for id in "$I1" "$I2"; do
  s=$(backup_field "$T/walden.conf" "$id" stored_size)
  [[ $s -lt $fsize ]] || fail "incremental $id stores $s bytes, the full $F $fsize"
done
pass "I1 and I2 each store less than F ($fsize bytes)"

pg_stop "$PRIMARY"
finish
