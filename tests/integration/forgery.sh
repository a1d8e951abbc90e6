# forgery.sh - sourced after lib.sh by the tests of an attacker who can
# read, write, rename and delete everything in a repository, but has
# neither the signing key file nor the passphrase (docs/security.md):
# test_forgery.sh (a local repository) and test_forgery_objstore.sh (S3 and
# Azure). The attacker works on a folder laid out like the repository
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

# own REPO: the attacker leaves what they planted readable to walden (an
# object walden cannot read stops it as an input/output error, which proves
# nothing)
own() { [[ ${#RUN_AS[@]} -eq 0 ]] || chown -R postgres: "$1"; }

# refused WHAT STATUS CMD...: CMD exits STATUS (1 or 255) with one line
# saying "failed authentication"
refused() {
  local what=$1 want=$2
  shift 2
  expect_status "$want" "$@"
  stderr_has "failed authentication"
  [[ $(wc -l <"$T/stderr") -eq 1 ]] || fail "$what: more than one line: $(cat "$T/stderr")"
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
