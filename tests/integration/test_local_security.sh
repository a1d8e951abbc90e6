#!/usr/bin/env bash
# Local attacks and secrets, against a real PostgreSQL 15 and an encrypted
# repository (docs/security-local.md):
#   - lock files: a symbolic link planted in the lock folder is refused and
#     its target left as it was; a lock folder of another user (nobody) and
#     one every user may write without the sticky bit are refused, a sticky
#     one is used; two repositories whose clusters share a name lock apart;
#     by default locks go to /run/walden, else to a 0700 /tmp/walden-UID;
#   - a NUL byte in backup.info, dump.manifest, a drill record, the config
#     file or cluster.conf: info, verify, expire --dry-run and
#     drill --history end with an error naming the file (a signed
#     repository file fails its signature, the others say "contains a NUL
#     byte"), never crash;
#   - a walden process that holds the passphrase or the signing key is not
#     dumpable (its /proc/PID belongs to root, its user cannot read its
#     environ); one that holds no secret (a verify-key reader) is;
#   - pg_dump, pg_dumpall and the drill's pg_ctl (through a pg-bin of
#     wrappers that save their own environment) get none of walden's secret
#     variables, and do get the PG* ones;
#   - the modes of the files walden creates, under a umask of 000 and 077.
# label: slow
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || {
  echo "skip: runs as root (files of other users, /proc of other users)"
  exit 0
}

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2" "expire-auto=no"
archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT")
  walden "$T/walden.conf" "$@"
}
# umask_run MASK CMD...: CMD as postgres under umask MASK
umask_run() {
  local mask=$1
  shift
  as_pg sh -c 'umask "$0"; exec "$@"' "$mask" "$@"
}
# no_crash WHAT: the last expect_status-like run left no sanitizer report
no_crash() {
  ! grep -q "Sanitizer\|runtime error" "$T/stderr" || fail "$1: $(cat "$T/stderr")"
}

W --pgdata "$PRIMARY" backup >"$T/backup.out" || fail "backup failed: $(cat "$T/backup.out")"
BID=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
[[ -n $BID ]] || fail "no backup id in: $(cat "$T/backup.out")"

