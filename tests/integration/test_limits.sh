#!/usr/bin/env bash
# label: slow
# Byte limits before authentication (docs/security.md, "Limits before
# authentication"), end to end against a real PostgreSQL 15 archiving into
# an unencrypted and an encrypted repository. An attacker who can write the
# repository but holds neither the passphrase nor the signing key file:
# - plants a decompression bomb under the name of the first WAL segment a
#   backup needs: archive-get stops at the area's segment size and exits
#   255 (an encrypted area refuses the unencrypted bomb before
#   decompressing it), recovery stops, pg_wal is not filled, nothing is
#   left there;
# - cuts a genuine globals dump short (encrypted: after its first 64 KiB
#   record, whose plaintext decrypts and creates roles): restore-dump
#   --globals refuses it before psql sees a byte, so no role exists after.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
as_pg mkdir "$T/out"

# setup_mode MODE: an area (encrypted for enc), archiving, a backup, a dump
setup_mode() {
  local mode=$1 repo=$T/repo-$1 conf=$T/walden-$1.conf extra=()
  [[ $mode == enc ]] && extra=("encrypt-passphrase-file=$T/pass")
  write_conf "$conf" "repo=$repo" "${extra[@]}" "lock-path=$T/locks" "pghost=$T/sock" \
    "pguser=postgres" "process-max=2" "pgport=$PORT"
  walden "$conf" --pgdata "$PRIMARY" init >/dev/null
  grep -q "^wal-segment-size = 16777216$" "$repo/main/cluster.conf" ||
    fail "$mode: init did not record the segment size: $(cat "$repo/main/cluster.conf")"
  as_pg sed -i "s|^archive_command = .*|archive_command = '$WALDEN_BIN --config $conf archive-push %p'|" \
    "$PRIMARY/postgresql.auto.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY" -w reload >/dev/null
  walden "$conf" --pgdata "$PRIMARY" backup >/dev/null || fail "$mode: backup failed"
  wait_archived "$PORT" "$(switch_wal "$PORT")"
  pass "$mode: init records wal-segment-size = 16777216; a backup and its WAL archived"
}

# bounds_wal_bomb MODE: a decompression bomb named as the WAL segment a
# restored backup needs first (the genuine header, then 1 GiB of zeros: a
# few KiB stored). PostgreSQL's restore_command (walden archive-get) exits
# 255 at the segment size, recovery stops, and pg_wal is not filled.
bounds_wal_bomb() {
  local mode=$1 repo=$T/repo-$1 CONF=$T/walden-$1.conf id start folder r=$T/bomb-$1
  id=$(ls "$repo/main/backup" | head -1)
  start=$(sed -n 's/^start-wal = //p' "$repo/main/backup/$id/backup.info")
  folder=$repo/main/wal/${start:0:16}
  walden "$CONF" archive-get "$start" "$T/out/start" || fail "$mode: archive-get of $start"
  head -c 40 "$T/out/start" >"$T/hdr"
  rm -f "$T/out/start"
  mkdir -p "$T/hold"
  mv "$folder/$start"-* "$T/hold/"
  (cat "$T/hdr" && head -c $((1 << 30)) /dev/zero) | zstd -q -1 -c \
    >"$folder/$start-$(printf %064d 0)-$(printf %0128d 0).zst"
  own "$repo"
  local bomb
  bomb=$(stat -c %s "$folder/$start"-*)
  [[ $bomb -lt 1048576 ]] || fail "$mode: the bomb is not small"

  # archive-get itself, into a server's pg_wal. In the encrypted area the
  # bomb (not encrypted) is refused before a byte is decompressed; in the
  # plain one it is decompressed and stopped at the segment size.
  local why="16777216 bytes, the most it may have"
  [[ $mode == enc ]] && why="is damaged: not an encrypted walden file"
  as_pg mkdir -p "$T/out/pg_wal"
  expect_status 255 walden "$CONF" archive-get "$start" "$T/out/pg_wal/RECOVERYXLOG"
  stderr_has "$why"
  [[ -z $(ls -A "$T/out/pg_wal") ]] || fail "$mode: archive-get left $(ls -A "$T/out/pg_wal")"

  # end to end: a restore whose recovery asks for it
  walden "$CONF" --pgdata "$r" restore --set "$id" >/dev/null || fail "$mode: restore for the bomb"
  pg_configure "$r" "$PORT2" <<<"archive_mode = off"
  local before after
  before=$(du -sb "$r/pg_wal" | cut -f1)
  set +e
  as_pg "$PG_BIN/pg_ctl" -D "$r" -l "$r.log" -w -t 120 start >/dev/null 2>&1
  local rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    SERVERS+=("$r")
    fail "$mode: PostgreSQL started on a backup whose first segment is a bomb"
  fi
  grep -qF "$why" "$r.log" || fail "$mode: the server log does not say why: $(tail -5 "$r.log")"
  grep -q "could not restore file \"$start\" from archive: child process exited with exit code 255" "$r.log" ||
    fail "$mode: recovery did not stop on archive-get's 255: $(tail -5 "$r.log")"
  after=$(du -sb "$r/pg_wal" | cut -f1)
  [[ $after -le $((before + 1048576)) ]] || fail "$mode: pg_wal grew from $before to $after bytes"
  [[ -z $(find "$r/pg_wal" -maxdepth 1 -type f -name 'RECOVERYXLOG*') ]] ||
    fail "$mode: a RECOVERYXLOG was left: $(ls "$r/pg_wal")"
  [[ -z $(find "$r/pg_wal" -maxdepth 1 -name '.*' -type f) ]] ||
    fail "$mode: a temporary file was left: $(ls -A "$r/pg_wal")"

  rm -f "$folder/$start"-*
  mv "$T/hold/"* "$folder/"
  rm -rf "$r" "$r.log"
  pass "$mode: a WAL bomb (a genuine header, then 1 GiB of zeros, $bomb bytes stored) is refused by archive-get with 255 ($why); recovery stops, pg_wal stays at $after bytes"
}

