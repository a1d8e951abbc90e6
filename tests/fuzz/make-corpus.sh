#!/usr/bin/env bash
# Regenerates the seeds of the fuzz corpus that come from a real repository
# (tests/fuzz/corpus/*/real-*, and tests/fuzz/decrypt-key.conf): a throwaway
# PostgreSQL 15 archives into two local repositories through walden (one
# uncompressed in clear text, one encrypted with the passphrase "fuzz");
# backups with each compression, a dump and a drill are taken; the
# repositories' files are copied out. Run as root from the source tree:
#   WALDEN_BIN=build-release/src/walden bash tests/fuzz/make-corpus.sh
# The seeds that do not come from a repository (S3 and Azure answers,
# option values, WAL names) are written by hand and kept as they are.
# The key is new at every run: decrypt-key.conf and the encrypted seeds go
# into a commit together.
WALDEN_BIN=$(realpath "${WALDEN_BIN:?set WALDEN_BIN to a built walden}")
export WALDEN_BIN
FUZZ_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/lib.sh
source "$FUZZ_DIR/../integration/lib.sh"
C=$FUZZ_DIR/corpus

PRIMARY=$T/primary
PORT=$(next_port)
printf 'fuzz' >"$T/pass"
chmod 0600 "$T/pass"
[[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$T/pass"
write_conf "$T/plain.conf" "repo=$T/plain" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "compress=none"
write_conf "$T/enc.conf" "repo=$T/enc" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "encrypt-passphrase-file=$T/pass"
pg_init "$PRIMARY"
walden "$T/plain.conf" --pgdata "$PRIMARY" init >/dev/null
walden "$T/enc.conf" --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/plain.conf archive-push %p && $WALDEN_BIN --config $T/enc.conf archive-push %p'
CONF
pg_start "$PRIMARY"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
P() { walden "$T/plain.conf" --pgport "$PORT" "$@"; }
E() { walden "$T/enc.conf" --pgport "$PORT" "$@"; }
P backup --pgdata "$PRIMARY" >/dev/null
sleep 1
P backup --pgdata "$PRIMARY" --compress zstd >/dev/null
sleep 1
P backup --pgdata "$PRIMARY" --compress gzip >/dev/null
E backup --pgdata "$PRIMARY" >/dev/null
P dump --dbname postgres >/dev/null
as_pg mkdir -p "$T/scr"
P drill --scratch-dir "$T/scr" >"$T/drill.out" 2>&1 || echo "make-corpus: the drill failed: $(tail -3 "$T/drill.out")" >&2

# seed TARGET NAME FILE [BYTES]: copies FILE (its first BYTES) as a seed
seed() {
  [[ -n $3 && -f $3 ]] || { echo "make-corpus: no file for $1/$2" >&2; return 0; }
  mkdir -p "$C/$1"
  if [[ -n ${4:-} ]]; then head -c "$4" "$3" >"$C/$1/real-$2"; else cp "$3" "$C/$1/real-$2"; fi
}
first() { find "$@" -type f 2>/dev/null | sort | head -1; }
b=$(dirname "$(first "$T/plain/main/backup" -name backup.manifest)")
seed manifest backup.manifest "$b/backup.manifest"
seed backup_info backup.info "$b/backup.info"
seed stored backup.stored "$b/backup.stored"
seed kv backup.info "$b/backup.info"
# the fuzz targets read backup 20260101T000000Z (FZ_ID); the manifest and
# the list keep 25 lines of their [files] and [objects] sections
sed -i -E 's/^id = [0-9T]+Z$/id = 20260101T000000Z/' "$C"/{manifest,backup_info,stored}/real-*
python3 - "$C/manifest/real-backup.manifest" "[files]" "$C/stored/real-backup.stored" "[objects]" <<'PY'
import sys
for path, start in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    lines = open(path, 'rb').read().split(b'\n')
    s, e = lines.index(start.encode()), lines.index(b'[end]')
    body = lines[s + 1:e]
    open(path, 'wb').write(b'\n'.join(lines[:s + 1] + body[:25] + body[-3:] + lines[e:]))
PY
# The harness signs the inputs of these targets itself (fuzz_util.c): their
# seeds are the bodies, without the signature line. fuzz_signed's seeds are
# signed texts: backup.info signed with the harness's fixed key (it passes
# the check) and as the repository signed it (another key: refused).
seed signed backup.info-other-key "$b/backup.info"
sed -i -E 's/^id = [0-9T]+Z$/id = 20260101T000000Z/' "$C/signed/real-backup.info-other-key"
sed -i '/^signature = /d' "$C"/{manifest,backup_info,stored}/real-*
cp "$C/backup_info/real-backup.info" "$C/signed/real-backup.info"
printf 'sign-private-key = %s\n' \
  "$(sed -n 's/^#define FZ_SIGN_KEY "\([0-9a-f]*\)"$/\1/p' "$FUZZ_DIR/fuzz_util.h")" >"$T/fz.key"
resign_text "$C/signed/real-backup.info" "$T/fz.key" main 7312345678901234567 \
  backup/20260101T000000Z/backup.info
seed zstd manifest.zst "$(first "$T/plain/main/backup" -name 'backup.manifest.zst')"
seed zstd data.zst "$(first "$T/plain/main/backup" -path '*/data/*.zst' -size +1k)" 65536
seed gzip manifest.gz "$(first "$T/plain/main/backup" -name 'backup.manifest.gz')"
seed gzip data.gz "$(first "$T/plain/main/backup" -path '*/data/*.gz' -size +1k)" 65536
seed dump_manifest dump.manifest "$(first "$T/plain/main/dump" -name dump.manifest)"
seed drill_record drill.info "$(first "$T/plain/main/drill" -name '*.info')"
seed keyfile key.conf "$T/enc/main/key.conf"
seed kv cluster.conf "$T/plain/main/cluster.conf"
seed cluster_conf cluster.conf "$T/enc/main/cluster.conf"
seed config walden.conf "$T/enc.conf"
cp "$T/enc/main/key.conf" "$FUZZ_DIR/decrypt-key.conf"
seed decrypt manifest "$(first "$T/enc/main/backup" -name 'backup.manifest*')"
seed decrypt wal "$(first "$T/enc/main/wal" -name '0000000*')" 65536
seed frame manifest "$(first "$T/enc/main/backup" -name 'backup.manifest*')"
seed frame wal "$(first "$T/enc/main/wal" -name '0000000*')" 65536
w=$(first "$T/plain/main/wal" -name '0000000*' ! -name '*.history*')
mkdir -p "$C/wal_header" "$C/wal_name" "$C/pg_control"
# wal_header: the segment's name, PostgreSQL 15 (byte 6), the size from the
# header (byte 1), then the segment's first 8 KiB
{
  basename "$w" | head -c 24
  printf '\006\001'
  head -c 8192 "$w"
} >"$C/wal_header/real-segment"
basename "$w" | tr -d '\n' >"$C/wal_name/real-object"
{
  cat "$PRIMARY/PG_VERSION"
  printf '\0'
  head -c 512 "$PRIMARY/global/pg_control"
} >"$C/pg_control/real-pg_control"
chmod -R u+rwX,go+rX "$C"
echo "make-corpus: seeds written under $C"
