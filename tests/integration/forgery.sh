# forgery.sh - sourced after lib.sh by the tests of an attacker who can
# read, write, rename and delete everything in a repository, but has
# neither the signing key file nor the passphrase (docs/security.md):
# test_forgery.sh (a local repository), test_forgery_s3.sh and
# test_forgery_azure.sh (forgery_store_suite, below). The attacker works on a folder laid out like the repository
# (walden.repo, main/cluster.conf, main/key.conf, main/backup/ID/...): the
# repository itself when it is local, a copy of what they read from the
# store otherwise; what they make there they write back with the store's
# own API.
#
# The attacker's tool is walden itself, run with an area of their own: a
# signing key they made, the victim's cluster.conf signed again with it,
# and (encrypted) the victim's key.conf, whose public key their files are
# encrypted to. So forged WAL is well formed, compressed, encrypted to the
# right key and named with its true SHA-256: only the signature is wrong.

# evil_area NAME SRC SYSID: the attacker's own area $T/evil-NAME for the
# repository laid out in SRC (encrypted when SRC/main/key.conf exists), of
# the PostgreSQL system identifier SYSID
evil_area() {
  local name=$1 src=$2 sysid=$3 ev=$T/evil-$1 priv pub enc=''
  mkdir -p "$ev/repo/main"
  cp "$src/walden.repo" "$ev/repo/"
  openssl genpkey -algorithm ed25519 -out "$ev/k.pem" 2>/dev/null
  priv=$(openssl pkey -in "$ev/k.pem" -outform DER | tail -c 32 | xxd -p -c 64)
  pub=$(openssl pkey -in "$ev/k.pem" -pubout -outform DER | tail -c 32 | xxd -p -c 64)
  if [[ -f $src/main/key.conf ]]; then
    cp "$src/main/key.conf" "$ev/repo/main/"
    enc="encrypt-public-key = $(sed -n 's/^public-key = //p' "$src/main/key.conf")"
  fi
  printf 'format = 1\ncluster = main\nsystem-identifier = %s\nverify-key = %s\n%s\nsign-private-key = %s\n' \
    "$sysid" "$pub" "$enc" "$priv" >"$ev/sign-key"
  cp "$src/main/cluster.conf" "$ev/repo/main/"
  resign_text "$ev/repo/main/cluster.conf" "$ev/sign-key" main "$sysid" cluster.conf
  chmod 0600 "$ev/sign-key"
  chown -R postgres: "$ev" 2>/dev/null || true
  write_conf "$ev/walden.conf" "repo=$ev/repo" "sign-key-file=$ev/sign-key" "compress=zstd"
}

# evil_push NAME FILE: the attacker archives FILE into their area $T/evil-NAME;
# prints the object made
evil_push() {
  walden "$T/evil-$1/walden.conf" archive-push "$2" >/dev/null ||
    fail "the attacker's push of $2 failed"
  find "$T/evil-$1/repo/main/wal" -type f -name "$(basename "$2")-*" | head -1
}

# forge_backup NAME DIR ID FID SYSID ESCAPE PWNED: in DIR (an area's backup
# folder; the area is encrypted when DIR/../key.conf exists), a new backup
# FID made from the genuine backup ID. Unencrypted,
# the attacker rewrites its manifest (signed with the key of $T/evil-NAME):
# a tablespace link to the absolute folder ESCAPE, outside any restore
# target, and a postgresql.auto.conf whose archive_command creates PWNED.
# Encrypted, they cannot read the manifest: FID is the genuine backup copied.
forge_backup() {
  local name=$1 b=$2 id=$3 fid=$4 sysid=$5 escape=$6 pwned=$7
  cp -a "$b/$id" "$b/$fid"
  if [[ ! -f $b/../key.conf ]]; then
    zstd -qdc "$b/$id/backup.manifest.zst" >"$T/m.txt"
    printf "archive_command = 'touch %s'\n" "$pwned" >"$T/hostile"
    zstd -q -f -o "$b/$fid/data/postgresql.auto.conf.zst" "$T/hostile"
    printf 'l\t0777\t0\t0\t-\t-\t0\t0\tpg_tblspc/99999\t%s\n' "$escape" >"$T/extra"
    sed -i "/^\[files\]\$/r $T/extra" "$T/m.txt"
    sed -i "s/^id = $id/id = $fid/" "$T/m.txt"
    resign_text "$T/m.txt" "$T/evil-$name/sign-key" main "$sysid" "backup/$fid/backup.manifest"
    zstd -q -f -o "$b/$fid/backup.manifest.zst" "$T/m.txt"
  fi
}

