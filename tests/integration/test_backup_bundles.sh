#!/usr/bin/env bash
# Bundles (docs/repository-format.md) on a local, encrypted repository with
# bundle = yes and 1 MiB bundles, so that a backup has several: a full, an
# incr after marker rows (its unchanged small files refer to the full's
# bundles, no copy), the restore of the incr holding exactly its markers
# and table contents; verify passes with and without the key; a flipped
# byte in a bundle is named by verify with and without the key, and a
# restore from it fails instead of writing anything the manifest does not
# say. (The object stores, where bundles are on by default, run the same
# through objstore.sh.)
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
common=("lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2" "start-fast=y"
  "bundle=yes" "bundle-size=1" "expire-auto=n")
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "${common[@]}"
write_conf "$T/nokey.conf" "repo=$T/repo" "${common[@]}"
INITDB_ARGS=-k PUSH_CONF=$T/nokey.conf archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}
stdout_has() {
  grep -qF -- "$1" "$T/stdout" || fail "stdout does not mention '$1': $(cat "$T/stdout")"
}
sum() { psql_c "$1" "SELECT md5(string_agg(g || ':' || v, ',' ORDER BY g)) FROM t"; }

psql_c "$PORT" "CREATE TABLE marker(id int primary key)"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 50000) g"
# small tables of incompressible text (about 48 KiB each): several 1 MiB bundles
psql_c "$PORT" "DO \$\$ BEGIN FOR i IN 1..80 LOOP
  EXECUTE format('CREATE TABLE small%s AS SELECT %s AS v, md5(random()::text) || md5(random()::text) AS r
    FROM generate_series(1, 500)', i, i); END LOOP; END \$\$"
psql_c "$PORT" "INSERT INTO marker VALUES (1)"
W backup >"$T/backup.out" 2>"$T/stderr" || fail "backup failed: $(cat "$T/stderr")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
B=$T/repo/main/backup/$id
nb=$(find "$B/bundle" -type f | wc -l)
nd=$(find "$B/data" -type f | wc -l)
nf=$(find "$PRIMARY" -type f | wc -l)
((nb >= 2)) || fail "backup $id has $nb bundles (1 MiB each), expected several: $(ls "$B")"
((nd * 5 < nf)) || fail "backup $id stored $nd of $nf files as objects of their own"
[[ $(grep -c $'\tbundle/' "$B/backup.stored") == "$nb" ]] ||
  fail "backup.stored does not list each of the $nb bundles once"
pass "full $id: $nf files as $nb bundles and $nd objects of their own"

psql_c "$PORT" "INSERT INTO marker VALUES (2)"
psql_c "$PORT" "UPDATE t SET v = 'changed' WHERE g % 100 = 0"
psql_c "$PORT" "INSERT INTO small7 VALUES (77, 'x')"
small40=$(psql_c "$PORT" "SELECT md5(string_agg(r, ',' ORDER BY r)) FROM small40")
psql_c "$PORT" "CHECKPOINT"
W backup --type incr >"$T/incr.out" 2>"$T/stderr" || fail "incr failed: $(cat "$T/stderr")"
id2=$(awk '/^backup /{print $2; exit}' "$T/incr.out" | tr -d :)
[[ -n $id2 && $id2 != "$id" ]] || fail "no incr: $(cat "$T/incr.out")"
B2=$T/repo/main/backup/$id2
nb2=$(find "$B2/bundle" -type f 2>/dev/null | wc -l)
size1=$(du -sb "$B/bundle" | cut -f1)
size2=$(du -sb "$B2/bundle" 2>/dev/null | cut -f1)
((${size2:-0} * 2 < size1)) ||
  fail "the incr's bundles ($size2 bytes) are not much smaller than the full's ($size1): unchanged small files were copied"
psql_c "$PORT" "INSERT INTO marker VALUES (3)"
want_sum=$(sum "$PORT")
seg=$(switch_wal "$PORT")
wait_archived "$PORT" "$seg"
pass "incr $id2: $nb2 bundles of ${size2:-0} bytes beside the full's $size1: unchanged small files referred to"

expect_status 0 W verify
stdout_has ": 0 problems"
expect_status 0 walden "$T/nokey.conf" verify
stdout_has ": 0 problems"
stdout_has "stored checksums only"
pass "verify passes with and without the key"

walden "$T/walden.conf" --pgdata "$T/restored" restore --set "$id2" \
  >"$T/restore.out" 2>&1 || fail "restore of the incr failed: $(cat "$T/restore.out")"
check_markers "restore of $id2" "$T/restored" "1,2,3"
[[ $(sum "$PORT2") == "$want_sum" ]] || fail "the restored t differs"
[[ $(psql_c "$PORT2" "SELECT count(*) || ':' || sum(v) FROM small7") == "501:3577" ]] ||
  fail "small7 restored wrong: $(psql_c "$PORT2" "SELECT count(*) || ':' || sum(v) FROM small7")"
[[ $(psql_c "$PORT2" "SELECT md5(string_agg(r, ',' ORDER BY r)) FROM small40") == "$small40" ]] ||
  fail "small40 restored wrong"
pg_stop "$T/restored"
pass "the incr restores exactly: markers 1,2,3, t and the small tables as they were"

# ---- a damaged bundle of the full (the incr refers to it)
cp -a "$T/repo" "$T/case"
victim=$(find "$T/case/main/backup/$id/bundle" -type f | sort | head -1)
rel=${victim#"$T/case/"}
flip_byte "$victim" 100
for conf in walden nokey; do
  expect_status 3 walden "$T/$conf.conf" --repo "$T/case" verify
  grep -q "^corrupt: .*$rel" "$T/stdout" || fail "verify ($conf) does not name $rel: $(cat "$T/stdout")"
done
expect_status 1 walden "$T/walden.conf" --repo "$T/case" --pgdata "$T/restored2" restore --set "$id2"
grep -q "cannot decrypt\|not what its signed manifest lists" "$T/stderr" ||
  fail "restore from a damaged bundle: $(cat "$T/stderr")"
# what the failed restore left cannot be started as a restored copy: no
# recovery settings were written
[[ ! -e $T/restored2/recovery.signal && ! -e $T/restored2/standby.signal ]] ||
  fail "a failed restore left a signal file in the target"
! grep -qs "restore_command" "$T/restored2/postgresql.auto.conf" ||
  fail "a failed restore wrote recovery settings"
pass "a flipped byte in $rel: verify names it with and without the key, restore refuses and writes no recovery settings"
finish
