#!/usr/bin/env bash
# label: slow
# The attacker of test_forgery.sh (forgery.sh) against repositories on
# object stores: Swift's s3api and Azurite, each with an encrypted and an
# unencrypted area that a real PostgreSQL 15 archives into. The attacker
# reads and writes the objects with the store's own API (Swift's, and Blob
# requests signed with an account SAS), never through walden. A made-up WAL
# segment and a new backup dated in the future (unencrypted: a tablespace
# escaping the target and a postgresql.auto.conf whose archive_command is
# the attacker's) are refused in one line saying they failed authentication
# and naming the object; archive-get exits 255; a plain `walden restore`
# does not take the forged backup; nothing is written outside the target,
# the attacker's command never runs, and verify reports both (exit 3).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"
source "$(dirname "$0")/forgery.sh"

start_swift
start_azurite
new_passphrase "$T/pass"
PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
SYSID=$(as_pg "$PG_BIN/pg_controldata" "$PRIMARY" | awk -F': *' '/system identifier/ {print $2}')
as_pg mkdir "$T/out"
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = 'false'
CONF
pg_start "$PRIMARY"
psql_c "$PORT" "CREATE TABLE marker(id int primary key)"

# mirror KIND PREFIX DIR KEY...: the attacker copies the objects PREFIX/KEY
# (those that exist) into DIR/KEY
mirror() {
  local kind=$1 prefix=$2 dir=$3 key
  shift 3
  store_list "$kind" "$prefix/" >"$T/listing"
  for key in "$@"; do
    grep -qxF "$prefix/$key" "$T/listing" || continue
    mkdir -p "$(dirname "$dir/$key")"
    store_object "$kind" get "$prefix/$key" "$dir/$key"
  done
}

# run_store KIND MODE: an area of MODE (enc, plain) on the store KIND
run_store() {
  local kind=$1 mode=$2 prefix=forge-$2 what="$1 $2"
  local port=$S3_PORT
  [[ $kind == azure ]] && port=$AZ_PORT
  CONF=$T/$kind-$mode.conf
  store_conf "$kind" "$CONF" "$port" "$prefix" "lock-path=$T/locks" "pghost=$T/sock" \
    "pguser=postgres" "pgport=$PORT" "start-fast=y" "process-max=2" \
    "net-timeout=60s" "net-retry-time=300s"
  [[ $mode == enc ]] || sed -i '/^encrypt-passphrase-file/d' "$CONF"
  walden "$CONF" --pgdata "$PRIMARY" init >/dev/null
  psql_c "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $CONF archive-push %p'"
  psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
  psql_c "$PORT" "TRUNCATE marker; INSERT INTO marker VALUES (1)"
  walden "$CONF" --pgdata "$PRIMARY" backup >"$T/backup.out" || fail "$what: backup failed"
  local id seg
  id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
  psql_c "$PORT" "INSERT INTO marker VALUES (2)"
  seg=$(switch_wal "$PORT")
  wait_archived "$PORT" "$seg"
  pass "$what: archive and backup $id on the store"

  # the attacker reads what they need straight from the store
  local m=$T/mirror-$kind-$mode
  mirror "$kind" "$prefix" "$m" walden.repo main/cluster.conf main/key.conf
  [[ -f $m/main/cluster.conf && ($mode == plain || -f $m/main/key.conf) ]] ||
    fail "$what: the attacker could not read the area's files from the store"
  evil_area "$kind-$mode" "$m" "$SYSID"

  # ---- a made-up segment (its true SHA-256, the attacker's signature)
  # takes the place of the genuine one
  local folder=$prefix/main/wal/${seg:0:16} forged genuine
  walden "$CONF" archive-get "$seg" "$T/out/seg" || fail "$what: archive-get of $seg"
  cp "$T/out/seg" "$T/out/$seg"
  printf 'forged' | dd of="$T/out/$seg" bs=1 seek=100000 conv=notrunc status=none
  chown postgres: "$T/out/$seg" 2>/dev/null || true
  forged=$(evil_push "$kind-$mode" "$T/out/$seg")
  genuine=$(store_list "$kind" "$folder/$seg-")
  [[ $(wc -l <<<"$genuine") -eq 1 && -n $genuine ]] || fail "$what: stored copies of $seg: $genuine"
  store_object "$kind" get "$genuine" "$T/genuine"
  store_object "$kind" put "$folder/$(basename "$forged")" "$forged"
  store_object "$kind" delete "$genuine"
  rm -f "$T/out/got"
  refused "$what: made-up segment" 255 walden "$CONF" archive-get "$seg" "$T/out/got"
  stderr_has "$seg"
  [[ ! -e $T/out/got ]] || fail "$what: a forged segment was restored"
  verify_reports "$mode" "$what: made-up segment" "$(basename "$forged")"
  store_object "$kind" put "$genuine" "$T/genuine"
  store_object "$kind" delete "$folder/$(basename "$forged")"
  walden "$CONF" archive-get "$seg" "$T/out/got" || fail "$what: the genuine segment put back"
  cmp -s "$T/out/got" "$T/out/seg" || fail "$what: the genuine segment came back different"
  rm -f "$T/out/got"
  pass "$what: a made-up segment written to the store is refused (255, failed authentication), verify names it"

  # ---- a new backup dated in the future. The attacker writes its
  # metadata and (unencrypted) the hostile postgresql.auto.conf; they leave
  # out the copies of the data objects, which walden must not reach: it
  # authenticates the manifest before it reads or writes any file.
  local fid=20991231T000000Z key b=main/backup
  mirror "$kind" "$prefix" "$m" "$b/$id/backup.info" "$b/$id/backup.manifest.zst" \
    "$b/$id/backup.stored"
  mkdir -p "$m/$b/$id/data"
  forge_backup "$kind-$mode" "$m/$b" "$id" "$fid" "$SYSID" "$T/escape" "$T/pwned"
  (cd "$m" && find "$b/$fid" -type f) >"$T/forged"
  [[ $(wc -l <"$T/forged") -ge 3 ]] || fail "$what: no forged backup made"
  while read -r key; do
    store_object "$kind" put "$prefix/$key" "$m/$key"
  done <"$T/forged"
  refused "$what: forged backup" 1 walden "$CONF" --pgdata "$T/target" restore --set "$fid"
  stderr_has "$fid"
  [[ ! -e $T/escape && ! -e $T/pwned && ! -e $T/target/postgresql.auto.conf ]] ||
    fail "$what: the forged backup wrote something"
  rm -rf "$T/target"
  # without --set, restore passes over it, or refuses it
  set +e
  walden "$CONF" --pgdata "$T/target" restore >"$T/restore.out" 2>"$T/stderr"
  local rc=$?
  set -e
  [[ ! -e $T/escape ]] || fail "$what: restore created $T/escape outside its target"
  if ((rc == 0)); then
    grep -q "$id" "$T/restore.out" "$T/stderr" ||
      fail "$what: restore took another backup than $id: $(cat "$T/restore.out" "$T/stderr")"
    ! grep -rqF "$T/pwned" "$T/target/postgresql.auto.conf" ||
      fail "$what: the restored postgresql.auto.conf holds the attacker's command"
    pg_configure "$T/target" "$PORT2" <<<"archive_mode = off"
    pg_start "$T/target"
    wait_recovered "$PORT2" "$what restore"
    [[ $(psql_c "$PORT2" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker") == 1,2 ]] ||
      fail "$what: the restored markers differ"
    pg_stop "$T/target"
    local how="took the genuine backup $id (markers 1,2)"
  else
    ((rc == 1)) || fail "$what: restore exited $rc: $(cat "$T/stderr")"
    grep -q "failed authentication" "$T/stderr" && grep -q "$fid" "$T/stderr" ||
      fail "$what: restore refused without naming the forgery: $(cat "$T/stderr")"
    [[ $(wc -l <"$T/stderr") -eq 1 ]] || fail "$what: more than one line: $(cat "$T/stderr")"
    local how="refused it naming $fid"
  fi
  [[ ! -e $T/pwned ]] || fail "$what: the attacker's archive_command ran"
  rm -rf "$T/target"
  verify_reports "$mode" "$what: forged backup" "$fid" unauthenticated --set "$fid"
  while read -r key; do
    store_object "$kind" delete "$prefix/$key"
  done <"$T/forged"
  pass "$what: a forged backup $fid written to the store is refused; a plain restore $how; nothing outside the target, no command ran"
  rm -rf "$T/evil-$kind-$mode" "$m"
}

for kind in s3 azure; do
  for mode in enc plain; do
    run_store "$kind" "$mode"
  done
done
finish
