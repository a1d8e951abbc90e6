# lib.sh - sourced by the PostgreSQL benchmarks (run from the repository
# root, as root): installs the dependencies and pgBackRest, builds walden's
# Release binary ($walden), finds PostgreSQL ($bindir), and makes a work
# folder ($work) owned by postgres that the EXIT trap removes after stopping
# any server in $work/pgdata. as_pg runs a command as postgres.
# WALDEN_BASE_REV=REV (a git revision, for example main before a change)
# also builds walden as it was at REV ($base, empty otherwise): the scripts
# then time it as one more method, "base", in the same run, to show what a
# change did to walden's own speed.
bash scripts/install-deps.sh --bench >/dev/null
BUILD_DIR=build-bench BUILD_TYPE=Release bash scripts/build.sh >/dev/null
walden=$(pwd)/build-bench/src/walden
bindir=$(pg_config --bindir 2>/dev/null || true)
[[ -x $bindir/initdb ]] || bindir=/usr/lib/postgresql/15/bin

work=$(mktemp -d /tmp/walden-bench.XXXXXX)
chmod 0755 "$work"
chown postgres: "$work"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base=
if [[ -n ${WALDEN_BASE_REV:-} ]]; then
  mkdir -p "$work/base-src"
  git archive "$WALDEN_BASE_REV" | tar -x -C "$work/base-src"
  BUILD_DIR="$work/base-src/build" BUILD_TYPE=Release bash "$work/base-src/scripts/build.sh" >/dev/null
  base=$work/base-src/build/src/walden
  echo "base: walden of $(git rev-parse --short "$WALDEN_BASE_REV")"
fi

# ratio A B: A / B with three decimals, rounded (bc's scale would truncate:
# 0.759 must not print as .75)
ratio() { LC_ALL=C printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }
