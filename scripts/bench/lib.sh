# shellcheck shell=bash
# lib.sh - sourced by the PostgreSQL benchmarks (run from the repository
# root, as root): installs the dependencies and pgBackRest, builds walden's
# Release binary ($walden), finds PostgreSQL ($bindir), and makes a work
# folder ($work) owned by postgres that the EXIT trap removes after stopping
# any server in $work/pgdata. as_pg runs a command as postgres.
# WALDEN_BASE_REV=REV (a git revision, for example main before a change)
# also builds walden as it was at REV ($base, empty otherwise): the scripts
# then time it as one more method, "base", in the same run, to show what a
# change did to walden's own speed.
# bench_pgbr_block (incremental.sh) adds a newer pgBackRest, with block
# incremental, run from a Debian 13 root file system.
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

# bench_tools: the configurations of walden, pgBackRest and base ($base,
# when WALDEN_BASE_REV is set) for a cluster in $work/pgdata on port $PORT:
# zstd level 3, encryption on, process-max 2; and the commands WALDEN, BASE
# and PGBR (arrays), base_push (base's part of archive_command).
bench_tools() {
  head -c 24 /dev/urandom | base64 >"$work/pass"
  chown postgres: "$work/pass"
  chmod 0600 "$work/pass"
  cat >"$work/walden.conf" <<CONF
repo = $work/walden-repo
compress = zstd
compress-level = 3
encrypt-passphrase-file = $work/pass
sign-key-file = $work/%c.sign-key
process-max = 2
pghost = $work/sock
pgport = $PORT
pguser = postgres
lock-path = $work/locks
CONF
  cat >"$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr-repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(cat "$work/pass")
repo1-retention-full=100
compress-type=zst
compress-level=3
process-max=2
start-fast=y
archive-async=n
log-level-console=warn
log-level-file=off
lock-path=$work/pgbr-lock
spool-path=$work/pgbr-spool

[bench]
pg1-path=$work/pgdata
pg1-socket-path=$work/sock
pg1-port=$PORT
CONF
  sed -e "s|$work/walden-repo|$work/base-repo|" -e "s|$work/%c.sign-key|$work/base-%c.sign-key|" \
    -e "s|$work/locks|$work/base-locks|" "$work/walden.conf" >"$work/base.conf"
  chown postgres: "$work/walden.conf" "$work/pgbackrest.conf" "$work/base.conf"
  chmod 0600 "$work/walden.conf" "$work/pgbackrest.conf" "$work/base.conf"
  WALDEN=("$walden" --config "$work/walden.conf" --pgdata "$work/pgdata")
  BASE=("$base" --config "$work/base.conf" --pgdata "$work/pgdata")
  base_push=
  [[ -z $base ]] || base_push=" && $base --config $work/base.conf archive-push %p"
  PGBR=(pgbackrest --config="$work/pgbackrest.conf" --stanza=bench)
}

# bench_pgbr_block: a newer pgBackRest (Debian 13's, 2.55) with block
# incremental (repo-block, which needs repo-bundle), configured as PGBR is but
# for its own repository: the command PGBRB (an array) and pgbrb_push (its
# part of archive_command), for bench_cluster (call this before it). Its
# binary is installed into the root file system of the PostgreSQL version
# tests (scripts/pg-rootfs.sh trixie --pgbackrest: built, or completed, once
# per machine) and runs on the host through that root's own dynamic loader and
# libraries, so that it sees the host's paths as they are (the cluster, the
# repository) and archive_command can run it as it runs the host's
# pgbackrest. The wrapper $work/pgbackrest-block names itself as the program
# (--argv0), so the processes pgBackRest starts for process-max run through it
# too. PGBR_NEW=0 leaves it out; PGBR_NEW=1 fails when it cannot run; unset,
# it is left out with a note when it cannot run. PGBRB stays empty when left
# out.
bench_pgbr_block() {
  PGBRB=() pgbrb_push=
  local want=${PGBR_NEW:-auto} root lib
  [[ $want != 0 ]] || return 0
  root=$(bash scripts/pg-rootfs.sh trixie --pgbackrest) || root=
  lib=$root/usr/lib/x86_64-linux-gnu
  if [[ -z $root || ! -x $lib/ld-linux-x86-64.so.2 ]]; then
    [[ $want != 1 ]] || { echo "bench: no pgBackRest of Debian 13 (PGBR_NEW=1)" >&2; exit 1; }
    echo "note: no pgBackRest of Debian 13 (scripts/pg-rootfs.sh trixie --pgbackrest failed): block incremental left out"
    return 0
  fi
  cat >"$work/pgbackrest-block" <<SH
#!/bin/sh
exec $lib/ld-linux-x86-64.so.2 --library-path $lib --argv0 $work/pgbackrest-block $root/usr/bin/pgbackrest "\$@"
SH
  chmod 0755 "$work/pgbackrest-block"
  if ! as_pg "$work/pgbackrest-block" version >/dev/null 2>&1; then
    [[ $want != 1 ]] || { echo "bench: $work/pgbackrest-block does not run (PGBR_NEW=1)" >&2; exit 1; }
    echo "note: the pgBackRest of $root does not run on this host: block incremental left out"
    return 0
  fi
  sed -e "s|$work/pgbr-|$work/pgbrb-|" -e 's|^repo1-retention-full=.*|&\nrepo1-bundle=y\nrepo1-block=y|' \
    "$work/pgbackrest.conf" >"$work/pgbackrest-block.conf"
  chown postgres: "$work/pgbackrest-block.conf"
  chmod 0600 "$work/pgbackrest-block.conf"
  PGBRB=("$work/pgbackrest-block" --config="$work/pgbackrest-block.conf" --stanza=bench)
  pgbrb_push=" && ${PGBRB[*]} archive-push %p"
}

# bench_cluster: a new cluster in $work/pgdata (port $PORT, every segment
# pushed by each tool) with each tool's repository initialized (PGBRB's too,
# when bench_pgbr_block set it).
bench_cluster() {
  rm -rf "$work/pgdata" "$work/walden-repo" "$work/pgbr-repo" "$work/restore" "$work/base-repo" \
    "$work/pgbrb-repo" "$work"/*.sign-key
  as_pg mkdir -p "$work/sock"
  as_pg "$bindir/initdb" -D "$work/pgdata" -A trust -U postgres -k >/dev/null
  cat >>"$work/pgdata/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/sock'
port = $PORT
archive_mode = on
archive_command = '$walden --config $work/walden.conf archive-push %p && pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p$base_push${pgbrb_push:-}'
max_wal_size = '4GB'
CONF
  as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/pg.log" -w start >/dev/null
  as_pg "${WALDEN[@]}" init >/dev/null
  as_pg "${PGBR[@]}" stanza-create >/dev/null
  [[ -z $base ]] || as_pg "${BASE[@]}" init >/dev/null
  [[ -z ${pgbrb_push:-} ]] || as_pg "${PGBRB[@]}" stanza-create >/dev/null
}

# timed NAME CMD...: runs CMD as postgres; prints "seconds maxrss_kib".
# Every timed command starts from the same state: dirty data written out and
# the page cache dropped (whichever tool ran first would otherwise pay for
# the kernel reclaiming the cache the previous steps filled).
timed() {
  shift
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  as_pg /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>&1 ||
    { cat "$work/cmd.out" >&2; exit 1; }
  cat "$work/time.out"
}

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
