#!/usr/bin/env bash
# label: slow
# An attacker who can read, write, rename and delete everything in the
# repository, but has neither the signing key file nor the passphrase
# (docs/security.md), against a real PostgreSQL 15 archiving into an
# encrypted and into an unencrypted repository. Each forgery must be refused
# with one line saying it failed authentication and naming the object;
# nothing is written outside the target, no command runs, and verify
# reports it (exit 3, the object named). The genuine flow still restores.
# The attacker and their forgeries: forgery.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forgery.sh"

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
new_passphrase "$T/pass"
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
SYSID=$(as_pg "$PG_BIN/pg_controldata" "$PRIMARY" | awk -F': *' '/system identifier/ {print $2}')
as_pg mkdir "$T/out"

# keyconf_replaced REPO BACKUP SEG READER_CONF VERIFY_KEY: an unencrypted
# area taken over by an attacker's own area: their key.conf (their key pair,
# their passphrase), their cluster.conf saying the area is encrypted to it,
# backup.info, backup.stored and the manifest of BACKUP signed again with
# their signing key, and SEG replaced by their push of it. The host that
# holds the signing key file ($CONF) and a reader holding VERIFY_KEY refuse
# archive-get, restore, info and verify.
keyconf_replaced() {
  local repo=$1 bk=$2 seg=$3 reader=$4 vk=$5 ek=$T/out/evil3.key f
  local folder=$repo/main/wal/${seg:0:16}
  new_passphrase "$T/evil3-pass"
  write_conf "$T/evil3.conf" "repo=$T/evil3" "encrypt-passphrase-file=$T/evil3-pass" \
    "sign-key-file=$ek" "compress=zstd"
  walden "$T/evil3.conf" --pgdata "$PRIMARY" init >/dev/null
  cp -a "$repo/main" "$T/main.good"
  cp "$T/evil3/main/key.conf" "$T/evil3/main/cluster.conf" "$repo/main/"
  for f in backup.info backup.stored; do
    resign_text "$bk/$f" "$ek" main "$SYSID" "backup/$(basename "$bk")/$f"
  done
  zstd -qdc "$bk/backup.manifest.zst" >"$T/m.txt"
  resign_text "$T/m.txt" "$ek" main "$SYSID" "backup/$(basename "$bk")/backup.manifest"
  zstd -q -f -o "$bk/backup.manifest.zst" "$T/m.txt"
  as_pg mkdir -p "$T/out/e3"
  as_pg cp "$T/out/seg" "$T/out/e3/$seg"
  walden "$T/evil3.conf" archive-push "$T/out/e3/$seg" || fail "the attacker's push failed"
  rm -f "$folder/$seg"-*
  cp "$T/evil3/main/wal/${seg:0:16}/$seg"-* "$folder/"
  own "$repo"
  local c who
  for c in "$CONF" "$reader"; do
    who=$([[ $c == "$CONF" ]] && echo "signing key file" || echo "verify-key")
    rm -f "$T/out/got"
    refused "replaced key.conf, $who: archive-get" 255 walden "$c" --verify-key "$vk" \
      archive-get "$seg" "$T/out/got"
    [[ ! -e $T/out/got ]] || fail "replaced key.conf, $who: archive-get wrote $seg"
    refused "replaced key.conf, $who: restore" 1 walden "$c" --verify-key "$vk" \
      --pgdata "$T/target" restore
    [[ ! -e $T/target/PG_VERSION ]] || fail "replaced key.conf, $who: restore wrote files"
    rm -rf "$T/target"
    refused "replaced key.conf, $who: info" 1 walden "$c" --verify-key "$vk" info
    stderr_has "cluster.conf"
    CONF=$c verify_reports plain "replaced key.conf, $who" "cluster.conf"
  done
  rm -rf "${repo:?}/main"
  cp -a "$T/main.good" "$repo/main"
  own "$repo"
  walden "$CONF" verify >/dev/null || fail "plain: the area put back does not verify"
  pass "plain: key.conf and cluster.conf replaced by an attacker's area, backup metadata and WAL re-signed with their key: archive-get, restore, info and verify refuse, with the signing key file and with verify-key"
}

