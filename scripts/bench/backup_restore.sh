#!/usr/bin/env bash
# Benchmark: full backup and restore of the same cluster, walden against
# pgBackRest (Debian package), in one run, both at process-max 2, zstd
# level 3, encryption on, immediate checkpoint. Two data sets:
#   pgbench   pgbench -i -s SCALE (default 100, about 1.6 GB; compresses ~19:1)
#   mixed     random text and numeric columns (default about 1 GB; ~3:1)
# For each: wall time and peak RSS of each tool's backup and restore, the
# ratios, and `zstd -3 -T2` over a tar of the data directory as the
# compression limit of the machine. Backups and restores alternate between
# the tools for ROUNDS rounds, each from a dropped page cache; medians are
# reported.
# WALDEN_BASE_REV=REV adds walden as built from git revision REV ("base",
# its own repository, WAL pushed to it too), and the ratios walden / base.
# Usage (as root, Debian 12): scripts/bench/backup_restore.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${SCALE:-100}
MIXED_ROWS=${MIXED_ROWS:-6000000}
ROUNDS=${ROUNDS:-3}
DATASETS=${DATASETS:-pgbench mixed}

source scripts/bench/lib.sh
PORT=55498

bench_tools $PORT

run_dataset() {
  local ds=$1
  echo
  echo "== data set: $ds"
  bench_cluster $PORT
  local psql=(as_pg psql -h "$work/sock" -p $PORT -U postgres -XAtq -v ON_ERROR_STOP=1 postgres)
  if [[ $ds == pgbench ]]; then
    as_pg "$bindir/pgbench" -h "$work/sock" -p $PORT -U postgres -i -s "$SCALE" -q postgres \
      >/dev/null 2>&1
  else
    "${psql[@]}" -c "CREATE TABLE mixed AS SELECT g AS id,
        md5(random()::text) || ' ' || substr(md5(random()::text), 1, (random() * 32)::int) AS label,
        round((random() * 1000000)::numeric, 2) AS amount,
        (random() * 100000)::int AS qty,
        now() - random() * interval '1000 days' AS at,
        CASE WHEN random() < 0.5 THEN 'pending' ELSE 'shipped' END AS state
      FROM generate_series(1, $MIXED_ROWS) g"
    "${psql[@]}" -c "CREATE INDEX ON mixed (id)"
  fi
  "${psql[@]}" -c "CHECKPOINT"
  local size
  size=$(du -sm --exclude=pg_wal "$work/pgdata" | cut -f1)
  echo "data directory: ${size} MB (without pg_wal)"

  local t0 t1
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(date +%s.%N)
  tar -C "$work/pgdata" --exclude=./pg_wal -cf - . 2>/dev/null | zstd -3 -T2 -q >"$work/tar.zst"
  t1=$(date +%s.%N)
  local zsize
  zsize=$(du -m "$work/tar.zst" | cut -f1)
  rm -f "$work/tar.zst"
  printf 'tar | zstd -3 -T2: %.2f s, %s MB (ratio %s:1)\n' "$(echo "$t1 - $t0" | bc -l)" \
    "$zsize" "$(echo "scale=1; $size / $zsize" | bc -l)"

  local wb=() pb=() wr=() pr=() wbm=() pbm=() wrm=() prm=() bb=() br=() out
  for r in $(seq 1 "$ROUNDS"); do
    sync
    out=$(timed walden "${WALDEN[@]}" backup)
    wb+=("${out% *}") wbm+=("${out#* }")
    sync
    out=$(timed pgbackrest "${PGBR[@]}" backup --type=full)
    pb+=("${out% *}") pbm+=("${out#* }")
    rm -rf "$work/restore"
    sync
    out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore)
    wr+=("${out% *}") wrm+=("${out#* }")
    rm -rf "$work/restore"
    sync
    out=$(timed pgbackrest "${PGBR[@]}" --pg1-path="$work/restore" restore)
    pr+=("${out% *}") prm+=("${out#* }")
    rm -rf "$work/restore"
    if [[ -n $base ]]; then
      sync
      out=$(timed base "${BASE[@]}" backup)
      bb+=("${out% *}")
      sync
      out=$(timed base "$base" --config "$work/base.conf" --pgdata "$work/restore" restore)
      br+=("${out% *}")
      rm -rf "$work/restore"
      echo "round $r: base backup ${bb[-1]} s, restore ${br[-1]} s"
    fi
    echo "round $r: backup walden ${wb[-1]} s, pgbackrest ${pb[-1]} s; restore walden ${wr[-1]} s, pgbackrest ${pr[-1]} s"
  done
  local wsz psz
  wsz=$(du -sm "$work/walden-repo/main/backup" | cut -f1)
  psz=$(du -sm "$work/pgbr-repo/backup" | cut -f1)
  local WB PB WR PR
  WB=$(median "${wb[@]}") PB=$(median "${pb[@]}") WR=$(median "${wr[@]}") PR=$(median "${pr[@]}")
  echo "backup : walden $WB s (peak RSS $(median "${wbm[@]}") KiB), pgbackrest $PB s (peak RSS $(median "${pbm[@]}") KiB): ratio $(ratio "$WB" "$PB") (target <= 0.50)"
  echo "restore: walden $WR s (peak RSS $(median "${wrm[@]}") KiB), pgbackrest $PR s (peak RSS $(median "${prm[@]}") KiB): ratio $(ratio "$WR" "$PR") (target <= 0.70)"
  echo "stored ($ROUNDS backups each): walden ${wsz} MB, pgbackrest ${psz} MB"
  if [[ -n $base ]]; then
    local BB BR
    BB=$(median "${bb[@]}") BR=$(median "${br[@]}")
    echo "base   : backup $BB s, restore $BR s: walden / base = $(ratio "$WB" "$BB") (backup), $(ratio "$WR" "$BR") (restore)"
  fi
  as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
}

echo "walden $("$walden" --version | head -1), $(pgbackrest version), $(nproc) cores"
for ds in $DATASETS; do run_dataset "$ds"; done
