#!/usr/bin/env bash
# Version matrix: walden's main flows against a real PostgreSQL 17 (Debian trixie,
# run from a cached root: see pgversions.sh).
# label: versions
PGV=17
SUITE=trixie
source "$(dirname "$0")/pgversions.sh"
