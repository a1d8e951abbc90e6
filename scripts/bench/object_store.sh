#!/usr/bin/env bash
# Benchmark: walden's object-store drivers against plain curl, on the local
# test servers (OpenStack Swift with s3api, and Azurite, both on 127.0.0.1,
# started here as the integration tests start them).
#
#   1. one 1 GiB object (random bytes, from a page-cached file): upload and
#      download through walden's storage drivers (walden_objbench: a
#      storage sink/source, 32 MiB multipart parts / blocks, SigV4 with the
#      real payload SHA-256 / SharedKey with Content-MD5, 8 MiB range reads)
#      and with plain curl moving the same bytes in the same run (one PUT
#      with UNSIGNED-PAYLOAD / a SAS, one GET), ROUNDS times interleaved;
#      prints every time, the best of each and walden/curl ratios.
#   2. archive-push of real 16 MiB WAL segments (encrypted, zstd) into each
#      store: one process at a time (as PostgreSQL's archiver does) and two
#      at a time ("process-max 2"), in MiB/s of WAL.
#
# Usage (as root, Debian 12, servers installed by
# scripts/install-deps.sh --objstore): scripts/bench/object_store.sh
# Environment: ROUNDS (default 2), SEGMENTS (default 16).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-2}
SEGMENTS=${SEGMENTS:-16}
SRC=$(pwd)
BUILD=${BUILD_DIR:-$SRC/build-s3-release}

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target walden_cli walden_objbench >/dev/null
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

# s3_headers METHOD PATH: SigV4 headers (UNSIGNED-PAYLOAD) for curl, one
# per line; the key has a ':' (test:tester), which curl --aws-sigv4 cannot take.
s3_headers() {
  python3 - "$1" "${S3_ENDPOINT#http://}" "$2" "$S3_KEY" "$S3_SECRET" "$S3_REGION" <<'PY'
import datetime, hashlib, hmac, sys, urllib.parse
method, host, path, key, secret, region = sys.argv[1:7]
t = datetime.datetime.utcnow()
amz, day = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
ph = "UNSIGNED-PAYLOAD"
sh = "host;x-amz-content-sha256;x-amz-date"
creq = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), "",
                  f"host:{host}\nx-amz-content-sha256:{ph}\nx-amz-date:{amz}\n", sh, ph])
scope = f"{day}/{region}/s3/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
k = ("AWS4" + secret).encode()
for m in (day, region, "s3", "aws4_request"):
    k = hmac.new(k, m.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
print(f"Authorization: AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={sh}, Signature={sig}")
print(f"x-amz-content-sha256: {ph}")
print(f"x-amz-date: {amz}")
PY
}

# curl_s3 put|get KEY FILE, curl_az put|get KEY FILE
curl_s3() {
  local op=$1 key=$2 file=$3 h=()
  mapfile -t lines < <(s3_headers "$([[ $op == put ]] && echo PUT || echo GET)" "/walden/$key")
  for l in "${lines[@]}"; do h+=(-H "$l"); done
  if [[ $op == put ]]; then
    curl -sSf -H "Expect:" "${h[@]}" -T "$file" -o /dev/null "$S3_ENDPOINT/walden/$key"
  else
    curl -sSf "${h[@]}" -o "$file" "$S3_ENDPOINT/walden/$key"
  fi
}
curl_az() {
  local op=$1 key=$2 file=$3
  if [[ $op == put ]]; then
    curl -sSf -H "Expect:" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2021-12-02" \
      -T "$file" -o /dev/null "$AZ_ENDPOINT/walden/$key?$SAS"
  else
    curl -sSf -H "x-ms-version: 2021-12-02" -o "$file" "$AZ_ENDPOINT/walden/$key?$SAS"
  fi
}

store_conf s3 "$T/s3.conf" "$S3_PORT" bench
store_conf azure "$T/az.conf" "$AZ_PORT" bench
# the containers exist before anything is timed
"$BENCH" "$T/s3.conf" put warm /dev/null >/dev/null
"$BENCH" "$T/az.conf" put warm /dev/null >/dev/null

echo "== 1 GiB object, $ROUNDS rounds (seconds; MiB/s)"
head -c $((1 << 30)) /dev/urandom >"$T/obj"
cat "$T/obj" >/dev/null # page-cached for every method alike
SIZE=$(stat -c %s "$T/obj")
declare -A best
timed() { # NAME CMD...: runs CMD, keeps the best time of NAME
  local name=$1 t0 t1 s
  shift
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc -l)
  printf '  %-22s %7.2f s %7.1f MiB/s\n' "$name" "$s" "$(echo "$SIZE / 1048576 / $s" | bc -l)"
  if [[ -z ${best[$name]:-} ]] || (($(echo "$s < ${best[$name]}" | bc -l))); then best[$name]=$s; fi
}
check_size() { # FILE
  [[ $(stat -c %s "$1") == "$SIZE" ]] || fail "$1 has $(stat -c %s "$1") bytes, not $SIZE"
  rm -f "$1"
}
for r in $(seq 1 "$ROUNDS"); do
  echo " round $r"
  for kind in s3 az; do
    conf=$T/$kind.conf
    timed "$kind walden put" "$BENCH" "$conf" put obj "$T/obj"
    timed "$kind curl put" "curl_$kind" put bench/curl-obj "$T/obj"
    timed "$kind walden get" "$BENCH" "$conf" get obj "$T/back"
    check_size "$T/back"
    timed "$kind curl get" "curl_$kind" get bench/curl-obj "$T/back"
    check_size "$T/back"
  done
done
# the bytes walden stored are the bytes sent (checked once, not timed)
"$BENCH" "$T/s3.conf" get obj "$T/back" >/dev/null && cmp "$T/obj" "$T/back" || fail "s3 copy differs"
"$BENCH" "$T/az.conf" get obj "$T/back" >/dev/null && cmp "$T/obj" "$T/back" || fail "azure copy differs"
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
rm -f "$T/obj"

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
