#!/usr/bin/env bash
# Benchmark: walden's peak memory with many files and a long chain.
# A cluster of about FILES files (default 100,000: tables with a TOAST
# table and its index, three files each, plus what initdb makes), a full
# backup, then CHAIN
# (default 30) incrementals, each after a few rows of TOUCH (default 200)
# tables changed; then a restore of the last one (its whole chain). Printed:
# time and peak RSS of the full, of every tenth incr and of the restore,
# the file count, and the incrs' stored sizes. Local repository, zstd,
# encryption on, process-max 2.
# Usage (as root, Debian 12): scripts/bench/chain_memory.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${FILES:-100000}
CHAIN=${CHAIN:-30}
TOUCH=${TOUCH:-200}

source scripts/bench/lib.sh
PORT=55496

bench_tools
printf 'start-fast = yes\nexpire-auto = no\n' >>"$work/walden.conf"
W=("${WALDEN[@]}")

as_pg mkdir -p "$work/sock"
as_pg "$bindir/initdb" -D "$work/pgdata" -A trust -U postgres >/dev/null
cat >>"$work/pgdata/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/sock'
port = $PORT
archive_mode = on
archive_command = '$walden --config $work/walden.conf archive-push %p'
max_locks_per_transaction = 1024
fsync = off
CONF
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/pg.log" -w start >/dev/null
as_pg "${W[@]}" init >/dev/null
psql=(as_pg psql -h "$work/sock" -p $PORT -U postgres -XAtq -v ON_ERROR_STOP=1 postgres)
have=$(find "$work/pgdata" -type f | wc -l)
tables=$(((FILES - have) / 3))
for ((i = 0; i < tables; i += 2000)); do
  "${psql[@]}" -c "DO \$\$ BEGIN FOR i IN $i..$((i + 1999 < tables - 1 ? i + 1999 : tables - 1)) LOOP
      EXECUTE format('CREATE TABLE t%s (v text)', i);
    END LOOP; END \$\$"
done
"${psql[@]}" -c "CHECKPOINT"
echo "walden $("$walden" --version | head -1), $(nproc) cores"
echo "files in the data directory: $(find "$work/pgdata" -type f | wc -l)"

out=$(timed walden "${W[@]}" backup --type full)
echo "full: ${out% *} s, peak RSS ${out#* } KiB"
for r in $(seq 1 "$CHAIN"); do
  "${psql[@]}" -c "DO \$\$ BEGIN FOR i IN 0..$((TOUCH - 1)) LOOP
      EXECUTE format('INSERT INTO t%s VALUES (%L)', (i * 7919 + $r * 104729) % $tables, 'round $r');
    END LOOP; END \$\$"
  out=$(timed walden "${W[@]}" backup --type incr)
  line=$(grep '^backup ' "$work/cmd.out")
  ((r % 10)) || echo "incr $r: ${out% *} s, peak RSS ${out#* } KiB: $line"
done
rm -rf "$work/restore"
out=$(timed walden "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore)
echo "restore of the full + $CHAIN incr chain: ${out% *} s, peak RSS ${out#* } KiB"
echo "restored files: $(find "$work/restore" -type f | wc -l)"
rm -rf "$work/restore"
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
