#!/usr/bin/env bash
# walden drill against a real PostgreSQL 15: a cluster with a tablespace and
# two databases archives into an encrypted repository and is backed up;
# marker rows are committed after the backup. Drills then:
#   - pass: the JSON report and the Prometheus file are parsed (strictly),
#     the recovered point is the last marker's commit, the record is listed
#     by --history; the scratch directory is gone and no server is left;
#   - run as root: the server runs as postgres;
#   - miss a 1 s RTO target: status 5;
#   - recover to a --target-time; fail when the WAL archive is missing;
#   - run under a scratch directory too deep for a socket path;
#   - fail a check-sql statement (SELECT false): status 4;
#   - are killed with SIGTERM during a check or during the restore: no
#     server, no scratch left;
#   - drill a logical dump (walden drill --dump);
#   - restore a backup with a corrupted file: status 4, nothing left.
source "$(dirname "$0")/lib.sh"
CHECK="python3 $(dirname "$0")/drill_check.py"

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres" "process-max=2"

INITDB_ARGS=-k archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"

as_pg mkdir "$T/ts1"
psql_c "$PORT" "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
psql_c "$PORT" "CREATE TABLE in_ts(id int primary key, v text) TABLESPACE ts1"
psql_c "$PORT" "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 2000) g"
psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"
psql_c "$PORT" "CREATE DATABASE app"
as_pg psql -h "$T/sock" -p "$PORT" -U postgres -d app -XAtq -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE big(id int primary key, doc text);
INSERT INTO big SELECT g, repeat(md5(g::text), 300) FROM generate_series(1, 300) g;
CREATE INDEX ON big (md5(doc));
SQL

walden "$T/walden.conf" --pgport "$PORT" --pgdata "$PRIMARY" backup >"$T/backup.out" ||
  fail "backup failed: $(cat "$T/backup.out")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
pass "backup $id taken"

