# objstore.sh - sourced by the object-store integration tests after lib.sh:
# starts a local S3 server (OpenStack Swift with s3api) or Azure server
# (Azurite) on 127.0.0.1 with free ports, under $T, stopped by the EXIT trap;
# and the fault-injecting proxy (faultproxy.py) in front of either.
#
# Needs (scripts/install-deps.sh --objstore): Debian's swift, swift-proxy,
# swift-account, swift-container, swift-object and memcached; Azurite from
# npm (found on PATH, in $WALDEN_AZURITE, or under /opt/walden-test-tools).

OBJ_PIDS=()
objstore_cleanup() {
  for p in "${OBJ_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${OBJ_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
# chain our cleanup in front of lib.sh's (which stops the servers, removes
# $T and exits with the status given: under errexit a trap must not run a
# failing command before it, or it ends there)
trap 'rc=$?; objstore_cleanup; cleanup $rc' EXIT

# skip_test REASON: exits 0 with a clear line when a server is missing, so a
# machine without the tools does not fail, but says what did not run. The
# suite (scripts/test.sh) installs the tools and sets WALDEN_REQUIRE_SERVERS:
# there a missing server is a failure, never a silent pass.
skip_test() {
  [[ -z ${WALDEN_REQUIRE_SERVERS:-} ]] || fail "$* (WALDEN_REQUIRE_SERVERS is set)"
  echo "SKIP: $TEST_NAME: $*"
  exit 0
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL EXPECTED_TEXT SECONDS
  local url=$1 want=$2 secs=$3
  for _ in $(seq 1 $((secs * 4))); do
    if curl -s --max-time 2 "$url" 2>/dev/null | grep -q "$want"; then return 0; fi
    sleep 0.25
  done
  return 1
}

# start_swift: sets S3_ENDPOINT, S3_KEY, S3_SECRET, S3_REGION.
start_swift() {
  command -v swift-proxy-server >/dev/null && command -v memcached >/dev/null ||
    skip_test "OpenStack Swift is not installed (scripts/install-deps.sh --objstore)"
  local d=$T/swift me
  me=$(id -un)
  mkdir -p "$d/etc" "$d/srv/d1" "$d/run" "$d/log"
  local pa pc po pp pm
  pa=$(free_port) pc=$(free_port) po=$(free_port) pp=$(free_port) pm=$(free_port)
  cat >"$d/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_prefix = walden
swift_hash_path_suffix = tests
[storage-policy:0]
name = gold
default = yes
CONF
  local kind port
  for kind in account container object; do
    case $kind in account) port=$pa ;; container) port=$pc ;; object) port=$po ;; esac
    cat >"$d/etc/$kind-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
devices = $d/srv
mount_check = false
workers = 0
swift_dir = $d/etc
user = $me
log_name = $kind
[pipeline:main]
pipeline = $kind-server
[app:$kind-server]
use = egg:swift#$kind
[${kind}-replicator]
[${kind}-updater]
[${kind}-auditor]
CONF
    (cd "$d/etc" && swift-ring-builder $kind.builder create 8 1 1 >/dev/null &&
      swift-ring-builder $kind.builder add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null &&
      swift-ring-builder $kind.builder rebalance >/dev/null) ||
      fail "cannot build the swift $kind ring"
  done
  cat >"$d/etc/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $pp
