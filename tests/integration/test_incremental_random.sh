#!/usr/bin/env bash
# label: slow
# Randomized chains against a real PostgreSQL 15: a seeded random workload
# (inserts, updates (some growing rows), deletes, TRUNCATE, new tables
# logged or not, DROP, VACUUM (FULL, FREEZE), CREATE INDEX, COPY of wide
# rows (TOAST), SET TABLESPACE, SET LOGGED/UNLOGGED, CREATE/DROP DATABASE,
# reads that set hint bits, CHECKPOINT) runs between backups into
# repository A: mostly --type incr, sometimes diff, sometimes a new full.
# Right after each, writes paused, a --type full of the same moment goes
# into repository B (the server archives into both). Both are restored
# (--type immediate) and must hold the same relation files (before they
# start) and the same tables (every permanent table's rows in ctid order, in
# every database), the same as the server; amcheck passes on both.
# ROUNDS (default 12) rounds; SEED replays a run (autovacuum is off);
# FULL_EVERY=N restores B's full only every Nth round (the chain is
# restored every round).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/chain.sh"

ROUNDS=${ROUNDS:-12}
FULL_EVERY=${FULL_EVERY:-1}
SEED=${SEED:-$(($(date +%s%N) % 1000000))}
ROUND=0
echo "seed $SEED: replay with SEED=$SEED ROUNDS=$ROUNDS"
fail() {
  echo "FAIL: $TEST_NAME (SEED=$SEED, round $ROUND of $ROUNDS): $*" >&2
  exit 1
}

PRIMARY=$T/primary
PORT=$(next_port)
PORT2=$(next_port)
PORT3=$(next_port)
for r in a b; do
  write_conf "$T/$r.conf" "repo=$T/repo-$r" "lock-path=$T/locks" "pguser=postgres" \
    "process-max=2" "expire-auto=no" "pghost=$T/sock" "pgport=$PORT" "pgdata=$PRIMARY"
done
archiving_primary "$PRIMARY" "$PORT" "$T/a.conf"
walden "$T/b.conf" init >/dev/null || fail "walden init of repository b failed"
archive_to_both "$PORT" "$T/a.conf" "$T/b.conf"
# no autovacuum: where rows land, so which rows random() picks, depends on
# nothing but the seed (the workload runs VACUUM itself)
psql_c "$PORT" "ALTER SYSTEM SET autovacuum = off"
psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
as_pg mkdir "$T/ts1"
psql_c "$PORT" "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
ts_oid=$(psql_c "$PORT" "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")

