#!/usr/bin/env bash
# label: slow
# walden against Azurite on 127.0.0.1 (it verifies SharedKey and SAS
# signatures). The storage conformance suite runs against it with SharedKey
# and with an account SAS (the unit test binary with WALDEN_TEST_AZURE_*),
# then PostgreSQL 15 archives through walden into an encrypted repository on
# it, and faults are injected between walden and Azurite
# (tests/integration/faultproxy.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"

start_azurite
pass "azurite listening on $AZ_ENDPOINT"

WALDEN_TEST_AZURE_ENDPOINT=$AZ_ENDPOINT WALDEN_TEST_AZURE_CONTAINER=walden \
  WALDEN_TEST_AZURE_ACCOUNT=$AZ_ACCOUNT WALDEN_TEST_AZURE_KEY=$AZ_KEY \
  WALDEN_TEST_AZURE_SAS=$(azure_account_sas "$AZ_ACCOUNT" "$AZ_KEY") \
  "$WALDEN_BUILD_DIR/tests/unit_storage_test_azure" >"$T/conformance.out" 2>&1 ||
  { cat "$T/conformance.out"; fail "the azure unit and conformance tests failed"; }
grep -q "azure conformance (SAS)" "$T/conformance.out" || fail "the SAS conformance suite did not run"
pass "azure driver: unit tests and the conformance suite (SharedKey and SAS) pass against azurite"

objstore_suite azure "$AZ_PORT" "$T/azurite"
finish
