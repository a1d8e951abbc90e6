#!/usr/bin/env bash
# walden's object-store HTTP layer (lib/storage/http.c over libcurl) over
# HTTPS: the endpoint's certificate is verified by default, and the options
# azure-ca-file / azure-verify-tls and s3-ca-file / s3-verify-tls work.
# A throwaway CA signs a certificate for 127.0.0.1; Azurite serves HTTPS
# with it itself, and Swift (plain HTTP only) sits behind a TLS-terminating
# forwarder (tests/integration/tlsforward.py). For each store one object
# goes up and comes back through the storage drivers (walden_objbench):
#   - without a CA file the system CAs do not know the certificate: the
#     command fails at once with one line naming the store and the problem;
#   - a certificate for another host name is refused even with the CA file;
#   - with the CA file the object round-trips byte-identical;
#   - with verification turned off (no CA file) it round-trips too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"

BENCH=$WALDEN_BUILD_DIR/tests/walden_objbench
[[ -x $BENCH ]] || fail "no $BENCH (built with the tests)"

# ---- a throwaway CA and a server certificate for IP 127.0.0.1 (EC keys:
# quick to make). Readable by all: the walden commands run as postgres.
mkdir -p "$T/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=walden test CA" -keyout "$T/tls/ca.key" -out "$T/tls/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  >/dev/null 2>&1 || fail "cannot make the test CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=127.0.0.1" -keyout "$T/tls/server.key" -out "$T/tls/server.csr" \
  >/dev/null 2>&1 || fail "cannot make the server key"
printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$T/tls/ext"
openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" \
  -CAcreateserial -days 2 -extfile "$T/tls/ext" -out "$T/tls/server.pem" >/dev/null 2>&1 ||
  fail "cannot sign the server certificate"
