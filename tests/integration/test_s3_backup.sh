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
finish