workers = 0
swift_dir = $d/etc
user = $me
log_name = proxy
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$pm
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
  memcached -l 127.0.0.1 -p "$pm" -U 0 -u "$me" >"$d/log/memcached.log" 2>&1 &
  OBJ_PIDS+=($!)
  for kind in account container object proxy; do
    swift-$kind-server "$d/etc/$kind-server.conf" -v >"$d/log/$kind.log" 2>&1 &
    OBJ_PIDS+=($!)
  done
  wait_http "http://127.0.0.1:$pp/healthcheck" OK 60 || {
    tail -20 "$d"/log/*.log >&2
    fail "swift did not start"
  }
  S3_ENDPOINT=http://127.0.0.1:$pp S3_KEY=test:tester S3_SECRET=testing S3_REGION=us-east-1
  S3_PORT=$pp
}

# start_azurite: sets AZ_ENDPOINT, AZ_ACCOUNT, AZ_KEY, AZ_PORT.
start_azurite() {
  local bin=${WALDEN_AZURITE:-}
  [[ -n $bin ]] || bin=$(command -v azurite-blob || true)
  [[ -n $bin ]] || bin=/opt/walden-test-tools/node_modules/.bin/azurite-blob
  [[ -x $bin ]] || skip_test "Azurite is not installed (scripts/install-deps.sh --objstore)"
  AZ_PORT=$(free_port)
  mkdir -p "$T/azurite"
  "$bin" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$T/azurite" --disableTelemetry \
    --skipApiVersionCheck >"$T/azurite.log" 2>&1 &
  OBJ_PIDS+=($!)
  wait_http "http://127.0.0.1:$AZ_PORT/devstoreaccount1?comp=list" "Error\|Enumeration" 30 || {
    tail -20 "$T/azurite.log" >&2
    fail "azurite did not start"
  }
  AZ_ACCOUNT=devstoreaccount1
  AZ_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  AZ_ENDPOINT=http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT
}

# azure_account_sas ACCOUNT KEY: an account SAS (blob service, all
# permissions, valid one hour), signed like Azure's SDKs do (version 2019-12-12).
azure_account_sas() {
  python3 - "$1" "$2" <<'PY'
import base64, datetime, hashlib, hmac, sys, urllib.parse
account, key = sys.argv[1], base64.b64decode(sys.argv[2])
now = datetime.datetime.utcnow()
st = (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
se = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
sp, ss, srt, spr, sv = "rwdlacup", "b", "sco", "http,https", "2019-12-12"
sts = "\n".join([account, sp, ss, srt, st, se, "", spr, sv, ""])
sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
q = dict(sv=sv, ss=ss, srt=srt, sp=sp, st=st, se=se, spr=spr, sig=sig)
print(urllib.parse.urlencode(q))
PY
}

# start_proxy UPSTREAM_PORT: sets PROXY_PORT, PROXY_CTL (queue of faults,
# see faultproxy.py) and PROXY_LOG.
start_proxy() {
  PROXY_PORT=$(free_port)
  PROXY_CTL=$T/faults.ctl PROXY_LOG=$T/faults.log
  : >"$PROXY_CTL"
  : >"$PROXY_LOG"
  python3 "$WALDEN_SOURCE_DIR/tests/integration/faultproxy.py" "$PROXY_PORT" "$1" "$PROXY_CTL" \
    "$PROXY_LOG" >"$T/proxy.out" 2>&1 &
  OBJ_PIDS+=($!)
  for _ in $(seq 1 40); do
    (echo >/dev/tcp/127.0.0.1/$PROXY_PORT) 2>/dev/null && return 0
    sleep 0.25
  done
  fail "the fault proxy did not start"
}

# faults LINE...: queues faults for the next requests ("" clears the queue)
faults() {
  printf '%s\n' "$@" >"$PROXY_CTL"
}

# check_uploads_framed: every upload through the proxy had a Content-Length
# and none used chunked transfer encoding (AWS refuses chunked uploads).
check_uploads_framed() {
  local n bad
  n=$(grep -cE '^(PUT|POST) ' "$PROXY_LOG" || true)
  [[ $n -gt 0 ]] || fail "no upload went through the proxy"
  bad=$(grep -E '^(PUT|POST) ' "$PROXY_LOG" | grep -E 'cl=None|te=[^N]' || true)
  [[ -z $bad ]] || fail "uploads without Content-Length or chunked: $bad"
  pass "all $n uploads carried Content-Length, none was chunked"
}

# store_conf KIND FILE ENDPOINT_PORT PREFIX [name=value]...: a walden
# config for the repository KIND://walden/PREFIX served on ENDPOINT_PORT.
store_conf() {
  local kind=$1 f=$2 port=$3 prefix=$4
  shift 4
  if [[ $kind == s3 ]]; then
    write_conf "$f" "repo=s3://walden/$prefix" "s3-endpoint=http://127.0.0.1:$port" \
      "s3-uri-style=path" "s3-region=$S3_REGION" "s3-key=$S3_KEY" "s3-key-secret=$S3_SECRET" \
      "encrypt-passphrase-file=$T/pass" "$@"
  else
    write_conf "$f" "repo=azure://walden/$prefix" \
      "azure-endpoint=http://127.0.0.1:$port/$AZ_ACCOUNT" "azure-account=$AZ_ACCOUNT" \
      "azure-key=$AZ_KEY" "encrypt-passphrase-file=$T/pass" "$@"
  fi
}

# objstore_suite KIND SERVER_PORT STORAGE_DIR: what test_s3.sh and
# test_azure.sh check against a running server: PostgreSQL archiving
# through walden into an encrypted repository on the store, every segment
# back byte-identical, no plaintext on the server's disk, then faults
# injected between walden and the server.
objstore_suite() {
  local kind=$1 sport=$2 sdir=$3
  new_passphrase "$T/pass"
  store_conf "$kind" "$T/direct.conf" "$sport" repo1
  start_proxy "$sport"

  # -- a real PostgreSQL 15 archiving into the store --
  local PGDATA=$T/pgdata PORT
  PORT=$(next_port)
  as_pg mkdir -p "$T/copies" "$T/out"
  pg_init "$PGDATA"
  walden "$T/direct.conf" --pgdata "$PGDATA" init >/dev/null
  pass "$kind: init created the container and the encrypted repository"
  pg_configure "$PGDATA" "$PORT" <<CONF
archive_mode = on
archive_command = 'cp %p $T/copies/%f && $WALDEN_BIN --config $T/direct.conf archive-push %p'
wal_keep_size = '1GB'
CONF
  pg_start "$PGDATA"
  local MARKER="walden-plaintext-marker-$RANDOM$RANDOM" last
  psql_c "$PORT" "CREATE TABLE marker(t text); INSERT INTO marker SELECT '$MARKER' FROM generate_series(1, 2000)"
  for _ in 1 2 3 4 5 6; do
    psql_c "$PORT" "INSERT INTO marker SELECT '$MARKER' FROM generate_series(1, 500)"
    last=$(switch_wal "$PORT")
  done
  wait_archived "$PORT" "$last"
  local failed
  failed=$(psql_c "$PORT" "SELECT failed_count FROM pg_stat_archiver")
  [[ $failed -eq 0 ]] || fail "$kind: PostgreSQL saw $failed failed archive attempts"
  pass "$kind: PostgreSQL archived up to $last through walden without failures"
  pg_stop "$PGDATA"

  ls "$T/copies" | sort >"$T/archived"
  local n
  n=$(wc -l <"$T/archived")
  [[ $n -ge 6 ]] || fail "$kind: only $n files archived"
  grep -rlqF "$MARKER" "$T/copies" || fail "the marker is not in the WAL: the plaintext check would prove nothing"
  walden "$T/direct.conf" archive-list >"$T/listed"
  diff -u "$T/archived" "$T/listed" || fail "$kind: archive-list differs from what PostgreSQL archived"
  while read -r f; do
    walden "$T/direct.conf" archive-get "$f" "$T/out/$f" || fail "$kind: archive-get $f failed"
    cmp -s "$T/copies/$f" "$T/out/$f" || fail "$kind: $f came back different"
    rm -f "$T/out/$f"
  done <"$T/archived"
  pass "$kind: all $n archived files listed and restored byte-identical"
  ! grep -rqF "$MARKER" "$sdir" || fail "$kind: plaintext found in the server's storage"
  pass "$kind: no plaintext in the server's storage"

  # the identical/different-content rule of archive-push holds
  local seg1
  seg1=$(grep -v history "$T/archived" | head -1)
  as_pg mkdir -p "$T/pg_wal"
  as_pg cp "$T/copies/$seg1" "$T/pg_wal/$seg1"
  expect_status 0 walden "$T/direct.conf" archive-push "$T/pg_wal/$seg1"
  printf 'garbage' | as_pg dd of="$T/pg_wal/$seg1" bs=1 seek=100000 conv=notrunc status=none
  expect_status 1 walden "$T/direct.conf" archive-push "$T/pg_wal/$seg1"
  stderr_has "different content"
  pass "$kind: pushing a segment again: identical content accepted, different refused"

  # -- faults between walden and the server (a fresh repository) --
  store_conf "$kind" "$T/fdirect.conf" "$sport" faults
  store_conf "$kind" "$T/proxy.conf" "$PROXY_PORT" faults net-timeout=2s net-retry-time=30s
  store_conf "$kind" "$T/fail.conf" "$PROXY_PORT" faults net-timeout=2s net-retry-time=3s
  walden "$T/fdirect.conf" --pgdata "$PGDATA" init >/dev/null
  local segs=() s
  mapfile -t segs < <(grep -v history "$T/archived")
  push_via_proxy() { # SEGMENT FAULT...
    local seg=$1
    shift
    faults "$@"
    as_pg cp "$T/copies/$seg" "$T/pg_wal/$seg"
    expect_status 0 walden "$T/proxy.conf" archive-push "$T/pg_wal/$seg"
    [[ ! -s $PROXY_CTL ]] || fail "$kind: faults left unused: $(cat "$PROXY_CTL")"
    walden "$T/fdirect.conf" archive-get "$seg" "$T/out/$seg" || fail "$kind: $seg not stored"
    cmp -s "$T/copies/$seg" "$T/out/$seg" || fail "$kind: $seg stored different"
    rm -f "$T/out/$seg"
  }
  push_via_proxy "${segs[0]}" 503 503 PUT:503 PUT:500
  pass "$kind: archive-push retried through bursts of 500/503 and stored the segment"
  push_via_proxy "${segs[1]}" drop-before PUT:drop-before
  pass "$kind: archive-push retried after connections dropped before the server saw them"
  push_via_proxy "${segs[2]}" PUT:drop-after GET:drop-after
  pass "$kind: archive-push retried after answers were lost once the server had done the work"
  push_via_proxy "${segs[3]}" GET:stall
  pass "$kind: a stalled request timed out (net-timeout 2s) and was retried"

  # archive-get through a truncated and a dropped answer
  faults GET:truncate GET:truncate GET:drop-after
  expect_status 0 walden "$T/proxy.conf" archive-get "${segs[0]}" "$T/out/${segs[0]}"
  cmp -s "$T/copies/${segs[0]}" "$T/out/${segs[0]}" || fail "$kind: archive-get through faults differs"
  rm -f "$T/out/${segs[0]}"
  pass "$kind: archive-get retried through truncated and lost answers, bytes identical"

  # persistent faults: a clear failure, and nothing visible
  faults always-503
  as_pg cp "$T/copies/${segs[4]}" "$T/pg_wal/${segs[4]}"
  local t0=$SECONDS
  expect_status 1 walden "$T/fail.conf" archive-push "$T/pg_wal/${segs[4]}"
  stderr_has "HTTP 503"
  grep -q "failed after" "$T/stderr" || fail "$kind: no attempt count in: $(cat "$T/stderr")"
  ((SECONDS - t0 < 30)) || fail "$kind: gave up only after $((SECONDS - t0)) s"
  faults ""
  walden "$T/fdirect.conf" archive-list >"$T/flisted"
  ! grep -qF "${segs[4]}" "$T/flisted" || fail "$kind: a failed push left ${segs[4]} visible"
  pass "$kind: persistent 503s fail archive-push with a clear error in bounded time, nothing visible"

  # a failed upload itself (the PUT refused every time) leaves nothing either
  faults PUT:always-503
  expect_status 1 walden "$T/fail.conf" archive-push "$T/pg_wal/${segs[4]}"
  faults ""
  walden "$T/fdirect.conf" archive-list >"$T/flisted"
  ! grep -qF "${segs[4]}" "$T/flisted" || fail "$kind: a failed upload left ${segs[4]} visible"
  pass "$kind: a refused upload reports failure and leaves nothing visible"

  # a large object: a multipart upload / block list with parts uploaded in
  # parallel, and a whole-object read that is one streaming GET, resumed
  # with a Range after a truncated or lost answer
  local bench=$WALDEN_BUILD_DIR/tests/walden_objbench
  [[ -x $bench ]] || fail "no $bench (built with the tests)"
  head -c $((70 << 20)) /dev/urandom >"$T/large" # 3 parts of 32 MiB
  # no stall is injected here: a longer net-timeout than the stall test's
  # 2 s keeps a store that is slow under load (the suite runs two tests at
  # once) from being taken for a stalled one
  store_conf "$kind" "$T/large.conf" "$PROXY_PORT" faults net-timeout=15s net-retry-time=120s
  faults PUT:503 PUT:drop-after PUT:drop-before 503
  "$bench" "$T/large.conf" put big/large "$T/large" >"$T/bench.out" 2>&1 ||
    fail "$kind: a large upload through faults failed: $(cat "$T/bench.out")"
  [[ ! -s $PROXY_CTL ]] || fail "$kind: faults left unused: $(cat "$PROXY_CTL")"
  faults GET:truncate GET:drop-after GET:truncate
  "$bench" "$T/large.conf" get big/large "$T/large.back" >"$T/bench.out" 2>&1 ||
    fail "$kind: a large download through faults failed: $(cat "$T/bench.out")"
  [[ ! -s $PROXY_CTL ]] || fail "$kind: faults left unused: $(cat "$PROXY_CTL")"
  cmp -s "$T/large" "$T/large.back" || fail "$kind: the large object came back different"
  grep -q "range=bytes=" "$PROXY_LOG" || fail "$kind: no read was resumed with a Range"
  rm -f "$T/large.back"
  pass "$kind: a 70 MiB object went up in parallel parts and came back resumed, through faults"
  faults PUT:always-503
  expect_status 1 "$bench" "$T/fail.conf" put big/failed "$T/large"
  faults ""
  ! store_list "$kind" "faults/big/" | grep -q failed ||
    fail "$kind: a failed multipart upload left an object visible"
  if [[ $kind == s3 ]]; then
    # Swift keeps the parts of unfinished uploads in CONTAINER+segments
    ! store_list_container "walden+segments" "faults/big/failed" | grep -q . ||
      fail "$kind: the failed multipart upload was not aborted (parts left)"
  fi
  pass "$kind: parts refused every time: the upload fails, is aborted, nothing visible"
  rm -f "$T/large"

  check_uploads_framed

  # wrong credentials: permission error naming the container, no secret
  if [[ $kind == s3 ]]; then
    store_conf s3 "$T/bad.conf" "$sport" repo1 s3-key-secret=wrong-secret-value
  else
    store_conf azure "$T/bad.conf" "$sport" repo1 \
      azure-key=d3Jvbmctc2VjcmV0LXZhbHVlLXdyb25nLXNlY3JldC12YWx1ZQ==
  fi
  expect_status 1 walden "$T/bad.conf" archive-list
  stderr_has "denied"
  grep -q "'walden'" "$T/stderr" || fail "$kind: the error does not name the container: $(cat "$T/stderr")"
  ! grep -qiE "wrong-secret-value|d3Jvbmct|$( [[ $kind == s3 ]] && echo "$S3_SECRET" || echo "${AZ_KEY:0:20}")" "$T/stderr" ||
    fail "$kind: a secret is in the error message"
  pass "$kind: wrong credentials fail at once with a permission error naming the container"
}

# swift_auth: sets SWIFT_TOKEN and SWIFT_URL, a token of Swift's own API
# (tempauth) for the account behind S3_KEY, taken once (it lasts a day)
# the test's own reads of the servers retry as walden does: a loaded Swift
# or Azurite answers 503 or not at all now and then
CURL_RETRY=(--retry 5 --retry-delay 1 --retry-all-errors --max-time 120)

swift_auth() {
  [[ -z ${SWIFT_TOKEN:-} ]] || return 0
  local hdrs
  hdrs=$(curl "${CURL_RETRY[@]}" -sfi "$S3_ENDPOINT/auth/v1.0" -H "X-Auth-User: $S3_KEY" -H "X-Auth-Key: $S3_SECRET") ||
    fail "swift auth failed"
  SWIFT_TOKEN=$(sed -n 's/^X-Auth-Token: *//Ip' <<<"$hdrs" | tr -d '\r')
  SWIFT_URL=$(sed -n 's/^X-Storage-Url: *//Ip' <<<"$hdrs" | tr -d '\r')
}