run_mode() {
  local mode=$1 repo=$T/repo-$1
  CONF=$T/walden-$mode.conf
  local extra=()
  [[ $mode == enc ]] && extra=("encrypt-passphrase-file=$T/pass")
  write_conf "$CONF" "repo=$repo" "${extra[@]}" "lock-path=$T/locks" "pghost=$T/sock" \
    "pguser=postgres" "process-max=2" "pgport=$PORT"
  walden "$CONF" --pgdata "$PRIMARY" init >"$T/init.out"
  grep -q "^verification key: [0-9a-f]\{64\}" "$T/init.out" || fail "init prints no verification key"
  walden "$CONF" --pgdata "$PRIMARY" --cluster other init >/dev/null
  as_pg sed -i "s|^archive_command = .*|archive_command = '$WALDEN_BIN --config $CONF archive-push %p'|" \
    "$PRIMARY/postgresql.auto.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY" -w reload >/dev/null
  psql_c "$PORT" "CREATE TABLE IF NOT EXISTS marker(id int primary key)"
  psql_c "$PORT" "TRUNCATE marker; INSERT INTO marker VALUES (1)"
  walden "$CONF" --pgdata "$PRIMARY" backup >"$T/backup.out" || fail "$mode: backup failed"
  local id
  id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
  psql_c "$PORT" "INSERT INTO marker VALUES (2)"
  local seg
  seg=$(switch_wal "$PORT")
  wait_archived "$PORT" "$seg"
  walden "$CONF" dump --dbname postgres >"$T/dump.out" || fail "$mode: dump failed: $(cat "$T/dump.out")"
  walden "$CONF" verify >"$T/verify.out" || fail "$mode: verify of the genuine area: $(cat "$T/verify.out")"
  pass "$mode: archive, backup $id, dump and a clean verify"

  # ---- the genuine flow restores (by its marker rows)
  local r=$T/r-$mode
  walden "$CONF" --pgdata "$r" restore --set "$id" >/dev/null ||
    fail "$mode: restore failed"
  pg_configure "$r" "$PORT2" <<<"archive_mode = off"
  pg_start "$r"
  wait_recovered "$PORT2" "$mode restore"
  [[ $(psql_c "$PORT2" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker") == 1,2 ]] ||
    fail "$mode: restored markers differ"
  pg_stop "$r"
  pass "$mode: the genuine backup and WAL restore, markers 1,2"

  evil_area "$mode" "$repo" "$SYSID"
  local folder=$repo/main/wal/${seg:0:16}

  # ---- a made-up segment (its true SHA-256, the attacker's signature)
  walden "$CONF" archive-get "$seg" "$T/out/seg" || fail "$mode: archive-get of $seg"
  cp "$T/out/seg" "$T/out/$seg"
  printf 'forged' | dd of="$T/out/$seg" bs=1 seek=100000 conv=notrunc status=none
  chown postgres: "$T/out/$seg"
  local forged
  forged=$(evil_push "$mode" "$T/out/$seg")
  cp "$forged" "$folder/"
  own "$repo"
  walden "$CONF" archive-get "$seg" "$T/out/got" || fail "$mode: the genuine copy was not chosen"
  cmp -s "$T/out/got" "$T/out/seg" || fail "$mode: archive-get returned the forged copy"
  local genuine
  genuine=$(ls "$folder/$seg"-* | grep -v "$(basename "$forged")")
  mv "$genuine" "$T/out/genuine"
  rm -f "$T/out/got"
  refused "made-up segment" 255 walden "$CONF" archive-get "$seg" "$T/out/got"
  stderr_has "$seg"
  [[ ! -e $T/out/got ]] || fail "$mode: a forged segment was restored"
  verify_reports "$mode" "made-up segment" "$(basename "$forged")"
  # archive-push of the real segment passes over the forgery
  as_pg mkdir -p "$T/out/real"
  as_pg cp "$T/out/seg" "$T/out/real/$seg"
  walden "$CONF" archive-push "$T/out/real/$seg" 2>"$T/push.err" ||
    fail "$mode: push beside a forgery: $(cat "$T/push.err")"
  grep -q "failed authentication.*ignored" "$T/push.err" || fail "$mode: push did not warn: $(cat "$T/push.err")"
  walden "$CONF" archive-get "$seg" "$T/out/got" || fail "$mode: get after the re-push"
  rm -rf "$folder/$(basename "$forged")" "$T/out/got" "$T/out/real"
  pass "$mode: a made-up segment is refused (255, failed authentication), verify names it, the real one is chosen"

  # ---- a made-up history file
  printf '1\t0/9000000\tno recovery target specified\n' >"$T/out/00000009.history"
  chown postgres: "$T/out/00000009.history"
  forged=$(evil_push "$mode" "$T/out/00000009.history")
  cp "$forged" "$repo/main/wal/"
  own "$repo"
  refused "made-up history" 255 walden "$CONF" archive-get 00000009.history "$T/out/got"
  [[ ! -e $T/out/got ]] || fail "$mode: a forged history file was restored"
  verify_reports "$mode" "made-up history" "$(basename "$forged")"
  rm -f "$repo/main/wal/$(basename "$forged")"
  pass "$mode: a made-up history file is refused"

  # ---- a genuine segment renamed to another one, and into another area
  local g next
  g=$(ls "$folder/$seg"-* | head -1)
  next=$(printf '%s%08X' "${seg:0:16}" $((16#${seg:16:8} + 7)))
  cp "$g" "$folder/$next${g#"$folder/$seg"}"
  own "$repo"
  refused "renamed segment" 255 walden "$CONF" archive-get "$next" "$T/out/got"
  stderr_has "$next"
  rm -f "$folder/$next"-*
  mkdir -p "$repo/other/wal/${seg:0:16}"
  cp "$g" "$repo/other/wal/${seg:0:16}/"
  own "$repo"
  refused "segment in another area" 255 walden "$CONF" --cluster other archive-get "$seg" "$T/out/got"
  rm -rf "${repo:?}/other/wal/${seg:0:16}"
  pass "$mode: a genuine segment renamed, or copied into another area, is refused"

  # ---- a new backup: a genuine one copied to another id, its manifest
  # given a tablespace escaping the target and a hostile postgresql.auto.conf
  local fid=20991231T000000Z b=$repo/main/backup
  forge_backup "$mode" "$b" "$id" "$fid" "$SYSID" "$T/escape" "$T/pwned"
  own "$repo"
  refused "forged backup" 1 walden "$CONF" --pgdata "$T/target" restore --set "$fid"
  [[ ! -e $T/escape && ! -e $T/pwned && ! -e $T/target/postgresql.auto.conf ]] ||
    fail "$mode: the forged backup wrote something"
  verify_reports "$mode" "forged backup" "$fid"
  rm -rf "${b:?}/$fid" "$T/target"
  pass "$mode: a forged backup (another id, escaping tablespace, hostile postgresql.auto.conf) is refused"

  # ---- an edited owner in backup.info
  cp "$b/$id/backup.info" "$T/info.good"
  sed -i 's/^owner = .*/owner = root/' "$b/$id/backup.info"
  refused "edited backup.info" 1 walden "$CONF" info
  stderr_has "backup.info"
  verify_reports "$mode" "edited backup.info" "$id/backup.info"
  cp "$T/info.good" "$b/$id/backup.info"
  pass "$mode: an edited owner in backup.info is refused"

  # ---- a dump whose globals.sql runs a shell command
  local gid d
  d=$(ls -d "$repo"/main/dump/*-globals | tail -1)
  gid=$(basename "$d")
  cp "$d/globals.sql.zst" "$T/globals.good"
  printf '\\! touch %s/pwned-dump\n' "$T" >"$T/out/00000008.history"
  chown postgres: "$T/out/00000008.history"
  if [[ $mode == enc ]]; then
    cp "$(evil_push "$mode" "$T/out/00000008.history")" "$d/globals.sql.zst"
  else
    zstd -q -f -o "$d/globals.sql.zst" "$T/out/00000008.history"
  fi
  own "$repo"
  refused "hostile globals.sql" 1 walden "$CONF" restore-dump --set "$gid" --globals
  [[ ! -e $T/pwned-dump ]] || fail "$mode: the hostile globals.sql ran"
  verify_reports "$mode" "hostile globals" "$gid" "unauthenticated|corrupt"
  cp "$T/globals.good" "$d/globals.sql.zst"
  pass "$mode: a dump with \\! in its globals.sql is refused, nothing runs"

  # ---- cluster.conf replaced (signed by the attacker) and edited
  cp "$repo/main/cluster.conf" "$T/cc.good"
  cp "$T/evil-$mode/repo/main/cluster.conf" "$repo/main/cluster.conf"
  refused "replaced cluster.conf" 1 walden "$CONF" info
  stderr_has "cluster.conf"
  sed -i 's/^compress = .*/compress = none/' "$repo/main/cluster.conf"
  refused "edited cluster.conf" 1 walden "$CONF" info
  verify_reports "$mode" "replaced cluster.conf" "cluster.conf"
  cp "$T/cc.good" "$repo/main/cluster.conf"
  pass "$mode: a replaced or edited cluster.conf is refused"

  # ---- cluster.conf rewritten as format 1 (unsigned) to shed the signatures:
  # refused, even with allow-unauthenticated, by a host that holds a trust
  # root (the signing key file here, or verify-key)
  sed -e 's/^format-version = .*/format-version = 1/' -e '/^signature = /d' "$T/cc.good" \
    >"$repo/main/cluster.conf"
  own "$repo/main/cluster.conf"
  expect_status 1 walden "$CONF" info
  stderr_has "format 1"
  refused "format-1 downgrade" 1 walden "$CONF" --allow-unauthenticated info
  stderr_has "claims format 1"
  refused "format-1 downgrade (archive-get)" 255 walden "$CONF" --allow-unauthenticated \
    archive-get "$seg" "$T/out/downgraded"
  [[ ! -e $T/out/downgraded ]] || fail "$mode: archive-get wrote a file from a downgraded area"
  write_conf "$T/vk-only.conf" "repo=$repo" "sign-key-file=$T/none" "${extra[@]}" \
    "verify-key=$(sed -n 's/^verification key: \([0-9a-f]*\).*/\1/p' "$T/init.out")"
  refused "format-1 downgrade (verify-key)" 1 walden "$T/vk-only.conf" --allow-unauthenticated info
  # without any trust root, the risk is the reader's choice, said in a warning
  write_conf "$T/no-root.conf" "repo=$repo" "sign-key-file=$T/none" "${extra[@]}"
  walden "$T/no-root.conf" --allow-unauthenticated info >/dev/null 2>"$T/stderr" ||
    fail "$mode: allow-unauthenticated without a trust root: $(cat "$T/stderr")"
  grep -q "format 1: it is unauthenticated" "$T/stderr" ||
    fail "$mode: no warning for an unauthenticated area: $(cat "$T/stderr")"
  cp "$T/cc.good" "$repo/main/cluster.conf"
  pass "$mode: cluster.conf rewritten as format 1 is refused where a trust root exists, even with allow-unauthenticated"

  if [[ $mode == enc ]]; then
    # ---- key.conf replaced by one of the attacker's (their passphrase)
    cp "$repo/main/key.conf" "$T/kc.good"
    new_passphrase "$T/evil-pass"
    write_conf "$T/evil2.conf" "repo=$T/evil2" "encrypt-passphrase-file=$T/evil-pass" \
      "sign-key-file=$T/out/evil2.key"
    walden "$T/evil2.conf" --pgdata "$PRIMARY" init >/dev/null
    cp "$T/evil2/main/key.conf" "$repo/main/key.conf"
    refused "replaced key.conf (writer)" 1 walden "$CONF" --pgdata "$PRIMARY" backup
    stderr_has "key.conf"
    cp "$T/kc.good" "$repo/main/key.conf"
    pass "enc: a replaced key.conf is refused by writers"
  else
    # ---- readers without the signing key: verify-key, or a clear refusal
    local vk
    vk=$(sed -n 's/^verification key: \([0-9a-f]*\).*/\1/p' "$T/init.out")
    write_conf "$T/reader.conf" "repo=$repo" "sign-key-file=$T/none"
    expect_status 1 walden "$T/reader.conf" info
    stderr_has "cannot authenticate cluster 'main'"
    stderr_has "set sign-key-file or verify-key"
    walden "$T/reader.conf" --verify-key "$vk" info >/dev/null || fail "verify-key does not read"
    pass "plain: a reader needs verify-key (or the signing key file), and reads with it"
    keyconf_replaced "$repo" "$b/$id" "$seg" "$T/reader.conf" "$vk"
  fi
  rm -rf "$T/evil-$mode"
}

pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = 'false'
CONF
pg_start "$PRIMARY"
run_mode plain
run_mode enc
finish
