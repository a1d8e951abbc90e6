#!/usr/bin/env bash
# Benchmark: restore of a full backup at several sizes (pgbench scale 5, 50
# and 100 by default), walden against pgBackRest (Debian package) in one
# run, both at process-max 2, zstd level 3, encryption on. Per scale: a new
# cluster, one full backup by each tool (not timed), then ROUNDS rounds of
# restores into an empty directory, each from a dropped page cache, the
# order of the tools turning round by round (with ROUNDS a multiple of the
# number of tools, each goes first as often as the others). Medians are
# reported with the ratio walden / pgBackRest (target <= 0.70 at each
# size), and the load average before and after each scale (the machine may
# be shared).
# WALDEN_BASE_REV=REV adds walden as built from git revision REV ("base")
# to every round, and the ratio walden / base.
# Usage (as root, Debian 12): scripts/bench/restore_sizes.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALES=${SCALES:-5 50 100}
ROUNDS=${ROUNDS:-3}

source scripts/bench/lib.sh
PORT=55496
bench_tools

# time_restore TOOL: restores the tool's newest backup into $work/restore
# from a dropped page cache; prints the seconds
time_restore() {
  local out
  rm -rf "$work/restore"
  case $1 in
    walden) out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore) ;;
    base) out=$(timed base "$base" --config "$work/base.conf" --pgdata "$work/restore" restore) ;;
    pgbackrest) out=$(timed pgbackrest "${PGBR[@]}" --pg1-path="$work/restore" restore) ;;
  esac
  rm -rf "$work/restore"
  echo "${out% *}"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

run_scale() {
  local scale=$1
  echo
  echo "== pgbench scale $scale"
  bench_cluster
  as_pg "$bindir/pgbench" -h "$work/sock" -p $PORT -U postgres -i -s "$scale" -q postgres \
    >/dev/null 2>&1
  as_pg psql -h "$work/sock" -p $PORT -U postgres -XAtq -c CHECKPOINT postgres
  echo "data directory: $(du -sm --exclude=pg_wal "$work/pgdata" | cut -f1) MB," \
    "$(find "$work/pgdata" -type f -not -path '*/pg_wal/*' | wc -l) files (without pg_wal)"
  as_pg "${WALDEN[@]}" backup >/dev/null
  as_pg "${PGBR[@]}" backup --type=full >/dev/null
  [[ -z $base ]] || as_pg "${BASE[@]}" backup >/dev/null
  local tools=(walden pgbackrest) t
  [[ -z $base ]] || tools+=(base)
  declare -A times=()
  echo "load average before: $(load)"
  for r in $(seq 1 "$ROUNDS"); do
    local order=() line="round $r:"
    for i in "${!tools[@]}"; do
      order+=("${tools[$(((i + r - 1) % ${#tools[@]}))]}")
    done
    for t in "${order[@]}"; do
      local s
      s=$(time_restore "$t")
      times[$t]+="$s "
      line+=" $t $s s,"
    done
    echo "${line%,}"
  done
  echo "load average after: $(load)"
  local W P
  # shellcheck disable=SC2086 # the rounds' times, one word each
  W=$(median ${times[walden]}) P=$(median ${times[pgbackrest]})
  echo "scale $scale restore: walden $W s, pgbackrest $P s: ratio $(ratio "$W" "$P") (target <= 0.70)"
  if [[ -n $base ]]; then
    local B
    # shellcheck disable=SC2086
    B=$(median ${times[base]})
    echo "scale $scale base: $B s (ratio to pgbackrest $(ratio "$B" "$P")): walden / base = $(ratio "$W" "$B")"
  fi
  as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
}

echo "walden $("$walden" --version | head -1), $(pgbackrest version), $(nproc) cores"
for s in $SCALES; do run_scale "$s"; done
