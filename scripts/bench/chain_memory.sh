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

head -c 24 /dev/urandom | base64 >"$work/pass"
chown postgres: "$work/pass"
chmod 0600 "$work/pass"
cat >"$work/walden.conf" <<CONF
repo = $work/walden-repo
compress = zstd
encrypt-passphrase-file = $work/pass
sign-key-file = $work/%c.sign-key
process-max = 2
start-fast = yes
pghost = $work/sock
pgport = $PORT
pguser = postgres
lock-path = $work/locks
expire-auto = no
CONF
chown postgres: "$work/walden.conf"
chmod 0600 "$work/walden.conf"
W=("$walden" --config "$work/walden.conf" --pgdata "$work/pgdata")

# timed CMD...: as postgres, prints "seconds maxrss_kib"
timed() {
  as_pg /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>&1 ||
    { cat "$work/cmd.out" >&2; exit 1; }
  cat "$work/time.out"
}

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

out=$(timed "${W[@]}" backup --type full)
echo "full: ${out% *} s, peak RSS ${out#* } KiB"
for r in $(seq 1 "$CHAIN"); do
  "${psql[@]}" -c "DO \$\$ BEGIN FOR i IN 0..$((TOUCH - 1)) LOOP
      EXECUTE format('INSERT INTO t%s VALUES (%L)', (i * 7919 + $r * 104729) % $tables, 'round $r');
    END LOOP; END \$\$"
  out=$(timed "${W[@]}" backup --type incr)
  line=$(grep '^backup ' "$work/cmd.out")
  ((r % 10)) || echo "incr $r: ${out% *} s, peak RSS ${out#* } KiB: $line"
done
rm -rf "$work/restore"
out=$(timed "$walden" --config "$work/walden.conf" --pgdata "$work/restore" restore)
echo "restore of the full + $CHAIN incr chain: ${out% *} s, peak RSS ${out#* } KiB"
echo "restored files: $(find "$work/restore" -type f | wc -l)"
rm -rf "$work/restore"
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -m fast stop >/dev/null