chmod 0644 "$T"/tls/*
CA=$T/tls/ca.pem

# wait_tls URL SECONDS: until an HTTPS server verified with the test CA
# answers at URL (any HTTP status).
wait_tls() {
  for _ in $(seq 1 $(($2 * 4))); do
    curl -s -o /dev/null --max-time 2 --cacert "$CA" "$1" && return 0
    sleep 0.25
  done
  return 1
}

head -c $((300 << 10)) /dev/urandom >"$T/object"
chmod 0644 "$T/object"

# bench_expect STATUS CONFIG put|get PATH FILE: walden_objbench as the
# walden commands run (the postgres user), its stderr left in $T/stderr
bench_expect() {
  local want=$1
  shift
  expect_status "$want" as_pg "$BENCH" "$@"
}

# round_trip CONFIG PATH: $T/object goes up as PATH and comes back unchanged
round_trip() {
  bench_expect 0 "$1" put "$2" "$T/object"
  bench_expect 0 "$1" get "$2" "$T/back"
  cmp -s "$T/object" "$T/back" || fail "$2 came back different with $(basename "$1")"
  rm -f "$T/back"
}

# tls_checks KIND ENDPOINT_URL: the four checks against the store KIND
# (s3 or azure) whose HTTPS endpoint is ENDPOINT_URL.
tls_checks() {
  local kind=$1 url=$2
  local ep=("$kind-endpoint=$url")
  [[ $kind == s3 ]] && ep+=("s3-uri-style=path" "s3-region=$S3_REGION" "s3-key=$S3_KEY" "s3-key-secret=$S3_SECRET")
  [[ $kind == azure ]] && ep+=("azure-account=$AZ_ACCOUNT" "azure-key=$AZ_KEY")
  # a short net-retry-time: a certificate error must not be retried, and if
  # it were the check below fails quickly instead of after a minute
  local common=("repo=$kind://walden/tls" "net-retry-time=5s" "${ep[@]}")

  # (1) default settings: the certificate is verified against the system
  # CAs, which do not know the test CA: refused, one line naming the store
  write_conf "$T/$kind-default.conf" "${common[@]}"
  bench_expect 1 "$T/$kind-default.conf" put tls/object "$T/object"
  stderr_has "$kind://walden"
  grep -qi "certificate" "$T/stderr" || fail "$kind: the error does not mention the certificate: $(cat "$T/stderr")"
  ! grep -q "failed after" "$T/stderr" || fail "$kind: a certificate error was retried: $(cat "$T/stderr")"
  pass "$kind: an unknown CA is refused by default, at once: $(cat "$T/stderr")"

  # the real command line reports it the same way
  expect_status 1 walden "$T/$kind-default.conf" archive-list
  stderr_has "$kind://walden"
  grep -qi "certificate" "$T/stderr" || fail "$kind: walden archive-list: $(cat "$T/stderr")"
  pass "$kind: walden archive-list fails the same way: $(cat "$T/stderr")"

  # (2) the CA file given: the object goes up and comes back unchanged
  write_conf "$T/$kind-ca.conf" "${common[@]}" "$kind-ca-file=$CA"
  round_trip "$T/$kind-ca.conf" tls/object
  pass "$kind: with $kind-ca-file the object round-trips byte-identical"

  # the host name is verified too: the same server as "localhost" (not in
  # the certificate) is refused although the CA is known
  write_conf "$T/$kind-host.conf" "${common[@]/127.0.0.1/localhost}" "$kind-ca-file=$CA"
  bench_expect 1 "$T/$kind-host.conf" get tls/object "$T/back-host"
  stderr_has "$kind://walden"
  grep -qi "localhost" "$T/stderr" && grep -qiE "certificate|subject name" "$T/stderr" ||
    fail "$kind: the error does not name the host and the certificate: $(cat "$T/stderr")"
  pass "$kind: a certificate for another host name is refused: $(cat "$T/stderr")"

  # (3) verification off, no CA file: works (a second object, written and
  # read without the CA)
  write_conf "$T/$kind-noverify.conf" "${common[@]}" "$kind-verify-tls=n"
  round_trip "$T/$kind-noverify.conf" tls/object2
  pass "$kind: with $kind-verify-tls=n and no CA file the object round-trips byte-identical"
}

# ---- Azure: Azurite serving HTTPS itself (started like start_azurite,
# with --cert/--key; its pid in OBJ_PIDS so the EXIT trap stops it)
az_bin=${WALDEN_AZURITE:-}
[[ -n $az_bin ]] || az_bin=$(command -v azurite-blob || true)
[[ -n $az_bin ]] || az_bin=/opt/walden-test-tools/node_modules/.bin/azurite-blob
[[ -x $az_bin ]] || skip_test "Azurite is not installed (scripts/install-deps.sh --objstore)"
AZ_PORT=$(free_port)
mkdir -p "$T/azurite"
"$az_bin" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$T/azurite" --disableTelemetry \
  --skipApiVersionCheck --cert "$T/tls/server.pem" --key "$T/tls/server.key" \
  >"$T/azurite.log" 2>&1 &
OBJ_PIDS+=($!)
AZ_ACCOUNT=devstoreaccount1
AZ_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
wait_tls "https://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT?comp=list" 30 || {
  tail -20 "$T/azurite.log" >&2
  fail "azurite did not start with HTTPS"
}
pass "azurite listening on https://127.0.0.1:$AZ_PORT"
tls_checks azure "https://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT"

# ---- S3: Swift (plain HTTP) behind the TLS forwarder
start_swift
TLS_PORT=$(free_port)
python3 "$WALDEN_SOURCE_DIR/tests/integration/tlsforward.py" "$TLS_PORT" "$S3_PORT" \
  "$T/tls/server.pem" "$T/tls/server.key" >"$T/tlsforward.log" 2>&1 &
OBJ_PIDS+=($!)
wait_tls "https://127.0.0.1:$TLS_PORT/healthcheck" 10 || {
  cat "$T/tlsforward.log" >&2
  fail "the TLS forwarder did not start"
}
pass "swift listening on $S3_ENDPOINT, HTTPS in front on https://127.0.0.1:$TLS_PORT"
tls_checks s3 "https://127.0.0.1:$TLS_PORT"

finish