# rnd N: a number in [0, N), from a generator seeded with SEED whose state
# is kept in a file: bash seeds $RANDOM anew in every $(...), so a run
# driven by it could not be replayed
echo "$SEED" >"$T/.rng"
rnd() {
  local s
  read -r s <"$T/.rng"
  s=$(((s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff))
  echo "$s" >"$T/.rng"
  echo $(((s >> 33) % $1))
}
# run DB SQL: SQL in database DB, random() seeded from the workload's seed
run() { psql_db "$PORT" "$1" <<<"SELECT setseed(0.$(rnd 32768)); $2" >/dev/null; }
TABLES=() # "DB.TABLE", permanent or unlogged
DBS=()
NEXT=1    # the next table number
NEXT_ID=1 # the next row id
new_table() {
  local db=${1:-postgres} t opts=''
  t=t$NEXT
  NEXT=$((NEXT + 1))
  [[ $(rnd 6) -ne 0 ]] || opts=UNLOGGED
  local ts=''
  [[ $(rnd 4) -ne 0 ]] || ts='TABLESPACE ts1'
  run "$db" "CREATE $opts TABLE $t(id bigint, n int, v text) $ts"
  TABLES+=("$db.$t")
  insert_rows "$db.$t" $(($(rnd 3000) + 100))
}
insert_rows() {
  local db=${1%%.*} t=${1#*.} n=$2
  run "$db" "INSERT INTO $t SELECT g, (random() * 1000)::int, md5(random()::text)
             FROM generate_series($NEXT_ID, $((NEXT_ID + n - 1))) g"
  NEXT_ID=$((NEXT_ID + n))
}
# copy_wide DB.TABLE N: COPY of N rows of 1 to 7 KiB of random hex (TOASTed)
copy_wide() {
  local db=${1%%.*} t=${1#*.} n=$2
  {
    echo "COPY $t (id, n, v) FROM STDIN;"
    awk -v seed="$(rnd 32768)" -v a="$NEXT_ID" -v b="$((NEXT_ID + n - 1))" 'BEGIN {
      srand(seed)
      for (i = a; i <= b; i++) {
        s = ""; len = int(rand() * 6144) + 1024
        for (j = 0; j < len; j += 8) s = s sprintf("%08x", int(rand() * 4294967295))
        printf "%d\t%d\t%s\n", i, i % 97, s
      }
    }'
    echo '\.'
  } | psql_db "$PORT" "$db" >/dev/null
  NEXT_ID=$((NEXT_ID + n))
}
# one_op: one random operation of the workload
one_op() {
  local i tbl db t op
  [[ ${#TABLES[@]} -gt 0 ]] || new_table
  i=$(rnd ${#TABLES[@]})
  tbl=${TABLES[$i]}
  db=${tbl%%.*}
  t=${tbl#*.}
  op=$(rnd 100)
  if ((op < 18)); then insert_rows "$tbl" $(($(rnd 4000) + 1))
  elif ((op < 27)); then run "$db" "UPDATE $t SET n = n + 1, v = md5(v) WHERE random() < 0.$(rnd 5)$(rnd 10)"
  elif ((op < 32)); then run "$db" "UPDATE $t SET v = v || md5(v) WHERE random() < 0.0$(rnd 10)"
  elif ((op < 40)); then run "$db" "DELETE FROM $t WHERE random() < 0.$(rnd 6)$(rnd 10)"
  elif ((op < 42)); then run "$db" "TRUNCATE $t"
  elif ((op < 52)); then
    if [[ ${#DBS[@]} -gt 0 && $(rnd 3) -eq 0 ]]; then new_table "${DBS[$(rnd ${#DBS[@]})]}"; else new_table; fi
  elif ((op < 55)); then
    run "$db" "DROP TABLE $t"
    TABLES=("${TABLES[@]:0:i}" "${TABLES[@]:i+1}")
  elif ((op < 63)); then
    case $(rnd 4) in
      0) run "$db" "VACUUM FULL $t" ;;
      1) run "$db" "VACUUM FREEZE $t" ;;
      *) run "$db" "VACUUM $t" ;;
    esac
  elif ((op < 68)); then
    case $(rnd 3) in
      0) run "$db" "CREATE INDEX ON $t (n)" ;;
      1) run "$db" "CREATE INDEX ON $t (id)" ;;
      *) run "$db" "CREATE INDEX ON $t (md5(v))" ;;
    esac
  elif ((op < 74)); then copy_wide "$tbl" $(($(rnd 300) + 1))
  elif ((op < 78)); then
    if [[ $(rnd 2) -eq 0 ]]; then run "$db" "ALTER TABLE $t SET TABLESPACE ts1"
    else run "$db" "ALTER TABLE $t SET TABLESPACE pg_default"; fi
  elif ((op < 81)); then
    if [[ $(rnd 2) -eq 0 ]]; then run "$db" "ALTER TABLE $t SET LOGGED"
    else run "$db" "ALTER TABLE $t SET UNLOGGED"; fi
  elif ((op < 83)); then
    if [[ ${#DBS[@]} -lt 2 ]]; then
      local d=d$NEXT strategy=WAL_LOG
      NEXT=$((NEXT + 1))
      [[ $(rnd 2) -eq 0 ]] || strategy=FILE_COPY
      run postgres "CREATE DATABASE $d STRATEGY $strategy"
      DBS+=("$d")
      new_table "$d"
    else
      local j=$(($(rnd ${#DBS[@]}))) kept=()
      run postgres "DROP DATABASE ${DBS[$j]}"
      for tbl in "${TABLES[@]}"; do [[ ${tbl%%.*} == "${DBS[$j]}" ]] || kept+=("$tbl"); done
      TABLES=("${kept[@]}")
      DBS=("${DBS[@]:0:j}" "${DBS[@]:j+1}")
    fi
  elif ((op < 93)); then run "$db" "SELECT count(*) FROM $t WHERE v <> ''"
  else run postgres "CHECKPOINT"; fi
}

for _ in 1 2 3 4 5; do new_table; done
declare -A TYPES=([full]=0 [diff]=0 [incr]=0)
longest=0
compared=0
start=$SECONDS
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  for ((k = $(rnd 12) + 8; k > 0; k--)); do one_op; done
  case $(rnd 10) in
    0) type=full ;;
    1 | 2) type="diff" ;;
    *) type=incr ;;
  esac
  X=$(take_backup "$T/a.conf" "$type")
  Y=$(take_backup "$T/b.conf" full)
  db_checksums "$PORT" >"$T/want.sums"
  got_type=$(backup_field "$T/a.conf" "$X" type)
  chain=$(backup_field "$T/a.conf" "$X" chain)
  n=$(tr ',' '\n' <<<"$chain" | grep -c .)
  ((n <= longest)) || longest=$n
  TYPES[$got_type]=$((TYPES[$got_type] + 1))
  what="round $ROUND: $got_type $X (chain $chain)"
  full=$((ROUND % FULL_EVERY == 0 || ROUND == ROUNDS))
  restore_set chain "$X" "$T/a.conf" --tablespace-map "$ts_oid=$T/ts-chain"
  same_files "$what against the server" "$PRIMARY" "$T/r-chain"
  if ((full)); then
    restore_set full "$Y" "$T/b.conf" --tablespace-map "$ts_oid=$T/ts-full"
    same_files "$what against full $Y" "$T/r-full" "$T/r-chain"
  fi
  start_restored chain "$PORT2"
  same_tables "$what against the server" "$T/want.sums" "$PORT2"
  amcheck_all "$PORT2" "$what" >/dev/null
  if ((full)); then
    start_restored full "$PORT3"
    db_checksums "$PORT3" >"$T/full.sums"
    same_tables "$what against full $Y" "$T/full.sums" "$PORT2"
    amcheck_all "$PORT3" "round $ROUND: full $Y" >/dev/null
    compared=$((compared + 1))
    drop_server "$T/r-full"
    rm -rf "$T/ts-full"
  fi
  echo "round $ROUND: asked $type, took $got_type $X (chain of $n), $(grep -vc '|(relations)|' "$T/want.sums") tables in $((${#DBS[@]} + 2)) databases equal"
  drop_server "$T/r-chain"
  rm -rf "$T/ts-chain"
done
pass "$ROUNDS rounds (seed $SEED) in $((SECONDS - start)) s: ${TYPES[full]} full, ${TYPES[diff]} diff, ${TYPES[incr]} incr backups, longest chain $longest; each restored equals the server (relation files, tables), $compared compared with a full of the same moment; amcheck passed on all"
pg_stop "$PRIMARY"
finish
