#!/usr/bin/env bash
# label: slow
# The attacker of test_forgery.sh against repositories on Swift's s3api: a
# made-up WAL segment and a forged backup written with the store's own API
# into an encrypted and an unencrypted area are refused
# (forgery_store_suite in forgery.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"
source "$(dirname "$0")/forgery.sh"

start_swift
forgery_store_suite s3
finish