# store_list_container CONTAINER PREFIX: object names in a Swift container
# (no output when the container does not exist), through Swift's own API.
store_list_container() {
  swift_auth
  curl "${CURL_RETRY[@]}" -s -H "X-Auth-Token: $SWIFT_TOKEN" "$SWIFT_URL/$1?prefix=$2&limit=10000" |
    grep -v '<' || true
}

# store_list KIND PREFIX: the keys under PREFIX in the container "walden",
# one per line, read straight from the server (not through walden): Swift's
# own API for s3 (tempauth), a List Blobs with an account SAS for azure.
store_list() {
  local kind=$1 prefix=$2
  if [[ $kind == s3 ]]; then
    swift_auth
    curl "${CURL_RETRY[@]}" -sf -H "X-Auth-Token: $SWIFT_TOKEN" \
      "$SWIFT_URL/walden?prefix=$prefix&limit=10000" ||
      fail "swift listing of $prefix failed"
  else
    local sas marker="" body
    sas=$(azure_account_sas "$AZ_ACCOUNT" "$AZ_KEY")
    while :; do
      body=$(curl "${CURL_RETRY[@]}" -sf \
        "$AZ_ENDPOINT/walden?restype=container&comp=list&prefix=$prefix&marker=$marker&$sas") ||
        fail "azure listing of $prefix failed"
      grep -o '<Name>[^<]*</Name>' <<<"$body" | sed 's/<Name>\(.*\)<\/Name>/\1/' || true
      marker=$(grep -o '<NextMarker>[^<]*</NextMarker>' <<<"$body" | sed 's/<[^>]*>//g' || true)
      [[ -n $marker ]] || break
    done
  fi
}