psql_c "$PORT" "INSERT INTO marker VALUES (1, clock_timestamp())"
psql_c "$PORT" "INSERT INTO marker VALUES (2, clock_timestamp())"
sleep 0.3
target_time=$(psql_c "$PORT" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
# marker 2's own time: its commit is the last one before the target (the gap
# to the target depends on the machine's load, so it is not bounded here)
marker2_epoch=$(psql_c "$PORT" "SELECT extract(epoch FROM at) FROM marker WHERE id = 2")
sleep 0.3
psql_c "$PORT" "INSERT INTO marker VALUES (3, clock_timestamp())"
last_commit=$(psql_c "$PORT" "SELECT extract(epoch FROM max(at)) FROM marker")
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"

as_pg mkdir "$T/scr"
D() { walden "$T/walden.conf" --pgport "$PORT" --scratch-dir "$T/scr" drill "$@"; }
# no_leftovers DIR WHAT: no scratch directory in DIR, no server running on it
no_leftovers() {
  [[ -z $(ls -A "$1") ]] || fail "$2: scratch left behind: $(ls -A "$1")"
  if pgrep -f "$1/walden-drill" >/dev/null; then
    pgrep -af "$1/walden-drill" >&2
    fail "$2: a server is still running"
  fi
}

# ---- a drill that passes
cat >"$T/ok.sql" <<'SQL'
-- the markers committed after the backup are there
SELECT string_agg(id::text, ',' ORDER BY id) = '1,2,3' FROM marker;
SELECT true;
CREATE TEMP TABLE scratch_check AS SELECT 1 AS x;
SELECT 'not a boolean check';
SQL
chmod 0644 "$T/ok.sql"
expect_status 0 D --report "$T/report.json" --metrics-file "$T/drill.prom" --check-sql "$T/ok.sql"
cp "$T/stdout" "$T/pass.out"
cat "$T/pass.out"
grep -q "^drill .* of backup $id: PASSED" "$T/pass.out" || fail "no summary: $(cat "$T/pass.out")"
$CHECK report "$T/report.json" status backup_id rto_met rpo_met rpo_seconds last_transaction \
  started_at scratch_dir archiver.failed_count >"$T/report.kv" ||
  fail "report: $(cat "$T/report.json")"
grep -qx 'status="passed"' "$T/report.kv" || fail "report status: $(cat "$T/report.kv")"
grep -qx "backup_id=\"$id\"" "$T/report.kv" || fail "report backup_id: $(cat "$T/report.kv")"
grep -qx 'scratch_dir=null' "$T/report.kv" || fail "report scratch_dir: $(cat "$T/report.kv")"
grep -qx 'archiver.failed_count=0' "$T/report.kv" || fail "no archiver state: $(cat "$T/report.kv")"
pass "drill passed; the JSON report parses and has every key"
grep -q 'recovery \.\.\.\|restore: ' "$T/stdout" "$T/stderr" &&
  fail "drill progress printed when not on a terminal"
script -qec "$(printf '%q ' "${RUN_AS[@]}" "$WALDEN_BIN" --config "$T/walden.conf" \
  --pgport "$PORT" --scratch-dir "$T/scr" drill)" /dev/null >"$T/tty.out" ||
  fail "drill on a terminal failed: $(cat "$T/tty.out")"
grep -q 'restore: .*%\|recovery \.\.\. [0-9]* s' "$T/tty.out" ||
  fail "no drill progress on a terminal: $(cat "$T/tty.out")"
pass "drill shows its steps on a terminal only"

python3 - "$T/report.json" "$last_commit" <<'PY' || fail "report contents: $(cat "$T/report.json")"
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
last_commit = float(sys.argv[2])
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
# the recovered point is the last marker's commit (committed just after its
# clock_timestamp())
lt = ts(doc["last_transaction"])
assert -0.002 <= lt - last_commit < 2, (lt, last_commit)  # ms precision
# the RPO: 0 when the replay reached the WAL the source had flushed at the
# drill's start (proven by the two LSNs), else the time since the point
# recovered to
rpo = ts(doc["started_at"]) - ts(doc["recovered_to"])
lsn = lambda s: int(s.split("/")[0], 16) << 32 | int(s.split("/")[1], 16)
assert doc["replayed_lsn"] is not None, doc
if doc["source_lsn"] is not None and lsn(doc["replayed_lsn"]) >= lsn(doc["source_lsn"]):
    assert doc["rpo_seconds"] == 0, doc
else:
    assert abs(rpo - doc["rpo_seconds"]) < 0.01, (rpo, doc["rpo_seconds"])
assert 0 <= doc["rpo_seconds"] < 300, doc["rpo_seconds"]
phases = doc["phases"]
assert abs(sum(phases.values()) - doc["rto_seconds"]) < 0.01, (phases, doc["rto_seconds"])
assert phases["restore"] > 0 and phases["replay"] > 0, phases
assert doc["rto_target_seconds"] == 3600 and doc["rpo_target_seconds"] == 900
assert ts(doc["finished_at"]) >= ts(doc["started_at"]) + doc["rto_seconds"] - 0.01
checks = {(c["name"], c["database"]): c for c in doc["checks"]}
for db in ("postgres", "app", "template1"):
    assert checks[("connect", db)]["result"] == "pass", checks
    assert checks[("read", db)]["result"] == "pass", checks
assert checks[("amcheck", "app")]["result"] in ("pass", "skip"), checks
if checks[("amcheck", "app")]["result"] == "pass":
    assert "btree indexes checked" in checks[("amcheck", "app")]["detail"], checks
sql = [c for c in doc["checks"] if c["name"] == "sql"]
assert [c["result"] for c in sql] == ["pass"] * 4, sql
assert sql[0]["detail"] == "statement 1 returned true", sql
assert all(c["result"] != "fail" for c in doc["checks"])
PY
pass "report: RPO from the last replayed commit, phases sum to the RTO, every database checked"

$CHECK metrics "$T/drill.prom" >"$T/metrics.txt" || fail "metrics: $(cat "$T/drill.prom")"
promtool check metrics <"$T/drill.prom" >"$T/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$T/promtool.out")"
grep -qx 'walden_drill_success{cluster="main"} 1.0' "$T/metrics.txt" ||
  fail "metrics: $(cat "$T/metrics.txt")"
