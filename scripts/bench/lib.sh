# lib.sh - sourced by the PostgreSQL benchmarks (run from the repository
# root, as root): installs the dependencies and pgBackRest, builds walden's
# Release binary ($walden), finds PostgreSQL ($bindir), and makes a work
# folder ($work) owned by postgres that the EXIT trap removes after stopping
# any server in $work/pgdata. as_pg runs a command as postgres.
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

# ratio A B: A / B with three decimals, rounded (bc's scale would truncate:
# 0.759 must not print as .75)
ratio() { LC_ALL=C printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }
