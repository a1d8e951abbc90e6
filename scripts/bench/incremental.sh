#!/usr/bin/env bash
# Benchmark: incremental backups and the restore of a chain, walden against
# pgBackRest (Debian package), in one run, both at process-max 2, zstd
# level 3, encryption on, immediate checkpoint.
#   pgbench -i -s SCALE (default 100, about 1.5 GB), then a full backup with
#   each tool; then ROUNDS (default 6) times: 1% of pgbench_accounts' rows
#   updated, spread over the table as 100 runs of 1,000 consecutive rows (a
#   different 1% each round), CHECKPOINT, an incr with each tool (the order
#   alternates).
# Printed: each incr's time and stored size (walden: its folder; pgBackRest:
# its backup's folder), walden's incr stored size against its full, the
# time ratio, then the restore of the last incr (its whole chain) with each
# tool and walden's restore of the full, each from a dropped page cache,
# the order alternating over RESTORES (default 3) rounds; medians and peak RSS.
# Usage (as root, Debian 12): scripts/bench/incremental.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${SCALE:-100}
ROUNDS=${ROUNDS:-6}
RESTORES=${RESTORES:-3}

source scripts/bench/lib.sh
PORT=55497

bench_tools
# every backup with an immediate checkpoint, as pgBackRest's start-fast; no
# expire between the backups
printf 'start-fast = yes\nexpire-auto = no\n' >>"$work/walden.conf"
# kib DIR: the bytes of the files under DIR (not the folders' blocks), KiB
kib() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s / 1024}'; }
# newest DIR MARK: the backup folder made after MARK (names start with a digit)
newest() {
  find "$1" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' -newer "$2" -printf '%T@ %p\n' |
    sort -n | tail -1 | cut -d' ' -f2
}

bench_cluster
psql=(as_pg psql -h "$work/sock" -p $PORT -U postgres -XAtq -v ON_ERROR_STOP=1 postgres)
as_pg "$bindir/pgbench" -h "$work/sock" -p $PORT -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
"${psql[@]}" -c "CHECKPOINT"
echo "walden $("$walden" --version | head -1), $(pgbackrest version), $(nproc) cores"
echo "data directory: $(du -sm --exclude=pg_wal "$work/pgdata" | cut -f1) MB (without pg_wal), pgbench scale $SCALE"

touch "$work/mark"
out=$(timed walden "${WALDEN[@]}" backup --type full)
wfull=$(newest "$work/walden-repo/main/backup" "$work/mark")
echo "full: walden ${out% *} s, $(kib "$wfull") KiB stored"
touch "$work/mark"
out=$(timed pgbackrest "${PGBR[@]}" backup --type=full)
echo "full: pgbackrest ${out% *} s, $(kib "$(newest "$work/pgbr-repo/backup/bench" "$work/mark")") KiB stored"
rows=$(("$SCALE" * 100000))
wi=() pi=() ws=() ps=()
for r in $(seq 1 "$ROUNDS"); do
  # 1%: 100 runs of rows/10,000 consecutive rows, shifted every round
  "${psql[@]}" -c "UPDATE pgbench_accounts SET abalance = abalance + 1
                   WHERE (aid + $r * 3000) % ($rows / 100) < $rows / 10000"
  "${psql[@]}" -c "CHECKPOINT"
  order=(walden pgbackrest)
  ((r % 2)) || order=(pgbackrest walden)
  for tool in "${order[@]}"; do
    touch "$work/mark"
    if [[ $tool == walden ]]; then
      out=$(timed walden "${WALDEN[@]}" backup --type incr)
      wi+=("${out% *}")
      ws+=("$(kib "$(newest "$work/walden-repo/main/backup" "$work/mark")")")
    else
      out=$(timed pgbackrest "${PGBR[@]}" backup --type=incr)
      pi+=("${out% *}")
      ps+=("$(kib "$(newest "$work/pgbr-repo/backup/bench" "$work/mark")")")
    fi
  done
  echo "incr $r: walden ${wi[-1]} s ${ws[-1]} KiB, pgbackrest ${pi[-1]} s ${ps[-1]} KiB"
done
WI=$(median "${wi[@]}") PI=$(median "${pi[@]}") WS=$(median "${ws[@]}") PS=$(median "${ps[@]}")
full_kib=$(kib "$wfull")
echo "incr (median of $ROUNDS): walden $WI s, pgbackrest $PI s: ratio $(ratio "$WI" "$PI") (target <= 0.50)"
echo "incr stored (median): walden $WS KiB = $(ratio "$((WS * 100))" "$full_kib") % of its full (target <= 5 %), pgbackrest $PS KiB"

full_id=$(basename "$wfull")
wc=() pc=() wf=() wcm=() pcm=() wfm=()
for r in $(seq 1 "$RESTORES"); do
  order=(chain pgbackrest full)
  ((r % 2)) || order=(full pgbackrest chain)
  for what in "${order[@]}"; do
    rm -rf "$work/restore"
    case $what in
      chain) out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore)
        wc+=("${out% *}") wcm+=("${out#* }") ;;
      full) out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore --set "$full_id")
        wf+=("${out% *}") wfm+=("${out#* }") ;;
      pgbackrest) out=$(timed pgbackrest "${PGBR[@]}" --pg1-path="$work/restore" restore)
        pc+=("${out% *}") pcm+=("${out#* }") ;;
    esac
  done
  echo "restore round $r: walden chain ${wc[-1]} s, walden full ${wf[-1]} s, pgbackrest chain ${pc[-1]} s"
done
rm -rf "$work/restore"
WC=$(median "${wc[@]}") PC=$(median "${pc[@]}") WF=$(median "${wf[@]}")
echo "restore of full + $ROUNDS incr: walden $WC s (peak RSS $(median "${wcm[@]}") KiB), pgbackrest $PC s (peak RSS $(median "${pcm[@]}") KiB): ratio $(ratio "$WC" "$PC") (target <= 0.70)"
echo "walden chain / walden full restore ($WF s, peak RSS $(median "${wfm[@]}") KiB): $(ratio "$WC" "$WF") (target <= 1.10)"
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