# ---- children: no secret variables, the PG* ones kept
WRAP=$T/pgbin
mkdir "$WRAP" "$T/env"
chown postgres: "$T/env"
for prog in "$PG_BIN"/*; do
  name=$(basename "$prog")
  cat >"$WRAP/$name" <<EOF
#!/bin/sh
# saves the environment walden gave it, then runs the real $name
tr '\\0' '\\n' </proc/\$\$/environ >"$T/env/$name.\$\$"
exec "$prog" "\$@"
EOF
  chmod 0755 "$WRAP/$name"
done
PASSPHRASE=$(cat "$T/pass")
SECRETS=("WALDEN_ENCRYPT_PASSPHRASE=$PASSPHRASE" "WALDEN_S3_KEY_SECRET=s3-secret-4711"
  "WALDEN_S3_TOKEN=s3-token-4711" "WALDEN_AZURE_KEY=YXp1cmUta2V5LTQ3MTE=" "WALDEN_AZURE_SAS=sv=4711"
  "AWS_SECRET_ACCESS_KEY=aws-secret-4711" "AWS_SESSION_TOKEN=aws-token-4711"
  "AZURE_STORAGE_KEY=YXp1cmUtc3RvcmFnZS00NzEx")
KEPT=("PGAPPNAME=walden-local-test" "PGCONNECT_TIMEOUT=29" "AWS_REGION=eu-west-4711")
# secrets_absent WHAT FILES...: none of the secret values in FILES, every
# kept variable there
secrets_absent() {
  local what=$1 f kv
  shift
  [[ $# -gt 0 ]] || fail "$what: no environment saved"
  for f in "$@"; do
    for kv in "${SECRETS[@]}"; do
      ! grep -qF -- "${kv#*=}" "$f" || fail "$what: ${kv%%=*}'s value in $(basename "$f")"
      ! grep -q "^${kv%%=*}=" "$f" || fail "$what: ${kv%%=*} in $(basename "$f")"
    done
    for kv in "${KEPT[@]}"; do
      grep -qxF -- "$kv" "$f" || fail "$what: $kv missing from $(basename "$f")"
    done
  done
}
expect_status 0 as_pg env "${SECRETS[@]}" "${KEPT[@]}" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --pg-bin "$WRAP" dump
secrets_absent "dump" "$T"/env/pg_dump.* "$T"/env/pg_dumpall.*
[[ $(ls "$T"/env/pg_dump.* | wc -l) -ge 2 && $(ls "$T"/env/pg_dumpall.* | wc -l) -ge 1 ]] ||
  fail "pg_dump and pg_dumpall did not both run: $(ls "$T/env")"
pass "pg_dump and pg_dumpall: no secret variable, PGAPPNAME, PGCONNECT_TIMEOUT and AWS_REGION kept"
rm -f "$T"/env/*

as_pg mkdir "$T/scr"
expect_status 0 umask_run 077 env "${SECRETS[@]}" "${KEPT[@]}" "$WALDEN_BIN" \
  --config "$T/walden.conf" --pgport "$PORT" --pg-bin "$WRAP" --scratch-dir "$T/scr" \
  --report "$T/report.json" --metrics-file "$T/drill.prom" drill
secrets_absent "drill" "$T"/env/pg_ctl.*
pass "the drill's pg_ctl (and the server it starts): no secret variable, the PG* ones kept"
[[ $(stat -c %a "$T/report.json") == 640 && $(stat -c %a "$T/drill.prom") == 644 ]] ||
  fail "drill report $(stat -c %a "$T/report.json"), metrics $(stat -c %a "$T/drill.prom") under umask 077"
pass "under umask 077: the drill's report is 0640, its metrics file 0644"

# ---- lock files
TARGET=$T/pg_control.copy
cp "$PRIMARY/global/pg_control" "$TARGET"
chown postgres: "$TARGET"
sum=$(sha256sum <"$TARGET")
DUMP_LOCK=$(lock_file "$T/locks" "$T/repo" main dump)
[[ -f $DUMP_LOCK ]] || fail "no dump lock at $DUMP_LOCK: $(ls "$T/locks")"
as_pg rm "$DUMP_LOCK"
as_pg ln -s "$TARGET" "$DUMP_LOCK"
expect_status 1 W dump
stderr_has "lock file '$DUMP_LOCK' is a symbolic link: refusing it"
[[ $(sha256sum <"$TARGET") == "$sum" ]] || fail "the symbolic link's target was changed"
as_pg rm "$DUMP_LOCK"
pass "a symbolic link planted as the dump lock: refused, its target (a pg_control) unchanged"

mkdir "$T/locks-nobody"
chown nobody: "$T/locks-nobody"
expect_status 1 W --lock-path "$T/locks-nobody" expire --dry-run
stderr_has "lock folder '$T/locks-nobody' belongs to user $(id -u nobody), neither root nor this user"
expect_status 1 "$WALDEN_BIN" --config "$T/walden.conf" --lock-path "$T/locks-nobody" expire --dry-run
stderr_has "lock folder '$T/locks-nobody' belongs to user $(id -u nobody)"
[[ -z $(ls -A "$T/locks-nobody") ]] || fail "locks made in nobody's folder"
pass "a lock folder of another user (nobody) is refused, by postgres and by root"

as_pg mkdir -m 0777 "$T/locks-open"
as_pg chmod 0777 "$T/locks-open"
expect_status 1 W --lock-path "$T/locks-open" expire --dry-run
stderr_has "lock folder '$T/locks-open' is writable by every user and not sticky"
as_pg chmod 1777 "$T/locks-open"
expect_status 0 W --lock-path "$T/locks-open" expire --dry-run
[[ -f $(lock_file "$T/locks-open" "$T/repo" main backup) ]] || fail "no lock in the sticky folder"
pass "a lock folder every user may write is refused without the sticky bit, used with it"

# two repositories, both with a cluster 'main', one lock folder
write_conf "$T/other.conf" "repo=$T/other-repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "expire-auto=no"
walden "$T/other.conf" --pgdata "$PRIMARY" init >/dev/null
# held by root's flock itself (-o): killing it releases the lock (the lock
# file exists already, postgres's, from the backup above)
flock -o "$(lock_file "$T/locks" "$T/repo" main backup)" sleep 60 &
HOLDER=$!
for _ in $(seq 1 100); do
  as_pg flock -n "$(lock_file "$T/locks" "$T/repo" main backup)" true 2>/dev/null || break
  sleep 0.1
done
expect_status 1 W expire --dry-run
stderr_has "another walden backup of cluster 'main' is running"
expect_status 0 walden "$T/other.conf" expire --dry-run
pkill -P "$HOLDER" sleep 2>/dev/null || true
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
expect_status 0 W expire --dry-run
pass "two repositories whose clusters are both 'main' lock apart"

# the default folder: /run/walden when there, else /tmp/walden-UID (0700)
write_conf "$T/default.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "expire-auto=no"
PGUID=$(id -u postgres)
if [[ -d /run/walden ]]; then
  want=/run/walden
else
  want=/tmp/walden-$PGUID
  made_fallback=$([[ -e $want ]] && echo no || echo yes)
fi
expect_status 0 walden "$T/default.conf" expire --dry-run
[[ -f $(lock_file "$want" "$T/repo" main backup) ]] || fail "no lock in $want"
[[ -e /run/walden || $(stat -c '%U %a' "$want") == "postgres 700" ]] ||
  fail "fallback folder $(stat -c '%U %a' "$want")"
rm -f "$(lock_file "$want" "$T/repo" main backup)" "$(lock_file "$want" "$T/repo" main dump)" \
  "$(lock_file "$want" "$T/repo" main read)"
[[ ${made_fallback:-no} == no ]] || rmdir "$want" 2>/dev/null || true
pass "default lock folder: $want"

# ---- a process holding a secret (the passphrase, the signing key) is not
# dumpable. walden verify waits for the readers' lock, held here
# exclusively, with its secrets loaded; its /proc entry is then inspected,
# and the lock freed.
LOCK=$(lock_file "$T/locks" "$T/repo" main read)
[[ -d $T/locks ]] || fail "no lock folder $T/locks"
# dumpable_while_blocked CONF: prints the owner of /proc/PID/environ of a
# walden verify (as postgres) waiting for the lock, and whether postgres can
# read it
dumpable_while_blocked() {
  exec 3>>"$LOCK"
  flock -x 3
  as_pg "$WALDEN_BIN" --config "$1" verify >"$T/verify.out" 2>"$T/verify.err" 3>&- &
  local runner=$! pid=""
  for _ in $(seq 1 600); do
    pid=$(pgrep -u postgres -f "^$WALDEN_BIN --config $1 verify" || true)
    [[ -n $pid ]] && ls -l "/proc/$pid/fd" 2>/dev/null | grep -qF "$LOCK" && break
    pid=""
    sleep 0.1
  done
  [[ -n $pid ]] || fail "walden verify never waited for $LOCK: $(cat "$T/verify.err")"
  local owner readable=yes
  owner=$(stat -c %U "/proc/$pid/environ")
  as_pg cat "/proc/$pid/environ" >/dev/null 2>&1 || readable=no
  exec 3>&-
  wait "$runner" || fail "walden verify failed after the lock was freed: $(cat "$T/verify.out" "$T/verify.err")"
  echo "$owner $readable"
}
got=$(dumpable_while_blocked "$T/walden.conf")
[[ $got == "root no" ]] || fail "with the passphrase and signing key loaded: /proc owner and readable: $got"
# a reader with the verification key only: no secret at all
VK=$(sed -n 's/^verify-key = //p' "$(sign_key_of "$T/walden.conf")")
[[ ${#VK} -eq 64 ]] || fail "no verify-key in the signing key file"
write_conf "$T/nosecret.conf" "repo=$T/repo" "lock-path=$T/locks" "sign-key-file=$T/none" \
  "verify-key=$VK"
got=$(dumpable_while_blocked "$T/nosecret.conf")
[[ $got == "postgres yes" ]] || fail "without a secret: /proc owner and readable: $got"
pass "holding the passphrase or the signing key, walden is not dumpable (/proc/PID is root's); without a secret it is"

# ---- a NUL byte in metadata files: an error naming the file, no crash
# put_nul FILE: a NUL byte after the first line, the owner kept
put_nul() {
  cp -p "$1" "$1.saved"
  { head -n 1 "$1.saved"; printf 'x\0y = 1\n'; tail -n +2 "$1.saved"; } >"$1"
  chown --reference="$1.saved" "$1"
}
restore_file() { mv "$1.saved" "$1"; }
DID=$(ls "$T/repo/main/dump" | head -1)
REC=$(ls "$T/repo/main/drill"/*.info | head -1)
[[ -n $DID && -f $REC ]] || fail "no dump or drill record to damage"
# check_nul FILE NAME [REL]: runs the four commands with a NUL byte in FILE;
# a row "NAME | command | exit status | named" each, named when the output
# says "NAME: contains a NUL byte" or, for a signed repository file (REL, its
# path in the repository), that 'REL' failed authentication: the signature
# is checked before the text is parsed
check_nul() {
  local file=$1 name=$2 rel=${3:-} cmd
  put_nul "$file"
  for cmd in info verify "expire --dry-run" "drill --history"; do
    # shellcheck disable=SC2086
    set +e
    W $cmd >"$T/stdout" 2>"$T/stderr"
    local st=$?
    set -e
    no_crash "$name, $cmd"
    [[ $st -lt 128 ]] || fail "$name, $cmd: killed by signal $((st - 128))"
    # verify reports its problems on stdout, the others on stderr
    local said=-
    # (grep reads the files itself: `cat | grep -q` fails under pipefail when
    # grep stops before cat has written everything)
    ! grep -qF -- "$name: contains a NUL byte" "$T/stdout" "$T/stderr" || said=named
    [[ -z $rel ]] || ! grep -qF -- "'$rel' failed authentication" "$T/stdout" "$T/stderr" ||
      said=named
    echo "$name | $cmd | $st | $said" >>"$T/nul-table"
    { echo "== $name | $cmd | $st"; cat "$T/stdout" "$T/stderr"; } >>"$T/nul-output"
  done
  restore_file "$file"
}
check_nul "$T/repo/main/backup/$BID/backup.info" "backup.info of backup '$BID'" \
  "main/backup/$BID/backup.info"
check_nul "$T/repo/main/dump/$DID/dump.manifest" "dump.manifest of dump '$DID'" \
  "main/dump/$DID/dump.manifest"
check_nul "$REC" "main/drill/$(basename "$REC")" "main/drill/$(basename "$REC")"
check_nul "$T/repo/main/cluster.conf" "main/cluster.conf"
check_nul "$T/walden.conf" "$T/walden.conf"
cat "$T/nul-table"
# status | NUL error: each command that reads the file fails naming it
expect_row() {
  grep -qxF -- "$1" "$T/nul-table" || fail "expected '$1' in:
$(cat "$T/nul-table")
$(cat "$T/nul-output")"
}
# a NUL byte in a signed file fails its signature: refused, naming it
# (verify reports it as a problem)
expect_row "backup.info of backup '$BID' | info | 1 | named"
expect_row "backup.info of backup '$BID' | verify | 3 | named"
expect_row "backup.info of backup '$BID' | expire --dry-run | 1 | named"
expect_row "dump.manifest of dump '$DID' | info | 1 | named"
expect_row "dump.manifest of dump '$DID' | verify | 3 | named"
expect_row "dump.manifest of dump '$DID' | expire --dry-run | 1 | named"
expect_row "main/drill/$(basename "$REC") | info | 1 | named"
expect_row "main/drill/$(basename "$REC") | drill --history | 1 | named"
for cmd in info verify "expire --dry-run" "drill --history"; do
  expect_row "main/cluster.conf | $cmd | 1 | named"
  expect_row "$T/walden.conf | $cmd | 2 | named"
done
pass "a NUL byte in backup.info, dump.manifest, a drill record, cluster.conf or the config file: errors naming the file, no crash"

# ---- modes of the files walden creates, whatever the umask
for mask in 000 077; do
  M=$T/modes-$mask
  as_pg mkdir "$M"
  write_conf "$M/walden.conf" "repo=$M/repo" "encrypt-passphrase-file=$T/pass" \
    "lock-path=$M/locks" "pghost=$T/sock" "pguser=postgres" "expire-auto=no" \
    "log-file=$M/walden.log"
  umask_run "$mask" "$WALDEN_BIN" --config "$M/walden.conf" --pgdata "$PRIMARY" init >/dev/null
  umask_run "$mask" "$WALDEN_BIN" --config "$M/walden.conf" --pgport "$PORT" dump \
    --dbname postgres >"$M/dump.out" || fail "dump under umask $mask failed: $(cat "$M/dump.out")"
  umask_run "$mask" "$WALDEN_BIN" --config "$M/walden.conf" metrics --metrics-file "$M/walden.prom"
  did=$(ls "$M/repo/main/dump" | head -1)
  umask_run "$mask" "$WALDEN_BIN" --config "$M/walden.conf" restore-dump --set "$did" \
    --to-file "$M/out.dump" >/dev/null
  modes=$(cd "$M" && stat -c '%n %a' repo repo/main repo/main/cluster.conf repo/main/key.conf \
    repo/main/dump "repo/main/dump/$did" "repo/main/dump/$did/dump.manifest" walden.log \
    walden.prom locks "$(basename "$(lock_file "$M/locks" "$M/repo" main dump)" | sed 's|^|locks/|')" \
    out.dump | tr '\n' ',')
  want="repo 750,repo/main 750,repo/main/cluster.conf 640,repo/main/key.conf 640,repo/main/dump 750,"
  want+="repo/main/dump/$did 750,repo/main/dump/$did/dump.manifest 640,walden.log 640,"
  want+="walden.prom 644,locks 700,locks/$(basename "$(lock_file "$M/locks" "$M/repo" main dump)") 644,"
  want+="out.dump 600,"
  [[ $modes == "$want" ]] || fail "modes under umask $mask:
  got  $modes
  want $want"
  pass "under umask $mask: repository 0750/0640, log 0640, metrics 0644, lock folder 0700, lock 0644, --to-file 0600"
done

pg_stop "$PRIMARY"
finish
