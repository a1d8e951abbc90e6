#!/usr/bin/env bash
# Version matrix: walden's main flows against a real PostgreSQL 13 (Debian bullseye,
# run from a cached root: see pgversions.sh).
# label: versions
PGV=13
SUITE=bullseye
source "$(dirname "$0")/pgversions.sh"
