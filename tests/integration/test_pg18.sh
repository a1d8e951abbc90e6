#!/usr/bin/env bash
# Version matrix: walden's main flows against a real PostgreSQL 18 (Debian sid,
# run from a cached root: see pgversions.sh).
# label: versions
PGV=18
SUITE=sid
source "$(dirname "$0")/pgversions.sh"
