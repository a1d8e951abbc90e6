#!/usr/bin/env bash
# label: slow
# walden backup and point-in-time restore with an encrypted repository on
# Azurite on 127.0.0.1 (it verifies SharedKey): see objstore_backup_suite
# in objstore.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/objstore.sh"

start_azurite
pass "azurite listening on $AZ_ENDPOINT"
objstore_backup_suite azure "$AZ_PORT"
finish
