#!/usr/bin/env bash
# walden dump and restore-dump against a real PostgreSQL 15, into an
# encrypted repository: a database with several schemas, large objects,
# the pg_trgm and pgcrypto extensions, roles and grants, and a second
# database whose name needs quoting.
#   - dump (all databases + globals) stores no plaintext and lists in info;
#   - restore-dump --create, streamed and with --jobs 2, gives a database
#     whose pg_dump --schema-only equals the source's, with equal ordered
#     table checksums and large objects; --jobs leaves no temporary file;
#   - --to-file writes a dump pg_restore -l reads; it never overwrites;
#   - a single table comes back through pg_restore arguments after --;
#   - --globals brings back a dropped role with its password;
#   - a pg_dump that fails (a table the role may not read) or is killed
#     midway leaves a dump marked failed, with no data, that restore-dump
#     refuses; the error names the database and the cause.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2"
pg_init "$PRIMARY"
walden "$T/walden.conf" --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" </dev/null
pg_start "$PRIMARY"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT")
  walden "$T/walden.conf" "$@"
}
# psql_db DB SQL
psql_db() {
  as_pg psql -h "$T/sock" -p "$PORT" -U postgres -d "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

# ---- the source: schemas, extensions, large objects, roles
psql_c "$PORT" "CREATE ROLE app_owner LOGIN PASSWORD 'owner-secret'"
psql_c "$PORT" "CREATE ROLE auditor LOGIN PASSWORD 'audit-secret' VALID UNTIL '2030-01-01'"
psql_c "$PORT" "CREATE ROLE limited LOGIN"
psql_c "$PORT" "CREATE DATABASE app OWNER app_owner"
psql_c "$PORT" 'CREATE DATABASE "other db"'
psql_db app "CREATE EXTENSION pg_trgm; CREATE EXTENSION pgcrypto;
  CREATE SCHEMA s1 AUTHORIZATION app_owner; CREATE SCHEMA s2;
  CREATE TABLE s1.items(id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
  INSERT INTO s1.items SELECT g, 'item ' || md5(g::text), g * 1.25 FROM generate_series(1, 20000) g;
  CREATE INDEX items_name_trgm ON s1.items USING gin (name gin_trgm_ops);
  ALTER TABLE s1.items OWNER TO app_owner;
  CREATE TABLE s2.orders(id bigserial PRIMARY KEY, item int REFERENCES s1.items, at timestamptz,
                         token bytea);
  INSERT INTO s2.orders(item, at, token)
    SELECT 1 + g % 20000, '2026-01-01'::timestamptz + g * interval '1 minute', gen_random_bytes(16)
    FROM generate_series(1, 30000) g;
  CREATE TABLE s2.secret(k text, v text);
  INSERT INTO s2.secret VALUES ('plaintext-marker', crypt('pw', gen_salt('bf', 4)));
  CREATE VIEW s2.order_totals AS
    SELECT o.item, count(*) AS n FROM s2.orders o GROUP BY o.item;
  CREATE FUNCTION s1.price_of(i int) RETURNS numeric LANGUAGE sql
    AS 'SELECT price FROM s1.items WHERE id = i';
  GRANT USAGE ON SCHEMA s1 TO limited; GRANT SELECT ON s1.items TO limited;
  GRANT USAGE ON SCHEMA s2 TO limited; GRANT SELECT ON s2.orders TO limited;
  SELECT lo_from_bytea(0, convert_to(repeat('large object ' || g, 5000), 'UTF8'))
    FROM generate_series(1, 5) g;" >/dev/null
psql_db "other db" "CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 100)"

# table_sums DB: an ordered checksum per table, and of the large objects
table_sums() {
  local db=$1
  for t in s1.items s2.orders s2.secret; do
    echo "$t $(psql_db "$db" "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM $t x")"
  done
  echo "lo $(psql_db "$db" "SELECT string_agg(oid || ':' || md5(lo_get(oid)), ',' ORDER BY oid)
                            FROM pg_largeobject_metadata")"
}
# (pg_dump puts a random key on its \restrict lines)
schema_of() {
  as_pg pg_dump -h "$T/sock" -p "$PORT" -U postgres --schema-only -d "$1" | grep -v '^\\\(un\)\?restrict '
}
table_sums app >"$T/sums.app"
schema_of app >"$T/schema.app"
[[ $(grep -c . "$T/sums.app") -eq 4 ]] || fail "checksums missing: $(cat "$T/sums.app")"

# ---- dump everything
W dump >"$T/dump.out" || fail "dump failed: $(cat "$T/dump.out")"
[[ $(grep -c "^dump .*, .* stored" "$T/dump.out") -eq 4 ]] ||
  fail "expected globals and 3 databases dumped: $(cat "$T/dump.out")"
APP_ID=$(awk '/^dump .*: app,/ {sub(":", "", $2); print $2}' "$T/dump.out")
OTHER_ID=$(awk '/^dump .*: other db,/ {sub(":", "", $2); print $2}' "$T/dump.out")
[[ $APP_ID =~ ^[0-9]{8}T[0-9]{6}Z-app$ ]] || fail "unexpected id '$APP_ID'"
[[ $OTHER_ID == "${APP_ID%-app}-other_db" ]] || fail "unexpected id '$OTHER_ID'"
[[ -s $T/repo/main/dump/$APP_ID/dump.pgdump.zst ]] || fail "no data file for $APP_ID"
[[ -s $T/repo/main/dump/${APP_ID%-app}-globals/globals.sql.zst ]] || fail "no globals dump"
pass "dump: globals, app, other db and postgres stored ($APP_ID)"

if grep -rqa "plaintext-marker\|owner-secret\|large object 3" "$T/repo"; then
  fail "plaintext found in the repository"
fi
pass "nothing readable in the encrypted repository"

# on a terminal: progress on stderr (script(1) gives it one), else none
script -qec "$(printf '%q ' "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --expire-auto no dump --dbname postgres)" /dev/null >"$T/tty.out" ||
  fail "dump on a terminal failed: $(cat "$T/tty.out")"
grep -q 'dump: [0-9] of 2 done' "$T/tty.out" || fail "no progress on a terminal: $(cat "$T/tty.out")"
grep -q ' done ' "$T/dump.out" && fail "progress printed when not on a terminal"
pass "dump shows progress on a terminal only"

W info >"$T/info.out"
grep -q "$APP_ID  database  ok" "$T/info.out" || fail "info does not list the dump: $(cat "$T/info.out")"
pass "info lists the dumps"

# ---- restore, streamed, into a new database
W restore-dump --set "$APP_ID" --target-dbname app_copy --create >"$T/r1.out" ||
  fail "restore-dump failed: $(cat "$T/r1.out")"
grep -q "restored dump $APP_ID (app) into database app_copy" "$T/r1.out" || fail "$(cat "$T/r1.out")"
table_sums app_copy >"$T/sums.copy"
diff "$T/sums.app" "$T/sums.copy" >&2 || fail "restored tables differ"
schema_of app_copy >"$T/schema.copy"
diff "$T/schema.app" "$T/schema.copy" >&2 || fail "restored schema differs"
pass "restore-dump --create: schema and ordered table checksums equal, large objects equal"

expect_status 1 W restore-dump --set "$APP_ID" --target-dbname app_copy --create
stderr_has "cannot create database 'app_copy'"
pass "restore-dump --create refuses an existing database"

# ---- parallel restore through a temporary file that disappears
as_pg mkdir "$T/tmp"
as_pg env TMPDIR="$T/tmp" "$WALDEN_BIN" --config "$T/walden.conf" --pgport "$PORT" \
  restore-dump --dbname app --target-dbname app_jobs --create --jobs 2 >"$T/r2.out" ||
  fail "restore-dump --jobs 2 failed: $(cat "$T/r2.out")"
table_sums app_jobs >"$T/sums.jobs"
diff "$T/sums.app" "$T/sums.jobs" >&2 || fail "tables restored with --jobs differ"
schema_of app_jobs | diff "$T/schema.app" - >&2 || fail "schema restored with --jobs differs"
[[ -z $(ls -A "$T/tmp") ]] || fail "temporary files left: $(ls -A "$T/tmp")"
pass "restore-dump --dbname app --jobs 2: equal, no temporary file left"

# ---- the dump file itself, and a single table
W restore-dump --set "$APP_ID" --to-file "$T/app.dump" >"$T/r3.out"
as_pg pg_restore -l "$T/app.dump" >"$T/toc"
grep -q "TABLE DATA s1 items" "$T/toc" || fail "pg_restore -l does not list s1.items"
[[ $(stat -c %a "$T/app.dump") == 600 ]] || fail "dump file mode is $(stat -c %a "$T/app.dump")"
expect_status 1 W restore-dump --set "$APP_ID" --to-file "$T/app.dump"
stderr_has "exists already"
W restore-dump --set "$APP_ID" --to-file - >"$T/stdout.dump" 2>"$T/r3.err"
cmp -s "$T/app.dump" "$T/stdout.dump" || fail "the dump on stdout differs from the file"
grep -q "wrote dump $APP_ID (app) to stdout" "$T/r3.err" || fail "summary not on stderr"
pass "--to-file: pg_restore -l reads it, mode 0600, never overwritten, '-' is stdout"

psql_c "$PORT" "CREATE DATABASE one_table"
psql_db one_table "CREATE SCHEMA s1"
W restore-dump --set "$APP_ID" --target-dbname one_table -- --schema=s1 --table=items \
  >"$T/r4.out" || fail "single-table restore failed: $(cat "$T/r4.out")"
[[ $(psql_db one_table "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM s1.items x") == \
  "$(awk '$1 == "s1.items" {print $2}' "$T/sums.app")" ]] || fail "single table differs"
[[ $(psql_db one_table "SELECT count(*) FROM pg_tables WHERE schemaname = 's2'") == 0 ]] ||
  fail "more than the one table came back"
pass "one table restored through pg_restore arguments after --"

W restore-dump --set "$OTHER_ID" --target-dbname other_copy --create >/dev/null
[[ $(psql_db other_copy "SELECT sum(x) FROM t") == 5050 ]] || fail "'other db' restored wrong"
pass "a database whose name needs quoting round-trips"

# ---- globals
before=$(psql_c "$PORT" "SELECT rolpassword, rolvaliduntil FROM pg_authid WHERE rolname = 'auditor'")
psql_c "$PORT" "DROP ROLE auditor"
W restore-dump --globals >"$T/r5.out" || fail "globals restore failed: $(cat "$T/r5.out")"
after=$(psql_c "$PORT" "SELECT rolpassword, rolvaliduntil FROM pg_authid WHERE rolname = 'auditor'")
[[ -n $after && $after == "$before" ]] || fail "role auditor not restored ('$after')"
pass "restore-dump --globals brings back a dropped role with its password"
# a role that may not create roles: the statements fail, and so does walden
expect_status 1 W restore-dump --globals --pguser limited --pgdatabase postgres
tail -1 "$T/stderr" | grep -q "^walden: .*psql (globals): [1-9][0-9]* statement(s) failed" ||
  fail "failing globals statements were not reported: $(cat "$T/stderr")"
pass "restore-dump --globals fails when statements other than 'already exists' fail"

# ---- a pg_dump that fails: a table the role may not read
expect_status 1 W dump --dbname app --pguser limited --pgdatabase postgres
# pg_dump's own lines are logged (warn) before walden's one-line error
grep -q "warn: pg_dump of database 'app': pg_dump: error: .*permission denied" "$T/stderr" ||
  fail "pg_dump's stderr is not in the log: $(cat "$T/stderr")"
tail -1 "$T/stderr" | grep -q "^walden: .*dump .*-app failed: pg_dump of database 'app' failed with exit status 1: .*permission denied for table secret" ||
  fail "error does not name the database and cause: $(cat "$T/stderr")"
FAILED_ID=$(awk '/FAILED/ && /: app / {sub(":", "", $2); print $2}' "$T/stdout")
[[ -n $FAILED_ID && $FAILED_ID != "$APP_ID" ]] || fail "no failed dump listed: $(cat "$T/stdout")"
[[ -z $(ls "$T/repo/main/dump/$FAILED_ID" | grep -v '^dump.manifest$') ]] ||
  fail "the failed dump left data: $(ls "$T/repo/main/dump/$FAILED_ID")"
W info | grep -q "$FAILED_ID  database  failed" || fail "info does not show the failed dump"
expect_status 1 W restore-dump --set "$FAILED_ID" --target-dbname nope --create
stderr_has "cannot be restored"
W restore-dump --dbname app --to-file "$T/newest.dump" >/dev/null
cmp -s "$T/newest.dump" "$T/app.dump" || fail "--dbname app did not pick the newest usable dump"
pass "failed pg_dump: marked failed, no data, refused; --dbname picks the newest usable"

# ---- a pg_dump killed midway
mkdir -p "$T/fakebin"
cat >"$T/fakebin/pg_dump" <<EOF
#!/bin/bash
# the real pg_dump, killed after 100 kB of output
case "\$*" in *--version*) exec $PG_BIN/pg_dump "\$@";; esac
$PG_BIN/pg_dump "\$@" | head -c 100000
kill -9 \$\$
EOF
ln -s "$PG_BIN/pg_dumpall" "$T/fakebin/pg_dumpall"
chmod 755 "$T/fakebin/pg_dump"
expect_status 1 W dump --dbname app --pg-bin "$T/fakebin"
grep -q "pg_dump of database 'app' was killed by signal 9" "$T/stderr" ||
  fail "a killed pg_dump is not reported: $(cat "$T/stderr")"
KILLED_ID=$(awk '/FAILED/ && /: app / {sub(":", "", $2); print $2}' "$T/stdout")
[[ -n $KILLED_ID && ! -e $T/repo/main/dump/$KILLED_ID/dump.pgdump.zst ]] ||
  fail "the killed dump left data or is not listed: $(cat "$T/stdout")"
pass "killed pg_dump: the dump is marked failed and holds no data"

expect_status 2 W dump --dbname app --all
stderr_has "exclude each other"
expect_status 1 W dump --dbname nosuchdb
stderr_has "database 'nosuchdb' does not exist"
expect_status 1 W restore-dump --set 20200101T000000Z-nope --target-dbname x
stderr_has "dump '20200101T000000Z-nope' does not exist"
expect_status 1 W restore-dump --target-dbname x
stderr_has "needs --set DUMP_ID, --dbname NAME or --globals"
pass "bad input: one clear line each"

finish
