#!/usr/bin/env bash
# Version matrix: walden's main flows against a real PostgreSQL 15 (the host's).
# label: versions
PGV=15
SUITE=
source "$(dirname "$0")/pgversions.sh"