# store_object KIND get|put|delete KEY [FILE]: one object of the container
# "walden" read into FILE, written from FILE or deleted, straight on the
# server (not through walden), as store_list reads it
store_object() {
  local kind=$1 op=$2 key=$3 file=${4:-} url auth=()
  if [[ $kind == s3 ]]; then
    swift_auth
    url=$SWIFT_URL/walden/$key
    auth=(-H "X-Auth-Token: $SWIFT_TOKEN")
  else
    [[ -n ${AZ_SAS:-} ]] || AZ_SAS=$(azure_account_sas "$AZ_ACCOUNT" "$AZ_KEY") # an hour
    url="$AZ_ENDPOINT/walden/$key?$AZ_SAS"
    auth=(-H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2019-12-12")
  fi
  case $op in
    get) curl -sf "${auth[@]}" -o "$file" "$url" ;;
    put) curl -sf "${auth[@]}" -X PUT -H "Content-Type: application/octet-stream" \
      --data-binary "@$file" "$url" >/dev/null ;;
    delete) curl -sf "${auth[@]}" -X DELETE "$url" >/dev/null ;;
  esac || fail "$kind: $op of object $key failed"
}

# objstore_backup_suite KIND SERVER_PORT: walden backup and point-in-time
# restore with the repository on the store, encrypted: PostgreSQL 15 with
# data checksums archiving through walden, a backup taken while pgbench
# writes (pgbench_accounts is larger than the backup part size, so it is
# stored in parts), `walden info` listing it, marker rows after it, a
# restore to a time between two markers into a new directory, and the
# restored server holding exactly the markers before that time and the
# table contents of that time. Then a backup that fails after copying
# every file (WAL archiving broken, archive-timeout 3 s) must leave no
# object of its own behind, and the good backup untouched. Last, a
# logical dump goes to the store and comes back through pg_restore.
objstore_backup_suite() {
  local kind=$1 sport=$2
  local PRIMARY=$T/primary PORT PORT2 RESTORED=$T/restored
  PORT=$(next_port)
  SUITE_PORT=$PORT # the primary stays up for the caller's own checks
  SUITE_SERVER_PORT=$sport
  PORT2=$(next_port)
  new_passphrase "$T/pass"
  local common=("lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2"
    "start-fast=y")
  store_conf "$kind" "$T/walden.conf" "$sport" bk "${common[@]}"
  store_conf "$kind" "$T/short.conf" "$sport" bk "${common[@]}" archive-timeout=3s
  # the same repository through the fault proxy (objstore_commands_suite)
  start_proxy "$sport"
  store_conf "$kind" "$T/proxy.conf" "$PROXY_PORT" bk "${common[@]}" net-timeout=2s \
    net-retry-time=60s
  as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
  walden "$T/walden.conf" --pgdata "$PRIMARY" init >/dev/null
  pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
  pg_start "$PRIMARY"
  psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"
  as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -i -s 6 -q postgres >/dev/null 2>&1

  # ---- a backup while pgbench writes: pgbench runs until the backup is
  # done, and pgbench_history grows during the backup
  as_pg "$PG_BIN/pgbench" -h "$T/sock" -p "$PORT" -U postgres -c 2 -T 600 postgres \
    >"$T/pgbench.log" 2>&1 &
  local bg=$! h0 h1 pgbench_pids
  sleep 1
  h0=$(psql_c "$PORT" "SELECT count(*) FROM pgbench_history")
  walden "$T/walden.conf" --pgport "$PORT" --pgdata "$PRIMARY" backup >"$T/backup.out" 2>&1 ||
    fail "$kind: backup failed: $(cat "$T/backup.out")"
  h1=$(psql_c "$PORT" "SELECT count(*) FROM pgbench_history")
  pgbench_pids=$(pgrep -f "pgbench -h $T/sock -p $PORT" || true)
  [[ -n $pgbench_pids ]] ||
    fail "$kind: pgbench was not running at the end of the backup: $(tail -5 "$T/pgbench.log")"
  ((h1 > h0)) || fail "$kind: no pgbench transaction during the backup ($h0 -> $h1)"
  kill $pgbench_pids 2>/dev/null || true
  wait "$bg" || true
  grep -q "ERROR" "$T/pgbench.log" && fail "$kind: pgbench failed: $(grep ERROR "$T/pgbench.log" | head -3)"
  local id
  id=$(sed -n 's/^backup \([0-9TZ]*\): .*/\1/p' "$T/backup.out")
  [[ -n $id ]] || fail "$kind: no summary line: $(cat "$T/backup.out")"
  pass "$kind: backup $id taken while pgbench committed $((h1 - h0)) transactions: $(grep '^backup' "$T/backup.out")"

  walden "$T/walden.conf" info >"$T/info.out" || fail "$kind: info failed"
  grep -q "$id  full  ok" "$T/info.out" || fail "$kind: info does not list $id: $(cat "$T/info.out")"
  pass "$kind: walden info lists backup $id as ok"

  store_list "$kind" "bk/main/backup/$id/" >"$T/objects"
  grep -q "^bk/main/backup/$id/backup.manifest" "$T/objects" ||
    fail "$kind: no manifest object: $(head "$T/objects")"
  grep -q "^bk/main/backup/$id/parts/" "$T/objects" ||
    fail "$kind: no file was stored in parts"
  grep -q "^bk/main/backup/$id/data/base/" "$T/objects" || fail "$kind: no data object"
  pass "$kind: the backup's $(wc -l <"$T/objects") objects are on the store, a large table in parts"

  # ---- markers after the backup, a target time between 2 and 3
  accounts_sum() {
    psql_c "$1" "SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts"
  }
  psql_c "$PORT" "INSERT INTO marker VALUES (1, clock_timestamp())"
  psql_c "$PORT" "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 7 = 0"
  psql_c "$PORT" "INSERT INTO marker VALUES (2, clock_timestamp())"
  local sum_at_2 target_time last
  sum_at_2=$(accounts_sum "$PORT")
  sleep 0.2
  target_time=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
  sleep 0.2
  psql_c "$PORT" "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 5 = 0"
  psql_c "$PORT" "INSERT INTO marker VALUES (3, clock_timestamp())"
  psql_c "$PORT" "INSERT INTO marker VALUES (4, clock_timestamp())"
  last=$(switch_wal "$PORT")
  wait_archived "$PORT" "$last"

  # ---- point-in-time restore into a new directory
  walden "$T/walden.conf" --pgdata "$RESTORED" restore --target-time "$target_time" \
    --target-action promote >"$T/restore.out" 2>&1 ||
    fail "$kind: restore failed: $(cat "$T/restore.out")"
  [[ -f $RESTORED/recovery.signal ]] || fail "$kind: no recovery.signal"
  pg_configure "$RESTORED" "$PORT2" <<<"archive_mode = off"
  pg_start "$RESTORED" || fail "$kind: the restored server did not start"
  wait_recovered "$PORT2" "$kind"
  local got
  got=$(psql_c "$PORT2" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker")
  [[ $got == "1,2" ]] || fail "$kind: restored markers '$got', expected '1,2'"
  [[ $(accounts_sum "$PORT2") == "$sum_at_2" ]] ||
    fail "$kind: pgbench_accounts differ from the target time's"
  grep -q "recovery stopping before commit" "$RESTORED.log" ||
    fail "$kind: recovery did not stop at the target: $(tail -5 "$RESTORED.log")"
  pg_stop "$RESTORED"
  pass "$kind: restore to a time between markers 2 and 3: exactly markers 1,2, table contents of that time"

  # ---- a failed backup removes its objects (remove_tree on the store)
  psql_c "$PORT" "ALTER SYSTEM SET archive_command = 'false'"
  psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
  store_list "$kind" "bk/main/backup/" | cut -d/ -f4 | sort -u >"$T/ids.before"
  expect_status 1 walden "$T/short.conf" --pgport "$PORT" --pgdata "$PRIMARY" backup
  grep -q "did not reach the repository" "$T/stderr" ||
    fail "$kind: the backup did not fail waiting for WAL: $(cat "$T/stderr")"
  store_list "$kind" "bk/main/backup/" | cut -d/ -f4 | sort -u >"$T/ids.after"
  diff -u "$T/ids.before" "$T/ids.after" || fail "$kind: the failed backup left objects behind"
  [[ $(cat "$T/ids.after") == "$id" ]] || fail "$kind: backups on the store: $(cat "$T/ids.after")"
  store_list "$kind" "bk/main/backup/$id/" | diff -q - "$T/objects" >/dev/null ||
    fail "$kind: the good backup's objects changed"
  walden "$T/walden.conf" info >"$T/info.out"
  grep -q "$id  full  ok" "$T/info.out" || fail "$kind: $id is gone from info"
  pass "$kind: a backup failing after the copy left no object behind; backup $id untouched"
  # back to archiving into the store (a RESET would leave none: ALTER
  # SYSTEM rewrites postgresql.auto.conf, where pg_configure put it)
  psql_c "$PORT" "ALTER SYSTEM SET archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'"
  psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null

  # ---- a logical dump on the store, streamed back into pg_restore
  local did sum_now
  sum_now=$(accounts_sum "$PORT")
  walden "$T/walden.conf" --pgport "$PORT" dump --dbname postgres >"$T/dump.out" 2>&1 ||
    fail "$kind: dump failed: $(cat "$T/dump.out")"
  did=$(awk '/^dump .*: postgres,/ {sub(":", "", $2); print $2}' "$T/dump.out")
  [[ -n $did ]] || fail "$kind: no dump summary: $(cat "$T/dump.out")"
  store_list "$kind" "bk/main/dump/" >"$T/dump.objects"
  grep -qx "bk/main/dump/$did/dump.pgdump.zst" "$T/dump.objects" &&
    grep -qx "bk/main/dump/$did/dump.manifest" "$T/dump.objects" &&
    grep -qx "bk/main/dump/${did%-postgres}-globals/globals.sql.zst" "$T/dump.objects" ||
    fail "$kind: dump objects missing: $(cat "$T/dump.objects")"
  walden "$T/walden.conf" --pgport "$PORT" restore-dump --set "$did" --target-dbname copy \
    --create >"$T/rdump.out" 2>&1 || fail "$kind: restore-dump failed: $(cat "$T/rdump.out")"
  [[ $(as_pg psql -h "$T/sock" -p "$PORT" -U postgres -d copy -XAtq -c \
    "SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts") == \
    "$sum_now" ]] || fail "$kind: the restored dump's pgbench_accounts differ"
  pass "$kind: dump $did stored on the store and restored into a new database, table equal"

  # ---- info: the store's own times give the archive's age
  walden "$T/walden.conf" info --output json >"$T/info.json" || fail "$kind: info --output json failed"
  python3 -c "import json, sys; c = json.load(sys.stdin)['clusters'][0]
assert c['wal']['max_stored_time'] and 0 <= c['wal']['max_age_seconds'] < 3600, c['wal']
assert c['recovery_window']['from'] and c['recovery_window']['to'], c['recovery_window']
assert any(d['id'] == '$did' and d['status'] == 'ok' for d in c['dumps'])" <"$T/info.json" ||
    fail "$kind: info JSON: $(cat "$T/info.json")"
  pass "$kind: info --output json: newest WAL stored $(python3 -c "import json,sys; print(json.load(sys.stdin)['clusters'][0]['wal']['max_age_seconds'])" <"$T/info.json") s ago, recovery window known"

  objstore_commands_suite "$kind" "$id"
}

# objstore_commands_suite KIND BACKUP_ID: the commands not run above,
# against the same store, repository and primary ($SUITE_PORT): check,
# metrics, verify (clean, then a damaged object), a second backup through
# the fault proxy with upload faults, expire (the first backup and the WAL
# before the second go), a drill through the proxy with download faults
# (restores from the store, starts and checks the server),
# repo-passphrase, and no secret in a debug-level log.
objstore_commands_suite() {
  local kind=$1 id=$2 PORT=$SUITE_PORT PRIMARY=$T/primary sport_of_suite=$SUITE_SERVER_PORT
  W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

  expect_status 0 W check
  grep -q "^ok      archive-arrival .* reached the repository in" "$T/stdout" ||
    fail "$kind: check: $(cat "$T/stdout")"
  [[ -z $(store_list "$kind" "bk/main/check/") ]] || fail "$kind: check left its probe on the store"
  pass "$kind: check passes ($(grep -c '^ok ' "$T/stdout") checks), its probe removed from the store"

  expect_status 0 W metrics
  grep -q '^walden_backup_last_timestamp_seconds\({[^}]*}\)\? [1-9]' "$T/stdout" &&
    grep -q '^walden_repository_stored_bytes\({[^}]*}\)\? [1-9]' "$T/stdout" ||
    fail "$kind: metrics: $(grep -v '^#' "$T/stdout" | head -20)"
  pass "$kind: metrics read from the store: $(grep -c '^walden_' "$T/stdout") samples"

  expect_status 0 W verify
  pass "$kind: verify reads every backup, dump and WAL file back from the store: no problem"

  # ---- a second backup; expire with a 1 s window keeps only it (and the
  # WAL from its start), on the store
  # the second backup goes through the proxy, which fails some of its
  # uploads: refused (503, 500), cut before and after the server stored
  # the object, and one that stalls past net-timeout; walden retries them
  local id2 start2
  : >"$PROXY_LOG"
  # (each object of this backup is one PUT: compressed, none reaches the
  # multipart threshold)
  faults "PUT:503" "PUT:drop-before" "PUT:drop-after" "PUT:500" "PUT:503" "PUT:stall" \
    "PUT:drop-after"
  walden "$T/proxy.conf" --pgport "$PORT" --pgdata "$PRIMARY" backup >"$T/backup2.out" 2>&1 ||
    fail "$kind: second backup (through faults) failed: $(cat "$T/backup2.out")"
  id2=$(sed -n 's/^backup \([0-9TZ]*\): .*/\1/p' "$T/backup2.out")
  [[ -n $id2 && $id2 != "$id" ]] || fail "$kind: no second backup: $(cat "$T/backup2.out")"
  [[ ! -s $PROXY_CTL ]] || fail "$kind: faults not consumed by the backup: $(cat "$PROXY_CTL")"
  local nfault npass
  nfault=$(grep ' fault=' "$PROXY_LOG" | grep -vc ' fault=pass ' || true)
  npass=$(grep -c ' fault=pass ' "$PROXY_LOG" || true)
  ((nfault == 7 && npass > 100)) ||
    fail "$kind: the proxy saw $nfault faults and $npass clean requests: $(grep -v fault=pass "$PROXY_LOG" | head)"
  check_uploads_framed
  expect_status 0 W verify --set "$id2"
  pass "$kind: backup $id2 went up through 7 injected faults (503, 500, drops before and after, a stall) and verifies"
  sleep 1.1
  expect_status 0 W expire --retention 1s
  store_list "$kind" "bk/main/backup/" | cut -d/ -f4 | sort -u >"$T/ids.expired"
  [[ $(cat "$T/ids.expired") == "$id2" ]] ||
    fail "$kind: after expire the store holds backups: $(cat "$T/ids.expired")"
  W info --output json >"$T/info3.json" || fail "$kind: info after expire failed"
  start2=$(python3 -c "import json, sys; c = json.load(sys.stdin)['clusters'][0]
b = [b for b in c['backups'] if b['id'] == '$id2']
assert len(c['backups']) == 1 and b, c['backups']
print(b[0]['start_wal'])" <"$T/info3.json") ||
    fail "$kind: info after expire: $(cat "$T/info3.json")"
  store_list "$kind" "bk/main/wal/" | sed 's|.*/||' | grep -E '^[0-9A-F]{24}' | cut -c1-24 |
    sort | head -1 >"$T/wal.first"
  [[ ! $(cat "$T/wal.first") < ${start2:0:24} ]] ||
    fail "$kind: WAL $(cat "$T/wal.first") before the kept backup's start $start2 is still stored"
  pass "$kind: expire removed backup $id and the WAL before $id2 (first stored segment $(cat "$T/wal.first"))"

  # ---- a drill restores the newest backup from the store, through the
  # proxy, which fails some of its reads: refused, cut, truncated, stalled
  as_pg mkdir -p "$T/scr"
  : >"$PROXY_LOG"
  faults "GET:503" "GET:truncate" "GET:drop-before" "GET:drop-after" "GET:stall" "GET:truncate"
  expect_status 0 walden "$T/proxy.conf" --pgport "$PORT" --scratch-dir "$T/scr" drill
  grep -q "^drill .* of backup $id2: PASSED" "$T/stdout" || fail "$kind: drill: $(cat "$T/stdout")"
  [[ ! -s $PROXY_CTL ]] || fail "$kind: faults not consumed by the drill: $(cat "$PROXY_CTL")"
  [[ -z $(ls -A "$T/scr") ]] || fail "$kind: drill left its scratch directory"
  expect_status 0 W drill --history
  grep -q "$id2" "$T/stdout" || fail "$kind: the drill is not recorded: $(cat "$T/stdout")"
  pass "$kind: drill restored backup $id2 through 6 injected read faults, recovered, passed its checks, and is recorded"

  # ---- no secret in a debug-level log, whatever the command
  local secret
  secret=$([[ $kind == s3 ]] && echo "$S3_SECRET" || echo "$AZ_KEY")
  : >"$T/debug.log"
  for cmd in info "archive-list" "verify --set $id2"; do
    # shellcheck disable=SC2086
    walden "$T/walden.conf" --log-level debug $cmd >/dev/null 2>>"$T/debug.log" ||
      fail "$kind: $cmd at log-level debug failed: $(tail -3 "$T/debug.log")"
  done
  [[ $(grep -c . "$T/debug.log") -gt 10 ]] || fail "$kind: debug log too short: $(cat "$T/debug.log")"
  # (the S3 test secret is the word "testing": matched as a word; the Azure
  # key and the passphrase anywhere)
  local wflag=()
  [[ $kind == s3 ]] && wflag=(-w)
  ! grep -q "${wflag[@]}" -F -e "$secret" "$T/debug.log" &&
    ! grep -qF -e "$(cat "$T/pass")" "$T/debug.log" &&
    ! grep -qiE 'authorization|signature=|sig=' "$T/debug.log" ||
    fail "$kind: a secret in the debug log: $(grep -iF -e "$secret" -e authorization "$T/debug.log" | head -3)"
  pass "$kind: $(wc -l <"$T/debug.log") debug log lines (info, archive-list, verify): no key, passphrase or signature"

  # ---- repo-passphrase: the key is re-wrapped on the store; the old
  # passphrase no longer opens it, the new one does
  local newpass=$T/pass.new
  new_passphrase "$newpass"
  expect_status 0 W repo-passphrase --new-passphrase-file "$newpass"
  expect_status 1 W verify --set "$id2"
  stderr_has "wrong passphrase"
  cp "$newpass" "$T/pass"
  expect_status 0 W verify --set "$id2"
  pass "$kind: repo-passphrase on the store: the old passphrase is refused, the new one reads backup $id2"

  # ---- bundles (on by default on a store): the backups above packed their
  # small files; an incr refers to the bundled files of $id2 that did not
  # change, its restore is exact and reads each bundle once; verify with
  # and without the key passes, and names a damaged bundle
  store_list "$kind" "bk/main/backup/$id2/" >"$T/objects2"
  local nbundles ndata nfiles
  nbundles=$(grep -c "^bk/main/backup/$id2/bundle/" "$T/objects2" || true)
  ndata=$(grep -c "^bk/main/backup/$id2/data/" "$T/objects2" || true)
  nfiles=$(find "$PRIMARY" -type f -size +0 -not -path '*/pg_wal/*' | wc -l)
  ((nbundles >= 1 && ndata * 4 < nfiles)) ||
    fail "$kind: backup $id2 has $nbundles bundles and $ndata objects of its own for $nfiles files"
  pass "$kind: backup $id2 stored $nfiles files as $nbundles bundles and $ndata objects of their own"
  local id3 RB=$T/restored-incr PORT3
  psql_c "$PORT" "INSERT INTO marker VALUES (5, clock_timestamp())"
  psql_c "$PORT" "CREATE TABLE small_new AS SELECT 42 AS v"
  W --expire-auto n backup --type incr >"$T/incr.out" 2>&1 ||
    fail "$kind: incr failed: $(cat "$T/incr.out")"
  id3=$(sed -n 's/^backup \([0-9TZ]*\) (incr of .*/\1/p' "$T/incr.out")
  [[ -n $id3 && $id3 != "$id2" ]] || fail "$kind: no incr: $(cat "$T/incr.out")"
  psql_c "$PORT" "INSERT INTO marker VALUES (6, clock_timestamp())"
  local want_sum
  want_sum=$(psql_c "$PORT" "SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts")
  wait_archived "$PORT" "$(switch_wal "$PORT")"
  store_list "$kind" "bk/main/backup/$id3/" >"$T/objects3"
  local n3
  n3=$(grep -c "/bundle/" "$T/objects3" || true)
  ((n3 <= 1)) || fail "$kind: the incr wrote $n3 bundles: unchanged small files were copied"
  local from=0
  [[ $kind == s3 ]] && from=$(wc -l <"$T/swift/log/proxy.log")
  walden "$T/walden.conf" --pgdata "$RB" restore --set "$id3" >"$T/restore3.out" 2>&1 ||
    fail "$kind: restore of incr $id3 failed: $(cat "$T/restore3.out")"
  if [[ $kind == s3 ]]; then
    sleep 1
    # each bundle read whole once (in pieces of 8 MiB): never a GET per file
    local gets nb_read
    gets=$(tail -n +$((from + 1)) "$T/swift/log/proxy.log" | grep -c "GET /walden/bk/main/backup/[^ ]*/bundle/" || true)
    nb_read=$(tail -n +$((from + 1)) "$T/swift/log/proxy.log" | grep -o "GET /walden/bk/main/backup/[^ ]*/bundle/[0-9]*" | sort -u | wc -l)
    ((nb_read >= 1 && gets <= 3 * nb_read)) ||
      fail "$kind: the restore made $gets GETs of $nb_read bundles"
    pass "$kind: the restore of incr $id3 read $nb_read bundles with $gets GETs"
  fi
  PORT3=$(next_port)
  pg_configure "$RB" "$PORT3" <<<"archive_mode = off"
  pg_start "$RB" || fail "$kind: the restored incr did not start"
  wait_recovered "$PORT3" "$kind incr"
  [[ $(psql_c "$PORT3" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker") == "1,2,3,4,5,6" ]] ||
    fail "$kind: the restored incr has markers $(psql_c "$PORT3" "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker")"
  [[ $(psql_c "$PORT3" "SELECT v FROM small_new") == 42 &&
    $(psql_c "$PORT3" "SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts") == "$want_sum" ]] ||
    fail "$kind: the restored incr's tables differ"
  pg_stop "$RB"
  pass "$kind: incr $id3 ($n3 bundles of its own) restores exactly: markers 1-6, the new table, pgbench_accounts"
  store_conf "$kind" "$T/nokey.conf" "$sport_of_suite" bk "lock-path=$T/locks"
  sed -i '/^encrypt-passphrase-file/d' "$T/nokey.conf"
  expect_status 0 W verify
  expect_status 0 walden "$T/nokey.conf" verify
  grep -q "stored checksums only" "$T/stdout" || fail "$kind: verify without the key: $(cat "$T/stdout")"
  local bvictim
  bvictim=$(grep "^bk/main/backup/$id2/bundle/" "$T/objects2" | head -1)
  store_object "$kind" get "$bvictim" "$T/bundle.orig"
  cp "$T/bundle.orig" "$T/bundle.bad"
  flip_byte "$T/bundle.bad" 200
  chmod 0644 "$T/bundle.bad"
  store_object "$kind" put "$bvictim" "$T/bundle.bad"
  expect_status 3 W verify
  grep -qF "${bvictim#bk/}" "$T/stdout" || fail "$kind: verify does not name $bvictim: $(cat "$T/stdout")"
  expect_status 3 walden "$T/nokey.conf" verify
  grep -qF "${bvictim#bk/}" "$T/stdout" ||
    fail "$kind: verify without the key does not name $bvictim: $(cat "$T/stdout")"
  chmod 0644 "$T/bundle.orig"
  store_object "$kind" put "$bvictim" "$T/bundle.orig"
  expect_status 0 W verify --set "$id3"
  pass "$kind: verify passes with and without the key; a damaged bundle is named by both"
  # the incr goes again (its manifest first): the commands after this one
  # expire, whose handling of chains is not what this checks
  store_object "$kind" delete "$(grep '/backup.manifest' "$T/objects3")"
  grep -v '/backup.manifest' "$T/objects3" | while read -r key; do
    store_object "$kind" delete "$key"
  done

  # ---- a damaged object on the store: verify names it (exit 3)
  local victim
  # the whole listing first: head stopping early would cut curl's writes
  store_list "$kind" "bk/main/backup/$id2/data/base/" >"$T/victims"
  victim=$(head -1 "$T/victims")
  [[ -n $victim ]] || fail "$kind: no data object to damage"
  head -c 100 /dev/urandom >"$T/garbage"
  chmod 0644 "$T/garbage"
  "$WALDEN_BUILD_DIR/tests/walden_objbench" "$T/walden.conf" put "${victim#bk/}" "$T/garbage" \
    >/dev/null || fail "$kind: could not overwrite $victim"
  expect_status 3 W verify --set "$id2"
  grep -qF "${victim#bk/main/backup/$id2/}" "$T/stdout" ||
    fail "$kind: verify does not name $victim: $(cat "$T/stdout")"
  pass "$kind: verify finds the damaged object on the store: $(head -1 "$T/stdout")"
  unset -f W
}
