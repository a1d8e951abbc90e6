#!/usr/bin/env bash
# Benchmark: walden's object-store drivers against plain curl, on the local
# test servers (OpenStack Swift with s3api, and Azurite, both on 127.0.0.1,
# started here as the integration tests start them).
#
#   1. one 1 GiB object (random bytes, from a page-cached file): upload and
#      download through walden's storage drivers (walden_objbench: a
#      storage sink/source, 32 MiB multipart parts / blocks uploaded 4 at a
#      time, SigV4 with the real payload SHA-256 / SharedKey with
#      Content-MD5, one streaming GET) and with plain curl moving the same
#      bytes in the same run (one PUT with UNSIGNED-PAYLOAD / a SAS, one
#      GET), ROUNDS times interleaved, each after a sync (Azurite does not
#      fsync: without it a download ran during the writeback of the two
#      uploads before it); all uploads first, then, on idle servers, the
#      downloads, both clients reading the object walden uploaded first;
#      prints every time, the median and the best of each, walden/curl
#      ratios of both, and walden's peak RSS.
#   2. archive-push of real 16 MiB WAL segments (encrypted, zstd) into each
#      store: one process at a time (as PostgreSQL's archiver does) and two
#      at a time ("process-max 2"), in MiB/s of WAL.
#   3. walden backup (full, zstd 3, encrypted, start-fast) of one cluster
#      (pgbench at BACKUP_SCALE plus BACKUP_ROWS rows of random text, which
#      compresses about 2:1) into a posix repository, S3 and Azure, at
#      process-max 1 and 2, ROUNDS rounds interleaved; medians, MB/s of
#      the data directory, and each store's ratio to the posix time.
#      pgBackRest's full backup to a posix repository (same settings,
#      aes-256-cbc) is timed alongside for reference: pgBackRest cannot
#      reach the local servers, which speak plain HTTP.
#
# Usage (as root, Debian 12, servers installed by
# scripts/install-deps.sh --objstore): scripts/bench/object_store.sh
# Environment: ROUNDS (default 2), SEGMENTS (default 16), BACKUP_SCALE
# (default 30), BACKUP_ROWS (default 2000000), SECTIONS (default
# "object push backup": which of 1, 2, 3 to run), BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-2}
SEGMENTS=${SEGMENTS:-16}
BACKUP_SCALE=${BACKUP_SCALE:-30}
BACKUP_ROWS=${BACKUP_ROWS:-2000000}
SECTIONS=${SECTIONS:-object push backup}
SRC=$(pwd)
BUILD=${BUILD_DIR:-$SRC/build-s3-release}

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target walden_cli walden_objbench >/dev/null
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
# median X...: the middle value; for an even count the mean of the two
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
export WALDEN_BIN=$BUILD/src/walden WALDEN_SOURCE_DIR=$SRC WALDEN_BUILD_DIR=$BUILD
BENCH=$BUILD/tests/walden_objbench
export WALDEN_REQUIRE_SERVERS=1
source "$SRC/tests/integration/lib.sh"
source "$SRC/tests/integration/objstore.sh"

echo "== starting swift (s3api) and azurite on 127.0.0.1"
start_swift
start_azurite
SAS=$(azure_account_sas "$AZ_ACCOUNT" "$AZ_KEY")
new_passphrase "$T/pass"

# SigV4 for curl: scripts/bench/s3curl.py (the test key holds a ':', which
# curl --aws-sigv4 cannot take)
export S3_ENDPOINT S3_KEY S3_SECRET S3_REGION
s3_headers() { python3 "$SRC/scripts/bench/s3curl.py" headers "$@"; }