grep -q '^walden_drill_phase_seconds{cluster="main",phase="replay"} ' "$T/metrics.txt" ||
  fail "no replay phase: $(cat "$T/metrics.txt")"
grep -q '^walden_drill_rpo_seconds{cluster="main"} ' "$T/metrics.txt" || fail "no rpo metric"
ls "$T"/drill.prom.* 2>/dev/null && fail "a temporary metrics file was left behind"
pass "metrics file parses strictly: HELP and TYPE for every metric"
no_leftovers "$T/scr" "passing drill"
pass "after the drill: no scratch directory, no server"

# ---- as root: the server runs as postgres, the record still lands
if [[ $(id -u) -eq 0 ]]; then
  mkdir "$T/scr-root"
  chmod 0755 "$T/scr-root"
  expect_status 0 "$WALDEN_BIN" --config "$T/walden.conf" --scratch-dir "$T/scr-root" \
    --lock-path "$T/locks-root" --keep drill
  kept=$(ls -d "$T"/scr-root/walden-drill-main-*)
  [[ $(stat -c %U "$kept/pgdata") == postgres && $(stat -c %U "$kept/pgdata/PG_VERSION") == postgres ]] ||
    fail "the restored files do not belong to postgres"
  [[ $(stat -c %a "$kept") == 700 ]] || fail "scratch mode $(stat -c %a "$kept")"
  grep -q "kept: $kept" "$T/stdout" || fail "--keep not reported: $(cat "$T/stdout")"
  pgrep -f "$kept" >/dev/null && fail "the kept drill's server is still running"
  rm -rf "$kept"
  pass "as root: the server ran as postgres; --keep keeps the directory, not the server"
  # what root wrote in the repository (the drill record) belongs to the
  # repository's owner, so postgres reads it: info, metrics, drill --history
  root_rec=$(ls -t "$T"/repo/main/drill/*.info | head -1)
  [[ $(stat -c %U:%G "$root_rec") == postgres:postgres ]] ||
    fail "the record a drill as root wrote is $(stat -c '%U:%G %a' "$root_rec")"
  not_pg=$(find "$T/repo" \( ! -user postgres -o ! -group postgres \) -print | head -3)
  [[ -z $not_pg ]] || fail "not the repository owner's after a drill as root: $not_pg"
  n_hist=$(walden "$T/walden.conf" drill --history | grep -c '^20')
  expect_status 0 walden "$T/walden.conf" info
  expect_status 0 walden "$T/walden.conf" --pgport "$PORT" metrics
  pass "as root: the drill record is postgres:postgres; info, metrics and $n_hist history lines as postgres"
  # a record postgres may not read (written as root by an older walden) is
  # skipped with a warning, and the commands still succeed
  chown root:root "$root_rec"
  chmod 0640 "$root_rec"
  expect_status 0 walden "$T/walden.conf" info
  grep -q "skipping drill record: .*$(basename "$root_rec").*Permission denied" "$T/stderr" ||
    fail "info: no warning for the unreadable record: $(cat "$T/stderr")"
  expect_status 0 walden "$T/walden.conf" --pgport "$PORT" metrics
  grep -q "skipping drill record" "$T/stderr" || fail "metrics: no warning: $(cat "$T/stderr")"
  expect_status 0 walden "$T/walden.conf" drill --history
  grep -q "skipping drill record" "$T/stderr" || fail "history: no warning: $(cat "$T/stderr")"
  [[ $(grep -c '^20' "$T/stdout") -eq $((n_hist - 1)) ]] ||
    fail "history with the unreadable record: $(cat "$T/stdout")"
  chown postgres:postgres "$root_rec"
  pass "a record postgres cannot read is skipped with a warning by info, metrics and drill --history"
  # the lock folder root created stays usable by postgres (sticky, like /tmp)
  [[ $(stat -c %a "$T/locks-root") == 1777 ]] || fail "lock folder mode $(stat -c %a "$T/locks-root")"
  expect_status 0 walden "$T/walden.conf" --lock-path "$T/locks-root" expire --dry-run
  pass "as root: the lock folder a drill created is sticky and open: expire as postgres takes its locks"
fi

# ---- a tiny RTO target is missed: its own status
printf 'SELECT pg_sleep(1.1);\n' >"$T/sleep.sql"
chmod 0644 "$T/sleep.sql"
expect_status 5 D --rto-target 1s --check-sql "$T/sleep.sql" --report "$T/missed.json"
grep -q 'TARGETS MISSED' "$T/stdout" || fail "summary: $(cat "$T/stdout")"
$CHECK report "$T/missed.json" status rto_met rpo_met >"$T/missed.kv"
grep -qx 'status="targets-missed"' "$T/missed.kv" && grep -qx 'rto_met=false' "$T/missed.kv" &&
  grep -qx 'rpo_met=true' "$T/missed.kv" || fail "missed report: $(cat "$T/missed.kv")"
no_leftovers "$T/scr" "missed drill"
pass "RTO target 1s missed: exit status 5, report says targets-missed"

# ---- a check-sql statement returns false
printf 'SELECT true;\nSELECT false;\nSELECT 1;\n' >"$T/false.sql"
chmod 0644 "$T/false.sql"
expect_status 4 D --check-sql "$T/false.sql" --report "$T/false.json" --metrics-file "$T/false.prom"
grep -q 'statement 2 returned false' "$T/stderr" || fail "stderr: $(cat "$T/stderr")"
$CHECK report "$T/false.json" status rto_met rpo_met >"$T/false.kv"
grep -qx 'status="failed"' "$T/false.kv" && grep -qx 'rto_met=false' "$T/false.kv" ||
  fail "false report: $(cat "$T/false.kv")"
$CHECK metrics "$T/false.prom" >"$T/false.txt" || fail "metrics: $(cat "$T/false.prom")"
grep -qx 'walden_drill_failed{cluster="main"} 1.0' "$T/false.txt" ||
  fail "metrics of the failed drill: $(cat "$T/false.txt")"
no_leftovers "$T/scr" "failed check"
pass "check-sql returning false: exit status 4, reported as failed"

printf 'SELECT 1/0;\n' >"$T/err.sql"
chmod 0644 "$T/err.sql"
expect_status 4 D --check-sql "$T/err.sql"
grep -q 'division by zero' "$T/stderr" || fail "stderr: $(cat "$T/stderr")"
pass "check-sql statement failing: exit status 4"

# ---- history
expect_status 0 D --history --output json
python3 - "$T/stdout" <<'PY' || fail "history: $(cat "$T/stdout")"
import json, sys
doc = json.load(open(sys.argv[1]))
st = [d["status"] for d in doc["drills"]]
assert st[0] == "passed" and st[-3:] == ["targets-missed", "failed", "failed"], st
assert all(d["rto_seconds"] > 0 for d in doc["drills"])
assert doc["drills"][0]["rpo_seconds"] is not None
PY
expect_status 0 D --history
cat "$T/stdout"
grep -q "targets-missed" "$T/stdout" || fail "history text: $(cat "$T/stdout")"
pass "drill --history lists the drills with RTO and RPO (text and JSON)"

# ---- info shows the last drill
expect_status 0 walden "$T/walden.conf" info --output json
python3 - "$T/stdout" <<'PY' || fail "info last_drill: $(cat "$T/stdout")"
import json, sys
d = json.load(open(sys.argv[1]))["clusters"][0]["last_drill"]
assert d["status"] == "failed" and d["backup_id"] and d["rto_seconds"] > 0, d
assert d["started_at"].endswith("Z") and d["error"], d  # a failed drill says why
PY
expect_status 0 walden "$T/walden.conf" info
grep -q "^last drill: .* failed, backup " "$T/stdout" || fail "info text: $(cat "$T/stdout")"
pass "info shows the last drill (text and JSON)"

# ---- SIGTERM while a check runs
as_pg mkdir "$T/scr2"
printf 'SELECT pg_sleep(120);\n' >"$T/slow.sql"
chmod 0644 "$T/slow.sql"
walden "$T/walden.conf" --scratch-dir "$T/scr2" drill --check-sql "$T/slow.sql" \
  >"$T/term.out" 2>"$T/term.err" &
bg=$!
sleeping=0
for _ in $(seq 1 600); do
  sock=$(ls -d "$T"/scr2/walden-drill-*/socket 2>/dev/null || true)
  if [[ -n $sock && -S $sock/.s.PGSQL.5432 ]] &&
    [[ $(as_pg psql -h "$sock" -p 5432 -U postgres -d postgres -XAtq -c \
      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'" 2>/dev/null) == 1 ]]; then
    sleeping=1
    break
  fi
  sleep 0.2
done
[[ $sleeping == 1 ]] || fail "the drill never reached its check: $(cat "$T/term.err")"
# a running drill holds the readers' lock: expire does not remove what it reads
expect_status 1 walden "$T/walden.conf" expire
grep -q "another walden drill or verify of cluster 'main' is running" "$T/stderr" ||
  fail "expire during a drill: $(cat "$T/stderr")"
pass "expire while a drill runs: refused (exit status 1), naming the drill"
# as root, runuser's command line matches too: the walden process is postgres's
owner=$(id -u)
[[ ${#RUN_AS[@]} -eq 0 ]] || owner=$(id -u postgres)
wpid=$(pgrep -u "$owner" -f -- "--scratch-dir $T/scr2 drill" || true)
[[ -n $wpid && $wpid != *$'\n'* ]] || fail "cannot find the walden process: '$wpid'"
kill -TERM "$wpid"
set +e
wait "$bg"
st=$?
set -e
[[ $st -eq 1 ]] || fail "interrupted drill exited $st: $(cat "$T/term.err")"
grep -q 'interrupted' "$T/term.err" || fail "stderr: $(cat "$T/term.err")"
no_leftovers "$T/scr2" "interrupted drill"
pass "SIGTERM during a check: server stopped, scratch directory removed, exit status 1"

# ---- SIGTERM while the files are restored: the drill stops after that step
as_pg mkdir "$T/scr3"
walden "$T/walden.conf" --scratch-dir "$T/scr3" drill >"$T/term3.out" 2>"$T/term3.err" &
bg=$!
for _ in $(seq 1 1000); do
  [[ -n $(ls -d "$T"/scr3/walden-drill-*/pgdata 2>/dev/null) ]] && break
  sleep 0.01
done
wpid=$(pgrep -u "$owner" -f -- "--scratch-dir $T/scr3 drill" || true)
[[ -n $wpid && $wpid != *$'\n'* ]] || fail "cannot find the walden process: '$wpid'"
kill -TERM "$wpid"
set +e
wait "$bg"
st=$?
set -e
[[ $st -eq 1 ]] || fail "drill interrupted during its restore exited $st: $(cat "$T/term3.err")"
grep -q 'interrupted' "$T/term3.err" || fail "stderr: $(cat "$T/term3.err")"
no_leftovers "$T/scr3" "drill interrupted during its restore"
pass "SIGTERM during the restore: exit status 1, no server, no scratch directory"

# ---- to a point in time: the server promotes there
printf "SELECT string_agg(id::text, ',' ORDER BY id) = '1,2' FROM marker;\n" >"$T/two.sql"
chmod 0644 "$T/two.sql"
expect_status 0 D --target-time "$target_time" --check-sql "$T/two.sql" --report "$T/pitr.json"
python3 - "$T/pitr.json" "$target_time" "$marker2_epoch" <<'PY' || fail "pitr report: $(cat "$T/pitr.json")"
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
target = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%d %H:%M:%S.%f+00").replace(
    tzinfo=datetime.timezone.utc).timestamp()
assert doc["status"] == "passed", doc
# the last replayed commit is marker 2's (its row's time is taken just before
# its commit; the report has millisecond precision)
assert float(sys.argv[3]) - 0.001 <= ts(doc["last_transaction"]) <= target, (
    doc["last_transaction"], sys.argv[3], target)
PY
no_leftovers "$T/scr" "point-in-time drill"
pass "drill to --target-time: markers 1-2 only, recovered to the last commit before the target"

# ---- the WAL archive is gone: the backup cannot become consistent, so
# its restore is refused (naming the missing segment) before a server runs
mv "$T/repo/main/wal" "$T/wal.aside"
expect_status 4 D --report "$T/nowal.json"
mv "$T/wal.aside" "$T/repo/main/wal"
grep -q 'restore failed: backup .* cannot be restored: WAL segment .* is not in the archive' "$T/stderr" ||
  fail "stderr: $(cat "$T/stderr")"
no_leftovers "$T/scr" "drill without WAL"
pass "no WAL in the archive: exit status 4, the restore refused naming the missing segment, nothing left"

# ---- a scratch directory too deep for a unix socket's path (107 bytes)
deep=$T/$(printf 'd%.0s' $(seq 1 80))
as_pg mkdir "$deep"
before=$(find /tmp -maxdepth 1 -name 'walden-drill-socket-*' | wc -l)
expect_status 0 walden "$T/walden.conf" --scratch-dir "$deep" drill
after=$(find /tmp -maxdepth 1 -name 'walden-drill-socket-*' | wc -l)
[[ $after -eq $before ]] || fail "the socket folder in /tmp was left behind"
no_leftovers "$deep" "deep scratch directory"
pass "a deep scratch directory: the socket goes to /tmp, and is removed"

# ---- a dump drill: the newest dump of app, restored into a new cluster
walden "$T/walden.conf" --pgport "$PORT" dump --dbname app >"$T/dump.out" 2>&1 ||
  fail "dump failed: $(cat "$T/dump.out")"
dump_id=$(walden "$T/walden.conf" info | awk '/-app / {print $1}' | tail -1)
[[ $dump_id == *-app ]] || fail "no dump id: $(walden "$T/walden.conf" info)"
expect_status 0 D --dump --report "$T/dump.json"
grep -q "^drill .* of dump $dump_id: PASSED" "$T/stdout" || fail "dump summary: $(cat "$T/stdout")"
python3 - "$T/dump.json" "$dump_id" <<'PY' || fail "dump report: $(cat "$T/dump.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["kind"] == "dump" and doc["backup_id"] == sys.argv[2], doc
assert doc["status"] == "passed", doc
checks = {(c["name"], c["database"]): c for c in doc["checks"]}
assert checks[("read", "app")]["result"] == "pass", checks
# the dump's big table and its index came back
assert int(checks[("read", "app")]["detail"].split()[0]) > 0
assert doc["phases"]["replay"] == 0 and doc["phases"]["restore"] > 0, doc["phases"]
assert doc["rpo_seconds"] is not None and doc["rpo_seconds"] >= 0
PY
printf 'SELECT count(*) = 300 FROM big;\n' >"$T/big.sql"
chmod 0644 "$T/big.sql"
expect_status 0 D --dump "$dump_id" --check-sql "$T/big.sql" --pgdatabase app
no_leftovers "$T/scr" "dump drill"
expect_status 2 D "$dump_id"
pass "dump drill: the newest dump and a named one restore into a new cluster and pass the checks"

# ---- a corrupted file in the backup
victim=$(find "$T/repo/main/backup/$id/data/base" -type f -size +2k -print -quit)
[[ -n $victim ]] || fail "no stored data file to corrupt"
size=$(stat -c %s "$victim")
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$victim" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$victim" bs=1 seek="$off" conv=notrunc status=none
expect_status 4 D --report "$T/corrupt.json"
grep -q 'restore failed' "$T/stderr" || fail "stderr: $(cat "$T/stderr")"
$CHECK report "$T/corrupt.json" status error >"$T/corrupt.kv"
grep -qx 'status="failed"' "$T/corrupt.kv" || fail "corrupt report: $(cat "$T/corrupt.kv")"
no_leftovers "$T/scr" "corrupt backup"
pass "a corrupted backup file: exit status 4, no server, no scratch directory"

finish
