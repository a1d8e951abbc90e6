#!/usr/bin/env bash
# Builds (once) a minimal Debian root file system holding one PostgreSQL major
# version, for the version matrix of the integration tests, and prints its path.
#
#   scripts/pg-rootfs.sh SUITE      SUITE: bullseye (13), trixie (17), sid (18)
#   scripts/pg-rootfs.sh SUITE --pgbackrest
#                                   the same root with the suite's pgBackRest
#                                   installed in it too (ROOT/usr/bin/pgbackrest;
#                                   the benchmarks run it against the host's
#                                   cluster, scripts/bench/lib.sh)
#   scripts/pg-rootfs.sh --available
#                                   which postgresql-NN packages Debian's
#                                   suites carry (apt, in a temporary folder:
#                                   the host's apt sources are not touched)
#
# The roots live outside the checkout, in $WALDEN_ROOTFS_CACHE
# (default /var/cache/walden-test/rootfs/SUITE), and are reused by later runs
# on the same machine. A lock per suite makes two callers that need the same
# root wait for each other; the root is built in a temporary folder next to
# it and renamed into place when complete, so a half-built root is never used.
# Inside the root:
#   - the postgres user and group have the host's uid and gid, so files that
#     the server inside writes are the host's postgres files;
#   - the root's own host path is a symlink to / , so a host path under the
#     root (ROOT/tmp/x) names the same file inside (chroot ROOT ls ROOT/tmp/x).
# Needs root, debootstrap and Debian's package mirror (the host's apt sources,
# or $WALDEN_DEBIAN_MIRROR).
set -euo pipefail

die() {
  echo "pg-rootfs: $*" >&2
  exit 1
}

# the Debian mirror the host uses (deb822 .sources or one-line sources.list)
find_mirror() {
  local m=${WALDEN_DEBIAN_MIRROR:-}
  if [[ -z $m ]]; then
    m=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  if [[ -z $m && -f /etc/apt/sources.list ]]; then
    m=$(awk '$1 == "deb" && $2 !~ /security/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [[ -n $m ]] || die "no Debian mirror found in /etc/apt/sources.list*: set WALDEN_DEBIAN_MIRROR"
  echo "$m"
}

if [[ ${1:-} == --available ]]; then
  mirror=$(find_mirror)
  d=$(mktemp -d)
  trap 'rm -rf "$d"' EXIT
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  for s in bullseye bookworm trixie sid; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
  done >"$d/sources.list"
  opts=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -qq update >&2
  for v in 13 14 15 16 17 18 19; do
    printf 'postgresql-%s:%s\n' "$v" \
      "$(apt-cache "${opts[@]}" madison "postgresql-$v" | awk -F' [|] ' '{printf " %s (%s)", $2, $3}')"
  done
  exit 0
fi

suite=${1:-}
with_pgbr=
case ${2:-} in
'') ;;
--pgbackrest) with_pgbr=1 ;;
*) die "unknown option ${2}" ;;
esac
case "$suite" in
bullseye) pgver=13 ;;
trixie) pgver=17 ;;
sid) pgver=18 ;;
*) die "usage: pg-rootfs.sh bullseye|trixie|sid [--pgbackrest]" ;;
esac
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/install-deps.sh)"
id postgres >/dev/null 2>&1 || die "the host has no postgres user (install postgresql-15)"

cache=${WALDEN_ROOTFS_CACHE:-/var/cache/walden-test/rootfs}
root=$cache/$suite
mkdir -p "$cache"
exec 9>"$cache/$suite.lock"
flock 9

# add_pgbackrest: installs the suite's pgBackRest into the finished root
# (once; with the lock held). Only packages that are missing are added (it and
# libssh2 on trixie): nothing the root's PostgreSQL uses is upgraded.
add_pgbackrest() {
  [[ -n $with_pgbr && ! -x $root/usr/bin/pgbackrest ]] || return 0
  echo "pg-rootfs: installing pgbackrest into $root" >&2
  local log=$cache/$suite.pgbackrest.log
  if ! {
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq update &&
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends --no-upgrade pgbackrest
  } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "installing pgbackrest into $root failed"
  fi
  rm -f "$log" "$root/var/cache/apt/archives/"*.deb
  [[ -x $root/usr/bin/pgbackrest ]] || die "$suite has no pgbackrest"
}

if [[ -f $root/.walden-rootfs ]]; then
  add_pgbackrest
  echo "$root"
  exit 0
fi

mirror=$(find_mirror)

# a stale half-built root of a run that was killed
rm -rf --one-file-system "$cache/.$suite."*
tmp=$(mktemp -d "$cache/.$suite.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
chmod 755 "$tmp"
echo "pg-rootfs: building $root (PostgreSQL $pgver from $mirror $suite)" >&2
if ! debootstrap --variant=minbase --include="postgresql-$pgver" "$suite" "$tmp" "$mirror" \
  >"$tmp.log" 2>&1; then
  tail -n 20 "$tmp.log" >&2
  rm -f "$tmp.log"
  die "debootstrap of $suite failed"
fi
rm -f "$tmp.log"
[[ -x $tmp/usr/lib/postgresql/$pgver/bin/postgres ]] || die "$suite has no PostgreSQL $pgver"

# the postgres user and group take the host's ids; whoever held them inside
# moves to a free id first
in_root() { chroot "$tmp" "$@"; }
host_uid=$(id -u postgres)
host_gid=$(id -g postgres)
old_uid=$(in_root id -u postgres)
old_gid=$(in_root id -g postgres)
if [[ $old_gid != "$host_gid" ]]; then
  other=$(in_root getent group "$host_gid" | cut -d: -f1 || true)
  if [[ -n $other ]]; then
    free=$(($(in_root getent group | cut -d: -f3 | awk '$1 < 60000' | sort -n | tail -1) + 1))
    in_root groupmod -g "$free" "$other"
    find "$tmp" -xdev -gid "$host_gid" -exec chgrp -h "$free" {} +
  fi
  in_root groupmod -g "$host_gid" postgres
  find "$tmp" -xdev -gid "$old_gid" -exec chgrp -h "$host_gid" {} +
fi
if [[ $old_uid != "$host_uid" ]]; then
  other=$(in_root getent passwd "$host_uid" | cut -d: -f1 || true)
  if [[ -n $other ]]; then
    free=$(($(in_root getent passwd | cut -d: -f3 | awk '$1 < 60000' | sort -n | tail -1) + 1))
    in_root usermod -u "$free" "$other"
    find "$tmp" -xdev -uid "$host_uid" -exec chown -h "$free" {} +
  fi
  in_root usermod -u "$host_uid" postgres
  find "$tmp" -xdev -uid "$old_uid" -exec chown -h "$host_uid" {} +
fi
# the packaged cluster is not used: the tests make their own
rm -rf "$tmp/var/lib/postgresql/$pgver/main" "$tmp/var/cache/apt/archives/"*.deb
# host paths under the root are valid inside too
mkdir -p "$tmp$(dirname "$root")"
ln -s / "$tmp$root"
echo "suite=$suite pgver=$pgver" >"$tmp/.walden-rootfs"
mv "$tmp" "$root"
trap - EXIT
add_pgbackrest
echo "$root"