# curl_s3 put|get KEY FILE, curl_az put|get KEY FILE
curl_s3() {
  local op=$1 key=$2 file=$3 h=()
  mapfile -t lines < <(s3_headers "$([[ $op == put ]] && echo PUT || echo GET)" "/walden/$key")
  for l in "${lines[@]}"; do h+=(-H "$l"); done
  if [[ $op == put ]]; then
    curl -sSf -H "Expect:" "${h[@]}" -T "$file" -o /dev/null "$S3_ENDPOINT/walden/$key"
  else
    curl -sSf "${h[@]}" -o "$file" -w '%{size_download}\n' "$S3_ENDPOINT/walden/$key"
  fi
}
# curl_s3_mp KEY PARTDIR: the same requests as walden's sink, by curl
# (CreateMultipartUpload, one UploadPart per file of PARTDIR, 32 MiB parts
# split before timing, 4 at a time, each signed with its real SHA-256
# computed inside the timing, CompleteMultipartUpload)
curl_s3_mp() { python3 "$SRC/scripts/bench/s3curl.py" multipart "$@"; }
curl_az() {
  local op=$1 key=$2 file=$3
  if [[ $op == put ]]; then
    curl -sSf -H "Expect:" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2021-12-02" \
      -T "$file" -o /dev/null "$AZ_ENDPOINT/walden/$key?$SAS"
  else
    curl -sSf -H "x-ms-version: 2021-12-02" -o "$file" -w '%{size_download}\n' \
      "$AZ_ENDPOINT/walden/$key?$SAS"
  fi
}

store_conf s3 "$T/s3.conf" "$S3_PORT" bench
store_conf azure "$T/az.conf" "$AZ_PORT" bench
# the containers exist before anything is timed
"$BENCH" "$T/s3.conf" put warm /dev/null >/dev/null
"$BENCH" "$T/az.conf" put warm /dev/null >/dev/null

