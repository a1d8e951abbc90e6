#!/usr/bin/env bash
# Benchmark: incremental backups and the restore of a chain, walden against
# pgBackRest (Debian 12's package, 2.45: an incr stores every changed file
# whole) and, when it runs here, a newer pgBackRest with block incremental
# (Debian 13's, 2.55, repo-bundle and repo-block: an incr stores the changed
# blocks of a file; scripts/bench/lib.sh, bench_pgbr_block), in one run, all at
# process-max 2, zstd level 3, encryption on, immediate checkpoint.
#   pgbench -i -s SCALE (default 100, about 1.5 GB), then a full backup with
#   each tool; then ROUNDS (default 6) times: 1% of pgbench_accounts' rows
#   updated, spread over the table as 100 runs of 1,000 consecutive rows (a
#   different 1% each round), CHECKPOINT, an incr with each tool (the order
#   rotates from round to round).
# Printed: each incr's time and stored size (walden: its folder; pgBackRest:
# its backup's folder), walden's incr stored size against its full, the
# ratios of walden's time and size to each pgBackRest's, then the restore of
# the last incr (its whole chain) with each tool and walden's restore of a
# full of the same data (taken after the last incr, timed and sized but left
# out of the incr figures), each from a dropped page cache, the order rotating over RESTORES
# (default 3) rounds; medians, peak RSS and the ratios of walden's to each.
# PGBR_NEW=0 leaves the newer pgBackRest out, PGBR_NEW=1 requires it.
# Usage (as root, Debian 12): scripts/bench/incremental.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${SCALE:-100}
ROUNDS=${ROUNDS:-6}
RESTORES=${RESTORES:-3}

source scripts/bench/lib.sh
PORT=55497

bench_tools
bench_pgbr_block
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
# the tools: walden, pgbackrest (2.45, file-level incr), pgbackrest-block
tools=(walden pgbackrest)
((${#PGBRB[@]} == 0)) || tools+=(pgbackrest-block)
# backup TOOL TYPE: timed backup of TYPE (full, incr) with TOOL; sets out
# ("seconds maxrss") and stored (KiB of the backup's folder)
backup() {
  local dir
  touch "$work/mark"
  case $1 in
    walden) out=$(timed walden "${WALDEN[@]}" backup --type "$2")
      dir=$work/walden-repo/main/backup ;;
    pgbackrest) out=$(timed pgbackrest "${PGBR[@]}" backup --type="$2")
      dir=$work/pgbr-repo/backup/bench ;;
    pgbackrest-block) out=$(timed pgbackrest-block "${PGBRB[@]}" backup --type="$2")
      dir=$work/pgbrb-repo/backup/bench ;;
  esac
  last_backup=$(newest "$dir" "$work/mark")
  stored=$(kib "$last_backup")
}
# ratios WHAT TARGET MEDIANS KEY: "WHAT walden / TOOL: RATIO" for each
# pgBackRest, MEDIANS[KEY] (walden's) over MEDIANS[TOOL], with the target
# beside 2.45's
ratios() {
  local -n v=$3
  local tool target
  for tool in "${tools[@]:1}"; do
    target=
    [[ $tool != pgbackrest ]] || target=" (target <= $2)"
    echo "$1 walden / $tool: $(ratio "${v[$4]}" "${v[$tool]}")$target"
  done
}
# rotated N ITEM...: the items, starting at item N modulo their count
rotated() {
  local n=$1
  shift
  local items=("$@") i
  for i in "${!items[@]}"; do echo "${items[(i + n) % ${#items[@]}]}"; done
}

bench_cluster
psql=(as_pg psql -h "$work/sock" -p "$PORT" -U postgres -XAtq -v ON_ERROR_STOP=1 postgres)
as_pg "$bindir/pgbench" -h "$work/sock" -p $PORT -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
"${psql[@]}" -c "CHECKPOINT"
versions="$(pgbackrest version)"
((${#PGBRB[@]} == 0)) || versions+=" and $(as_pg "${PGBRB[0]}" version) (repo-block)"
echo "walden $("$walden" --version | head -1), $versions, $(nproc) cores"
echo "data directory: $(du -sm --exclude=pg_wal "$work/pgdata" | cut -f1) MB (without pg_wal), pgbench scale $SCALE"

for tool in "${tools[@]}"; do
  backup "$tool" full
  [[ $tool != walden ]] || wfull=$last_backup
  echo "full: $tool ${out% *} s, $stored KiB stored"
done
rows=$(("$SCALE" * 100000))
declare -A inc_s inc_k
for r in $(seq 1 "$ROUNDS"); do
  # 1%: 100 runs of rows/10,000 consecutive rows, shifted every round
  "${psql[@]}" -c "UPDATE pgbench_accounts SET abalance = abalance + 1
                   WHERE (aid + $r * 3000) % ($rows / 100) < $rows / 10000"
  "${psql[@]}" -c "CHECKPOINT"
  for tool in $(rotated $((r - 1)) "${tools[@]}"); do
    backup "$tool" incr
    [[ $tool != walden ]] || last_incr=$(basename "$last_backup")
    inc_s[$tool]+=" ${out% *}"
    inc_k[$tool]+=" $stored"
  done
  line=
  for tool in "${tools[@]}"; do
    # shellcheck disable=SC2206 # the lists are numbers
    s=(${inc_s[$tool]}) k=(${inc_k[$tool]})
    line+="${line:+, }$tool ${s[-1]} s ${k[-1]} KiB"
  done
  echo "incr $r: $line"
done
declare -A IS IK
for tool in "${tools[@]}"; do
  # shellcheck disable=SC2086 # the lists are numbers
  IS[$tool]=$(median ${inc_s[$tool]}) IK[$tool]=$(median ${inc_k[$tool]})
done
full_kib=$(kib "$wfull")
line='' sline=''
for tool in "${tools[@]}"; do
  line+="${line:+, }$tool ${IS[$tool]} s"
  [[ $tool == walden ]] || sline+=", $tool ${IK[$tool]} KiB (walden / $tool $(ratio "${IK[walden]}" "${IK[$tool]}"))"
done
echo "incr (median of $ROUNDS): $line"
ratios "incr time" 0.50 IS walden
echo "incr stored (median): walden ${IK[walden]} KiB = $(ratio "$((IK[walden] * 100))" "$full_kib") % of its full (target <= 5 %)$sline"

# the full that walden's chain restore is compared with holds the same data:
# a full taken now, after the last incr, with no write in between (the
# chain's restore writes the table as it grew over the rounds; the first
# full's is smaller)
backup walden full
same_full=$(basename "$last_backup")
echo "full of the same data as the last incr: walden ${out% *} s, $stored KiB stored"
declare -A res_s res_m
for r in $(seq 1 "$RESTORES"); do
  line=
  for what in $(rotated $((r - 1)) chain "${tools[@]:1}" full); do
    rm -rf "$work/restore"
    case $what in
      chain) out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore --set "$last_incr") ;;
      full) out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore --set "$same_full") ;;
      pgbackrest) out=$(timed pgbackrest "${PGBR[@]}" --pg1-path="$work/restore" restore) ;;
      pgbackrest-block) out=$(timed pgbackrest-block "${PGBRB[@]}" --pg1-path="$work/restore" restore) ;;
    esac
    res_s[$what]+=" ${out% *}"
    res_m[$what]+=" ${out#* }"
    line+="${line:+, }$what ${out% *} s"
  done
  echo "restore round $r: $line"
done
rm -rf "$work/restore"
declare -A RS RM
for what in "${!res_s[@]}"; do
  # shellcheck disable=SC2086 # the lists are numbers
  RS[$what]=$(median ${res_s[$what]}) RM[$what]=$(median ${res_m[$what]})
done
line=
for tool in "${tools[@]:1}"; do
  line+=", $tool ${RS[$tool]} s (peak RSS ${RM[$tool]} KiB)"
done
echo "restore of full + $ROUNDS incr: walden ${RS[chain]} s (peak RSS ${RM[chain]} KiB)$line"
ratios "restore of the chain" 0.70 RS chain
echo "walden chain / walden full restore of the same data (${RS[full]} s, peak RSS ${RM[full]} KiB): $(ratio "${RS[chain]}" "${RS[full]}") (target <= 1.10)"
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
