#!/usr/bin/env bash
# label: slow
# walden against a real S3 server on 127.0.0.1: OpenStack Swift with its
# s3api middleware, which verifies SigV4 signatures, the region and the
# payload hash. The storage conformance suite runs against it (the unit test
# binary with WALDEN_TEST_S3_*), then PostgreSQL 15 archives through walden
# into an encrypted repository on it, and faults are injected between walden
# and the server (tests/integration/faultproxy.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"

start_swift
pass "swift with s3api listening on $S3_ENDPOINT"

WALDEN_TEST_S3_ENDPOINT=$S3_ENDPOINT WALDEN_TEST_S3_BUCKET=walden WALDEN_TEST_S3_KEY=$S3_KEY \
  WALDEN_TEST_S3_SECRET=$S3_SECRET WALDEN_TEST_S3_REGION=$S3_REGION \
  "$WALDEN_BUILD_DIR/tests/unit_storage_test_s3" >"$T/conformance.out" 2>&1 ||
  { cat "$T/conformance.out"; fail "the s3 unit and conformance tests failed"; }
grep -q "s3 conformance" "$T/conformance.out" || fail "the conformance suite did not run"
pass "s3 driver: unit tests and the storage conformance suite pass against swift"

objstore_suite s3 "$S3_PORT" "$T/swift/srv"
finish