if section object; then
echo "== 1 GiB object, $ROUNDS rounds (seconds; MiB/s)"
head -c $((1 << 30)) /dev/urandom >"$T/obj"
mkdir "$T/parts" && (cd "$T/parts" && split -b 32M -d -a 4 ../obj p) # curl's multipart
cat "$T/obj" "$T/parts"/* >/dev/null # page-cached for every method alike
SIZE=$(stat -c %s "$T/obj")
declare -A best all
timed() { # NAME CMD...: runs CMD, keeps the best time of NAME and all times
  local name=$1 t0 t1 s
  shift
  sync # the previous step's writes are on disk: no writeback during this one
  t0=$(date +%s.%N)
  "$@" >"$T/out"
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc -l)
  printf '  %-22s %7.2f s %7.1f MiB/s\n' "$name" "$s" "$(echo "$SIZE / 1048576 / $s" | bc -l)"
  if [[ -z ${best[$name]:-} ]] || (($(echo "$s < ${best[$name]}" | bc -l))); then best[$name]=$s; fi
  all[$name]="${all[$name]:-} $s"
}
declare -A rss
keep_rss() { # NAME: the largest peak RSS (KiB) of NAME's runs, from $T/rss
  local k
  k=$(tail -1 "$T/rss")
  if [[ -z ${rss[$1]:-} ]] || ((k > ${rss[$1]})); then rss[$1]=$k; fi
}
check_size() { # the byte count the download printed last (objbench: "get BYTES ...")
  local n
  n=$(awk 'END { print ($1 == "get" ? $2 : $1) }' "$T/out")
  [[ $n == "$SIZE" ]] || fail "a download moved $n bytes, not $SIZE"
}
walden_put() {
  timed "$kind walden put" /usr/bin/time -f %M -o "$T/rss" "$BENCH" "$conf" put "obj-$r" "$T/obj"
  keep_rss "$kind walden put"
}
curl_put() {
  timed "$kind curl put" "curl_$kind" put "bench/curl-obj-$r" "$T/obj"
}
curl_mp_put() {
  [[ $kind == s3 ]] || return 0
  cat "$T/parts"/* >/dev/null
  timed "s3 curl multipart put" curl_s3_mp "bench/curl-mp-$r" "$T/parts"
}
# Downloads go to /dev/null, for both clients: what is timed is the
# download, not the kernel's writing of 1 GiB into a file (which varied by
# seconds from run to run here, see docs/benchmarks.md). The bytes are
# compared with the source once, untimed, after the rounds.
walden_get() { # both clients read the same object: walden's obj-1
  timed "$kind walden get" /usr/bin/time -f %M -o "$T/rss" "$BENCH" "$conf" get obj-1 /dev/null
  keep_rss "$kind walden get"
  check_size
}
curl_get() {
  timed "$kind curl get" "curl_$kind" get "bench/obj-1" /dev/null
  check_size
}
# rounds PHASE STEP...: ROUNDS rounds of the STEPs for each store, in the
# order given in odd rounds and reversed in even ones (a server still busy
# with the step before, Azurite after a 1 GiB upload, slows whoever comes
# next)
rounds() {
  local phase=$1 r i
  shift
  local steps=("$@")
  for r in $(seq 1 "$ROUNDS"); do
    echo " $phase round $r"
    for kind in s3 az; do
      conf=$T/$kind.conf
      if ((r % 2)); then
        for ((i = 0; i < ${#steps[@]}; i++)); do "${steps[i]}"; done
      else
        for ((i = ${#steps[@]} - 1; i >= 0; i--)); do "${steps[i]}"; done
      fi
    done
  done
}
# new object names every upload round: no overwrite (whose clean-up, e.g.
# Azurite's extent garbage collection, could run during a later step)
rounds upload walden_put curl_put curl_mp_put
# downloads after all uploads, once the servers are idle again (right after
# a 1 GiB upload a server is still writing out and indexing it, which slows
# whichever client comes next)
sync
sleep 10
rounds download walden_get curl_get
# the bytes walden stored are the bytes sent (checked once, not timed)
"$BENCH" "$T/s3.conf" get obj-1 "$T/back" >/dev/null && cmp "$T/obj" "$T/back" || fail "s3 copy differs"
"$BENCH" "$T/az.conf" get obj-1 "$T/back" >/dev/null && cmp "$T/obj" "$T/back" || fail "azure copy differs"
rm -f "$T/back"
echo " best of $ROUNDS (walden / curl time):"
for kind in s3 az; do
  for op in put get; do
    w=${best[$kind walden $op]} c=${best[$kind curl $op]}
    printf '  %-3s %s  walden %6.2f s (%6.1f MiB/s)  curl %6.2f s (%6.1f MiB/s)  ratio %.2f\n' \
      "$kind" "$op" "$w" "$(echo "$SIZE / 1048576 / $w" | bc -l)" "$c" \
      "$(echo "$SIZE / 1048576 / $c" | bc -l)" "$(echo "$w / $c" | bc -l)"
  done
done
echo " median of $ROUNDS (walden / curl time):"
for kind in s3 az; do
  for op in put get; do
    # shellcheck disable=SC2086
    w=$(median ${all[$kind walden $op]}) c=$(median ${all[$kind curl $op]})
    printf '  %-3s %s  walden %6.2f s (%6.1f MiB/s)  curl %6.2f s (%6.1f MiB/s)  ratio %.2f\n' \
      "$kind" "$op" "$w" "$(echo "$SIZE / 1048576 / $w" | bc -l)" "$c" \
      "$(echo "$SIZE / 1048576 / $c" | bc -l)" "$(echo "$w / $c" | bc -l)"
  done
done
# like with like: walden's upload against curl sending the same requests
# (multipart, 32 MiB parts, 4 at a time, real payload SHA-256 signed)
# shellcheck disable=SC2086
w=$(median ${all[s3 walden put]}) c=$(median ${all[s3 curl multipart put]})
printf '  s3  put  walden %6.2f s  curl multipart (same requests) %6.2f s  ratio %.2f (median)\n' \
  "$w" "$c" "$(echo "$w / $c" | bc -l)"
w=${best[s3 walden put]} c=${best[s3 curl multipart put]}
printf '  s3  put  walden %6.2f s  curl multipart (same requests) %6.2f s  ratio %.2f (best)\n' \
  "$w" "$c" "$(echo "$w / $c" | bc -l)"
for kind in s3 az; do
  printf '  %-3s peak RSS of walden_objbench: put %d MiB, get %d MiB\n' "$kind" \
    $((${rss[$kind walden put]} / 1024)) $((${rss[$kind walden get]} / 1024))
done
rm -rf "$T/obj" "$T/parts"
fi

if section push; then
echo "== archive-push of $SEGMENTS real WAL segments into each store"
PGDATA=$T/pgdata PORT=$(next_port)
as_pg mkdir -p "$T/segs"
pg_init "$PGDATA"
pg_configure "$PGDATA" "$PORT" <<CONF
archive_mode = on
archive_command = 'cp %p $T/segs/%f'
max_wal_size = '2GB'
CONF
pg_start "$PGDATA"
as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s 20 -q postgres >/dev/null 2>&1
while (($(ls "$T/segs" | grep -c '^[0-9A-F]\{24\}$') < SEGMENTS + 2)); do
  as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -T 5 -c 2 postgres >/dev/null 2>&1
  switch_wal "$PORT" >/dev/null
  sleep 1
done
pg_stop "$PGDATA"
mapfile -t segs < <(ls "$T/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n "$SEGMENTS")
for kind in s3 az; do
  for p in 1 2; do
    k=${kind/az/azure}
    store_conf "$k" "$T/push.conf" "$([[ $k == s3 ]] && echo "$S3_PORT" || echo "$AZ_PORT")" \
      "push-$p-$RANDOM"
    walden "$T/push.conf" --pgdata "$PGDATA" init >/dev/null
    t0=$(date +%s.%N)
    printf '%s\n' "${segs[@]}" |
      as_pg xargs -P "$p" -I{} "$WALDEN_BIN" --config "$T/push.conf" archive-push "$T/segs/{}"
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc -l)
    printf '  %-5s %d at a time: %2d segments in %6.2f s = %6.1f MiB/s of WAL, %4.0f ms per segment\n' \
      "$k" "$p" "${#segs[@]}" "$s" "$(echo "${#segs[@]} * 16 / $s" | bc -l)" \
      "$(echo "$s * 1000 / ${#segs[@]}" | bc -l)"
    walden "$T/push.conf" archive-list >"$T/listed"
    [[ $(grep -c . "$T/listed") -ge ${#segs[@]} ]] || fail "not every segment was pushed"
  done
done
fi

if section backup; then
  echo "== walden backup into each store: pgbench scale $BACKUP_SCALE + $BACKUP_ROWS random rows, $ROUNDS rounds"
  BK=$T/bk BKPORT=$(next_port)
  as_pg mkdir -p "$T/bkrepo" "$T/pgbr-repo" "$T/pgbr-lock" "$T/pgbr-spool" "$T/locks"
  common=("lock-path=$T/locks" "pghost=$T/sock" "pgport=$BKPORT" "pguser=postgres"
    "start-fast=y" "compress=zstd" "compress-level=3")
  write_conf "$T/bk-posix.conf" "repo=$T/bkrepo" "encrypt-passphrase-file=$T/pass" "${common[@]}"
  store_conf s3 "$T/bk-s3.conf" "$S3_PORT" "bk-$RANDOM" "${common[@]}"
  store_conf azure "$T/bk-azure.conf" "$AZ_PORT" "bk-$RANDOM" "${common[@]}"
  cat >"$T/pgbackrest.conf" <<CONF
[global]
repo1-path=$T/pgbr-repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(cat "$T/pass")
repo1-retention-full=100
compress-type=zst
compress-level=3
start-fast=y
archive-async=n
log-level-console=warn
log-level-file=off
lock-path=$T/pgbr-lock
spool-path=$T/pgbr-spool

[bench]
pg1-path=$BK
pg1-socket-path=$T/sock
pg1-port=$BKPORT
CONF
  chown postgres: "$T/pgbackrest.conf" "$T/pass"
  chmod 0600 "$T/pgbackrest.conf"
  PGBR=(pgbackrest --config="$T/pgbackrest.conf" --stanza=bench)
  as_pg "$PG_BIN/initdb" -D "$BK" -A trust -U postgres --no-sync -k >/dev/null
  for st in posix s3 azure; do walden "$T/bk-$st.conf" --pgdata "$BK" init >/dev/null; done
  push="$WALDEN_BIN --config $T/bk-posix.conf archive-push %p"
  push="$push && $WALDEN_BIN --config $T/bk-s3.conf archive-push %p"
  push="$push && $WALDEN_BIN --config $T/bk-azure.conf archive-push %p"
  push="$push && pgbackrest --config=$T/pgbackrest.conf --stanza=bench archive-push %p"
  pg_configure "$BK" "$BKPORT" <<CONF
archive_mode = on
archive_command = '$push'
max_wal_size = '4GB'
CONF
  pg_start "$BK"
  as_pg "${PGBR[@]}" stanza-create >/dev/null
  as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$BKPORT" -U postgres -i -s "$BACKUP_SCALE" -q postgres \
    >/dev/null 2>&1
  psql_c "$BKPORT" "CREATE TABLE noise AS SELECT g AS id, md5(random()::text) || ' ' ||
    substr(md5(random()::text), 1, (random() * 32)::int) AS label,
    round((random() * 1000000)::numeric, 2) AS amount FROM generate_series(1, $BACKUP_ROWS) g"
  psql_c "$BKPORT" "CHECKPOINT" >/dev/null
  # the WAL of the data load is archived into all four repositories before
  # anything is timed (else the first backups wait behind that queue)
  seg=$(switch_wal "$BKPORT")
  for _ in $(seq 1 1200); do
    last=$(psql_c "$BKPORT" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
    [[ -n $last && ! "$last" < "$seg" ]] && break
    sleep 0.25
  done
  [[ -n $last && ! "$last" < "$seg" ]] || fail "the data load's WAL was not archived in 5 minutes"
  BKMB=$(du -sm --exclude=pg_wal "$BK" | cut -f1)
  echo " data directory: $BKMB MB without pg_wal"
  declare -A bt
  bk_timed() { # NAME CMD...: runs CMD as postgres after a sync, appends its wall time to bt[NAME]
    local name=$1 t0 t1 s
    shift
    sync
    t0=$(date +%s.%N)
    as_pg "$@" >"$T/bk.out" 2>&1 || { cat "$T/bk.out" >&2; fail "$name failed"; }
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc -l)
    bt[$name]="${bt[$name]:-} $s"
    printf '  %-22s %7.2f s\n' "$name" "$s"
  }
  for r in $(seq 1 "$ROUNDS"); do
    echo " round $r"
    for p in 1 2; do
      for st in posix s3 azure; do
        bk_timed "walden $st pm$p" "$WALDEN_BIN" --config "$T/bk-$st.conf" --pgdata "$BK" \
          --process-max "$p" backup
      done
      bk_timed "pgbackrest posix pm$p" "${PGBR[@]}" --process-max="$p" backup --type=full
    done
  done
  echo " median of $ROUNDS (seconds; MB/s of the data directory; ratio to walden posix at the same process-max):"
  for p in 1 2; do
    # shellcheck disable=SC2086
    base=$(median ${bt[walden posix pm$p]})
    for name in "walden posix pm$p" "walden s3 pm$p" "walden azure pm$p" "pgbackrest posix pm$p"; do
      # shellcheck disable=SC2086
      m=$(median ${bt[$name]})
      printf '  %-22s %6.2f s %7.1f MB/s  ratio %.2f\n' "$name" "$m" "$(echo "$BKMB / $m" | bc -l)" \
        "$(echo "$m / $base" | bc -l)"
    done
  done
  pg_stop "$BK"
fi
