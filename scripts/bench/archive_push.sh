#!/usr/bin/env bash
# Benchmark: archive-push of real 16 MiB WAL segments, one process per
# segment as PostgreSQL runs archive_command, comparing in one run:
#   walden     walden archive-push, zstd level 3, encrypted repository
#   pgbackrest pgbackrest archive-push, compress-type=zst level 3,
#              repo1-cipher-type=aes-256-cbc, archive-async=n
#   naive      zstd -3 < seg > out && sync out   (no checks, no encryption)
#   cp         cp seg out && sync out
# Each method pushes the same SEGMENTS segments into a fresh target, ROUNDS
# times (rounds interleave the methods); the median round is reported as ms
# per segment, with the ratios.
# Also reports the peak RSS of one walden and one pgbackrest push.
# WALDEN_BASE_REV=REV adds walden as built from git revision REV ("base",
# its own repository), and the ratio walden / base.
# Usage (as root, Debian 12): scripts/bench/archive_push.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SEGMENTS=${SEGMENTS:-64}
ROUNDS=${ROUNDS:-3}

source scripts/bench/lib.sh

echo "== collecting $SEGMENTS real WAL segments from pgbench"
as_pg mkdir -p "$work/segs" "$work/sock"
as_pg "$bindir/initdb" -D "$work/pgdata" -A trust -U postgres >/dev/null
cat >>"$work/pgdata/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/sock'
port = 55499
archive_mode = on
archive_command = 'cp %p $work/segs/%f'
max_wal_size = '4GB'
CONF
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/pg.log" -w start >/dev/null
pgb() { as_pg "$bindir/pgbench" -h "$work/sock" -p 55499 -U postgres "$@" postgres; }
pgb -i -s 40 -q >/dev/null 2>&1
while (($(ls "$work/segs" | grep -c '^[0-9A-F]\{24\}$') < SEGMENTS + 2)); do
  pgb -T 10 -c 2 -j 2 >/dev/null 2>&1
  as_pg psql -h "$work/sock" -p 55499 -U postgres -XAtqc "SELECT pg_switch_wal()" >/dev/null
  sleep 1
done
# skip the first segments (initdb's, mostly empty) for a realistic mix
mapfile -t segs < <(ls "$work/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n "$SEGMENTS")
echo "segments: ${#segs[@]} x 16 MiB ($(du -ch "${segs[@]/#/$work/segs/}" | tail -1 | cut -f1))"

echo "== setting up walden and pgbackrest"
head -c 24 /dev/urandom | base64 >"$work/pass"
chown postgres: "$work/pass"
chmod 0600 "$work/pass"
cat >"$work/walden.conf" <<CONF
repo = $work/walden-repo
compress = zstd
compress-level = 3
encrypt-passphrase-file = $work/pass
sign-key-file = $work/sign-key
CONF
cat >"$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr-repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(cat "$work/pass")
compress-type=zst
compress-level=3
archive-async=n
log-level-console=warn
log-level-file=off
lock-path=$work/pgbr-lock
spool-path=$work/pgbr-spool

[bench]
pg1-path=$work/pgdata
pg1-socket-path=$work/sock
pg1-port=55499
CONF
sed -e "s|$work/walden-repo|$work/base-repo|" -e "s|$work/sign-key|$work/base-sign-key|" \
  "$work/walden.conf" >"$work/base.conf"
chown postgres: "$work/walden.conf" "$work/pgbackrest.conf" "$work/base.conf"
chmod 0600 "$work/walden.conf" "$work/pgbackrest.conf" "$work/base.conf"

reset_targets() {
  rm -rf "$work/walden-repo" "$work/pgbr-repo" "$work/out"
  as_pg mkdir -p "$work/out"
  as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/pgdata" init >/dev/null
  as_pg pgbackrest --config="$work/pgbackrest.conf" --stanza=bench stanza-create >/dev/null
}

declare -A cmd=(
  [walden]="$walden --config $work/walden.conf archive-push $work/segs/SEG"
  [pgbackrest]="pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push $work/segs/SEG"
  [naive]="zstd -3 -q < $work/segs/SEG > $work/out/SEG.zst && sync $work/out/SEG.zst"
  [cp]="cp $work/segs/SEG $work/out/SEG && sync $work/out/SEG"
)
methods=(walden pgbackrest naive cp)
if [[ -n $base ]]; then
  cmd[base]="$base --config $work/base.conf archive-push $work/segs/SEG"
  methods+=(base)
fi

# One round of a method: us per segment. Like PostgreSQL's archiver, each
# segment is one `sh -c COMMAND`; the loop itself runs as the postgres user
# in one shell, so user switching is not timed.
round() {
  local m=$1 list
  reset_targets
  sync
  list=$(printf '%s ' "${segs[@]}")
  as_pg bash -c '
    cmd=$1; shift
    start=$(date +%s%N)
    for s in "$@"; do sh -c "${cmd//SEG/$s}" || { echo "failed on $s" >&2; exit 1; }; done
    end=$(date +%s%N)
    echo $(((end - start) / 1000 / $#))' bench "${cmd[$m]}" $list
}

echo "== $ROUNDS rounds x ${#segs[@]} segments per method (PostgreSQL stopped while timing)"
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
# pgbackrest's stanza-create needs the server: create once, then keep it
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/pg.log" -w start >/dev/null
reset_targets
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
reset_targets() {
  rm -rf "$work/walden-repo" "$work/out" "$work/sign-key" "$work/pgbr-repo/archive/bench"/*-*/ 2>/dev/null || true
  as_pg mkdir -p "$work/out"
  as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/pgdata" init >/dev/null
  if [[ -n $base ]]; then
    rm -rf "$work/base-repo" "$work/base-sign-key"
    as_pg "$base" --config "$work/base.conf" --pgdata "$work/pgdata" init >/dev/null
  fi
}
# rounds interleave the methods, so that drifting load on a shared machine
# affects all of them alike
declare -A times result
for r in $(seq 1 "$ROUNDS"); do
  for m in "${methods[@]}"; do times[$m]="${times[$m]:-} $(round "$m")"; done
done
for m in "${methods[@]}"; do
  median=$(printf '%s\n' ${times[$m]} | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
  result[$m]=$median
  printf '%-11s %7.1f ms/segment   (rounds:%s us)\n' "$m" "$(echo "$median / 1000" | bc -l)" "${times[$m]}"
done

echo
echo "walden / pgbackrest = $(ratio "${result[walden]}" "${result[pgbackrest]}")   (target <= 0.75)"
echo "walden / naive      = $(ratio "${result[walden]}" "${result[naive]}")   (target <= 1.10)"
[[ -z $base ]] || echo "walden / base       = $(ratio "${result[walden]}" "${result[base]}")   (a change is no slower: <= 1.00 within the noise)"

echo
echo "== peak memory of one push (max RSS)"
reset_targets
s=${segs[0]}
w=$( { as_pg /usr/bin/time -f %M sh -c "${cmd[walden]//SEG/$s}"; } 2>&1 | tail -1)
p=$( { as_pg /usr/bin/time -f %M sh -c "${cmd[pgbackrest]//SEG/$s}"; } 2>&1 | tail -1)
echo "walden ${w} KiB, pgbackrest ${p} KiB"