# bounds_globals MODE: a genuine globals dump cut short (an encrypted one
# after its first 64 KiB record, whose plaintext creates roles) is refused
# by restore-dump --globals before psql sees a byte: the roles do not exist
# afterwards; the whole dump creates them.
bounds_globals() {
  local mode=$1 repo=$T/repo-$1 CONF=$T/walden-$1.conf d gid n
  # 1000 roles with random password hashes: a globals.sql of more than one
  # encryption record even compressed
  psql_c "$PORT" "DO \$\$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE ROLE bounds_%s PASSWORD %L', lpad(i::text, 4, '0'), md5(random()::text) || md5(random()::text)); END LOOP; END \$\$"
  walden "$CONF" dump --dbname postgres >"$T/dump.out" || fail "$mode: dump: $(cat "$T/dump.out")"
  psql_c "$PORT" "DO \$\$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('DROP ROLE bounds_%s', lpad(i::text, 4, '0')); END LOOP; END \$\$"
  d=$(ls -d "$repo"/main/dump/*-globals | tail -1)
  gid=$(basename "$d")
  [[ $(stat -c %s "$d/globals.sql.zst") -gt 70000 ]] ||
    fail "$mode: globals.sql.zst is only $(stat -c %s "$d/globals.sql.zst") bytes"
  cp "$d/globals.sql.zst" "$T/globals.whole"
  # 76-byte header, then one record of 4 + 65536 + 16 bytes: the rest cut
  head -c $((76 + 4 + 65536 + 16)) "$T/globals.whole" >"$d/globals.sql.zst"
  own "$repo"
  refused "truncated globals.sql" 1 walden "$CONF" restore-dump --set "$gid" --globals
  stderr_has "$gid"
  n=$(psql_c "$PORT" "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'bounds\_%'")
  [[ $n -eq 0 ]] || fail "$mode: a truncated globals.sql created $n roles"
  cp "$T/globals.whole" "$d/globals.sql.zst"
  walden "$CONF" restore-dump --set "$gid" --globals >/dev/null 2>"$T/stderr" ||
    fail "$mode: the whole globals dump: $(cat "$T/stderr")"
  n=$(psql_c "$PORT" "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'bounds\_%'")
  [[ $n -eq 1000 ]] || fail "$mode: the whole globals dump created $n roles, not 1000"
  psql_c "$PORT" "DO \$\$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('DROP ROLE bounds_%s', lpad(i::text, 4, '0')); END LOOP; END \$\$"
  pass "$mode: a truncated globals.sql is refused before psql runs: no role created (the whole one creates 1000)"
}

pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = 'false'
CONF
pg_start "$PRIMARY"
for mode in plain enc; do
  setup_mode "$mode"
  bounds_wal_bomb "$mode"
  bounds_globals "$mode"
done
finish