# verify_reports MODE WHAT OBJECT [KINDS [ARG...]]: `walden verify [ARG...]`
# with $CONF exits 3 naming OBJECT as unauthenticated (or one of KINDS, a
# regex: data that does not match its signed digest is reported as corrupt)
verify_reports() {
  local what=$2 object=$3 kinds=${4:-unauthenticated}
  shift $(($# < 4 ? $# : 4))
  set +e
  walden "$CONF" verify "$@" >"$T/verify.out" 2>"$T/verify.err"
  local rc=$?
  set -e
  [[ $rc -eq 3 ]] || fail "$what: verify exited $rc: $(cat "$T/verify.out" "$T/verify.err")"
  grep -Eq "^($kinds): .*$object" "$T/verify.out" ||
    fail "$what: verify does not name $object as unauthenticated: $(cat "$T/verify.out")"
}

# ---- on an object store (after objstore.sh): the attacker reads and
# writes the objects with the store's own API (Swift's, and Blob requests
# with an account SAS), never through walden

# forgery_store_suite KIND: a real PostgreSQL 15 archives into an encrypted
# and an unencrypted area on the running store KIND (s3: start_swift, azure:
# start_azurite); in each, a made-up WAL segment and a new backup dated in
# the future (unencrypted: a tablespace escaping the target and a
# postgresql.auto.conf whose archive_command is the attacker's) are refused
# in one line saying they failed authentication and naming the object;
# archive-get exits 255; a plain `walden restore` does not take the forged
# backup; nothing is written outside the target, the attacker's command
# never runs, and verify reports both (exit 3).
forgery_store_suite() {
  local kind=$1
  new_passphrase "$T/pass"
  PRIMARY=$T/primary
  PORT=$(next_port)
  PORT2=$(next_port)
  as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
  SYSID=$(as_pg "$PG_BIN/pg_controldata" "$PRIMARY" | awk -F': *' '/system identifier/ {print $2}')
  as_pg mkdir "$T/out"
  printf "archive_mode = on\narchive_command = 'false'\n" | pg_configure "$PRIMARY" "$PORT"
  pg_start "$PRIMARY"
  psql_c "$PORT" "CREATE TABLE marker(id int primary key)"
  store_area "$kind" enc
  store_area "$kind" plain
}

# store_mirror KIND PREFIX DIR KEY...: the attacker copies the objects PREFIX/KEY
# (those that exist) into DIR/KEY
store_mirror() {
  local kind=$1 prefix=$2 dir=$3 key
  shift 3
  store_list "$kind" "$prefix/" >"$T/listing"
  for key in "$@"; do
    grep -qxF "$prefix/$key" "$T/listing" || continue
    mkdir -p "$(dirname "$dir/$key")"
    store_object "$kind" get "$prefix/$key" "$dir/$key"
  done
}

# store_area KIND MODE: an area of MODE (enc, plain) on the store KIND
store_area() {
  local kind=$1 mode=$2 prefix=forge-$2 what="$1 $2"
  local port
  port=$([[ $kind == s3 ]] && echo "$S3_PORT" || echo "$AZ_PORT")
  CONF=$T/$kind-$mode.conf
  store_conf "$kind" "$CONF" "$port" "$prefix" "lock-path=$T/locks" "pghost=$T/sock" \
    "pguser=postgres" "pgport=$PORT" "start-fast=y" "process-max=4" \
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
  store_mirror "$kind" "$prefix" "$m" walden.repo main/cluster.conf main/key.conf
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
  store_mirror "$kind" "$prefix" "$m" "$b/$id/backup.info" "$b/$id/backup.manifest.zst" \
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
