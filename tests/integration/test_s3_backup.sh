#!/usr/bin/env bash
# label: slow
# walden backup and point-in-time restore with an encrypted repository on a
# real S3 server on 127.0.0.1 (OpenStack Swift with s3api, which verifies
# SigV4): see objstore_backup_suite in objstore.sh. On S3 the removal of a
# failed backup goes through batched DeleteObjects requests: checked in
# Swift's proxy log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"

start_swift
pass "swift with s3api listening on $S3_ENDPOINT"
objstore_backup_suite s3 "$S3_PORT"
# swift logs the request as "POST /walden%3Fdelete%3D HTTP/1.0 200"
n=$(grep -c 'POST /walden%3Fdelete%3D HTTP/[0-9.]* 200 ' "$T/swift/log/proxy.log" || true)
((n > 0)) || fail "no DeleteObjects request reached swift: $(grep POST "$T/swift/log/proxy.log" | head -5)"
pass "s3: the failed backup was removed with $n DeleteObjects (batched) requests, all answered 200"

# ---- a stream of unknown length larger than the first parts: a dump of
# 70,000 random 1 KiB values (hex in pg_dump's COPY text, about 72 MB once
# zstd has undone the hex) is uploaded in growing parts. With s3-max-parts
# = 3 parts double each time: 32 + 64 MiB, 2 parts where fixed 32 MiB parts
# would take 3; with s3-max-parts = 1 it cannot fit: the dump fails, the
# upload is aborted and no dump object is left.
psql_c "$SUITE_PORT" "CREATE DATABASE noise"
as_pg psql -h "$T/sock" -p "$SUITE_PORT" -U postgres -d noise -XAtq -c "CREATE EXTENSION pgcrypto" \
  -c "CREATE TABLE noise AS SELECT i, gen_random_bytes(1024) AS b FROM generate_series(1, 70000) i" \
  >/dev/null
walden "$T/walden.conf" --pgport "$SUITE_PORT" --s3-max-parts 3 dump --dbname noise \
  >"$T/noise.out" 2>&1 || fail "s3: dump of 72 MB in growing parts failed: $(cat "$T/noise.out")"
nid=$(awk '/^dump .*: noise,/ {sub(":", "", $2); print $2}' "$T/noise.out")
[[ -n $nid ]] || fail "s3: no dump summary: $(cat "$T/noise.out")"
# swift logs each part as "PUT /walden/bk/main/dump/ID/dump.pgdump.zst%3FpartNumber%3DN...
# HTTP/1.0 200 ": the distinct part numbers answered 200 (a part retried
# after a 503 of a loaded swift is logged twice)
parts=$(grep -o "PUT /walden/bk/main/dump/$nid/dump.pgdump.zst%3FpartNumber%3D[0-9]*%26uploadId[^ ]* HTTP/[0-9.]* 200 " \
  "$T/swift/log/proxy.log" | grep -o 'partNumber%3D[0-9]*' | sort -u | wc -l)
size=$(awk '/^dump .*: noise,/ {print}' "$T/noise.out")
[[ $parts == 2 ]] || fail "s3: the noise dump ($size) went up in $parts parts, not 2 (32 + 64 MiB)"
walden "$T/walden.conf" --pgport "$SUITE_PORT" restore-dump --set "$nid" --to-file - |
  as_pg "$PG_BIN/pg_restore" -f - >"$T/noise.sql" || fail "s3: restore-dump of the noise dump failed"
rows=$(grep -c '^[0-9]*	\\\\x' "$T/noise.sql" || true)
[[ $rows == 70000 ]] || fail "s3: the noise dump holds $rows rows, not 70000"
pass "s3: a dump larger than 64 MiB (s3-max-parts 3) went up as parts of 32 and 64 MiB and reads back whole: $size"

expect_status 1 walden "$T/walden.conf" --pgport "$SUITE_PORT" --s3-max-parts 1 dump --dbname noise
grep -q "too large for the store" "$T/stderr" ||
  fail "s3: a dump too large for 1 part did not say so: $(cat "$T/stderr")"
walden "$T/walden.conf" info --output json >"$T/info2.json"
python3 -c "import json, sys; c = json.load(sys.stdin)['clusters'][0]
bad = [d for d in c['dumps'] if d['database'] == 'noise' and d['id'] != '$nid']
assert bad and all(d['status'] == 'failed' for d in bad), c['dumps']" <"$T/info2.json" ||
  fail "s3: the failed dump is not catalogued as failed: $(cat "$T/info2.json")"
objects=$(store_list s3 "bk/main/dump/")
[[ $objects == *"bk/main/dump/$nid/dump.pgdump.zst"* ]] || fail "s3: listing without the good dump: $objects"
grep -v "^bk/main/dump/$nid/" <<<"$objects" | grep -q 'noise/dump.pgdump' &&
  fail "s3: the failed dump left its object"
grep -q "DELETE /walden/bk/main/dump/[^ ]*noise/dump.pgdump.zst%3FuploadId%3D[^ ]* HTTP/[0-9.]* 204 " \
  "$T/swift/log/proxy.log" || fail "s3: the failed dump's upload was not aborted"
pass "s3: a dump too large for s3-max-parts 1 fails, is catalogued failed, its upload aborted"

# the range is the option table's, checked when the value is set: status 2
for bad in 0 10001 abc; do
  expect_status 2 walden "$T/walden.conf" --s3-max-parts "$bad" info
  grep -q "invalid value for option 's3-max-parts': '$bad' (expected a whole number from 1 to 10000)" \
    "$T/stderr" || fail "s3: s3-max-parts $bad: $(cat "$T/stderr")"
done
pass "s3: s3-max-parts 0, 10001 and abc are refused with a message naming the option"
finish
