#!/usr/bin/env bash
# Benchmark: a logical dump of the pgbench database, walden dump against
# pg_dump -Fc (its built-in compression, gzip level 6 by default) and
# pg_dump -Fp | gzip, in one run. walden runs pg_dump -Fc -Z0 and streams it
# through zstd (compress-level, default 3) and AES-256-GCM into a local
# repository; its time includes the globals dump it takes as well. Each
# tool runs ROUNDS times, alternating, each from a dropped page cache;
# medians of wall time and output size are reported, with walden's ratios.
# A fourth arm, `pg_dump -Fc -Z0 | cat >/dev/null`, is the stream walden
# reads with nothing done to it: the floor of any tool built on pg_dump,
# printed as a ratio to pg_dump -Fc beside walden's.
# Usage (as root, Debian 12): scripts/bench/dump.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${SCALE:-100}
ROUNDS=${ROUNDS:-3}
LEVEL=${LEVEL:-3}

source scripts/bench/lib.sh
PORT=55497

head -c 24 /dev/urandom | base64 >"$work/pass"
cat >"$work/walden.conf" <<CONF
repo = $work/walden-repo
compress = zstd
compress-level = $LEVEL
encrypt-passphrase-file = $work/pass
sign-key-file = $work/%c.sign-key
pghost = $work/sock
pgport = $PORT
pguser = postgres
lock-path = $work/locks
CONF
chown postgres: "$work/walden.conf" "$work/pass"
chmod 0600 "$work/walden.conf" "$work/pass"

as_pg "$bindir/initdb" -D "$work/pgdata" -A trust -U postgres --no-sync >/dev/null
as_pg mkdir "$work/sock"
cat >>"$work/pgdata/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/sock'
port = $PORT
shared_buffers = 256MB
CONF
as_pg "$bindir/pg_ctl" -D "$work/pgdata" -l "$work/pg.log" -w start >/dev/null
as_pg "$bindir/createdb" -h "$work/sock" -p $PORT -U postgres bench
echo "pgbench -i -s $SCALE ..."
as_pg "$bindir/pgbench" -h "$work/sock" -p $PORT -U postgres -i -s "$SCALE" -q bench >/dev/null 2>&1
as_pg "$bindir/psql" -h "$work/sock" -p $PORT -U postgres -d bench -XAtqc "VACUUM ANALYZE" >/dev/null
dbsize=$(as_pg "$bindir/psql" -h "$work/sock" -p $PORT -U postgres -d bench -XAtqc \
  "SELECT pg_database_size('bench')")
as_pg "$walden" --config "$work/walden.conf" --pgdata "$work/pgdata" init >/dev/null

# timed CMD...: runs `bash -c CMD` as postgres from a dropped page cache;
# prints "seconds maxrss_kib".
timed() {
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  as_pg /usr/bin/time -f '%e %M' -o "$work/time.out" bash -c "$1" >"$work/cmd.out" 2>&1 ||
    { cat "$work/cmd.out" >&2; exit 1; }
  cat "$work/time.out"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

conn="-h $work/sock -p $PORT -U postgres"
declare -a t_fc t_gz t_w t_z0 s_fc s_gz s_w r_w
for round in $(seq 1 "$ROUNDS"); do
  read -r t _ < <(timed "$bindir/pg_dump $conn -Fc -f $work/bench.fc bench")
  t_fc+=("$t")
  s_fc+=("$(stat -c %s "$work/bench.fc")")
  rm -f "$work/bench.fc"
  read -r t _ < <(timed "$bindir/pg_dump $conn -Fp bench | gzip >$work/bench.sql.gz")
  t_gz+=("$t")
  s_gz+=("$(stat -c %s "$work/bench.sql.gz")")
  rm -f "$work/bench.sql.gz"
  read -r t _ < <(timed "$bindir/pg_dump $conn -Fc -Z0 bench | cat >/dev/null")
  t_z0+=("$t")
  read -r t rss < <(timed "$walden --config $work/walden.conf dump --dbname bench")
  t_w+=("$t")
  r_w+=("$rss")
  f=$(ls -t "$work"/walden-repo/main/dump/*-bench/dump.pgdump.zst | head -1)
  s_w+=("$(stat -c %s "$f")")
  echo "round $round: pg_dump -Fc ${t_fc[-1]} s ${s_fc[-1]} B; pg_dump|gzip ${t_gz[-1]} s" \
    "${s_gz[-1]} B; pg_dump -Z0|cat ${t_z0[-1]} s; walden ${t_w[-1]} s ${s_w[-1]} B (RSS ${rss} KiB)"
done

mfc=$(median "${t_fc[@]}") mgz=$(median "${t_gz[@]}") mw=$(median "${t_w[@]}")
mz0=$(median "${t_z0[@]}")
sfc=$(median "${s_fc[@]}") sgz=$(median "${s_gz[@]}") sw=$(median "${s_w[@]}")
echo
echo "pgbench scale $SCALE, database $((dbsize / 1000000)) MB, medians of $ROUNDS rounds"
printf '%-34s %8s %12s\n' "" "time s" "size MB"
printf '%-34s %8s %12s\n' "pg_dump -Fc" "$mfc" "$(echo "scale=1; $sfc / 1000000" | bc)"
printf '%-34s %8s %12s\n' "pg_dump -Fp | gzip" "$mgz" "$(echo "scale=1; $sgz / 1000000" | bc)"
printf '%-34s %8s %12s\n' "pg_dump -Fc -Z0 | cat (floor)" "$mz0" "-"
printf '%-34s %8s %12s\n' "walden dump (zstd $LEVEL, encrypted)" "$mw" "$(echo "scale=1; $sw / 1000000" | bc)"
echo "walden / pg_dump -Fc: time $(ratio "$mw" "$mfc"), size $(ratio "$sw" "$sfc")"
echo "floor / pg_dump -Fc: time $(ratio "$mz0" "$mfc")"
echo "walden / pg_dump | gzip: time $(ratio "$mw" "$mgz"), size $(ratio "$sw" "$sgz")"
echo "walden peak RSS: $(median "${r_w[@]}") KiB"
