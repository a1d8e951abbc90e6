#!/usr/bin/env bash
# Output and monitoring that tell the truth, against a real PostgreSQL 15
# archiving into a real repository:
#   - a failed drill whose server never came up: its RPO is null in the JSON
#     of info and drill --history, "unknown" in info's text, absent from the
#     metrics (walden_drill_last_status says failed);
#   - info's text: every line at most 100 columns with several backups and
#     dumps, the columns of backups and dumps aligned, LSNs and durations
#     shown, "1 segment" for a one-segment gap, the version spelled once;
#   - an idle cluster (archive_timeout switched its last segment, which was
#     archived): metrics say no WAL is unarchived and the exposure is 0,
#     though the newest segment is older than the RPO target; a drill with
#     that target passes, its RPO 0 proven by LSNs; once WAL is written and
#     not archived (archive_timeout off), the exposure grows and the same
#     drill misses its target;
#   - the Prometheus alert rules of packaging/prometheus pass promtool
#     check and promtool test rules on series made from this run's own
#     `walden metrics` output; the Grafana dashboard is JSON whose every
#     queried metric is one that walden writes.
# label: slow
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "pgport=$PORT" "pgdata=$PRIMARY" "process-max=2"
as_pg "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres --no-sync -k >/dev/null
W() { walden "$T/walden.conf" "$@"; }
W init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
archive_timeout = '1s'
# the idle checks below count on no commit but the test's own (an
# autovacuum's ANALYZE commits, at any moment)
autovacuum = off
CONF
pg_start "$PRIMARY"
psql_c "$PORT" "CREATE TABLE marker(id int primary key, at timestamptz not null)"
psql_c "$PORT" "CREATE DATABASE app"
psql_c "$PORT" "CREATE EXTENSION pg_walinspect"

for i in 1 2 3; do
  psql_c "$PORT" "INSERT INTO marker VALUES ($i, clock_timestamp())"
  W backup >"$T/backup$i.out" || fail "backup $i: $(cat "$T/backup$i.out")"
done
W dump --all >"$T/dump1.out" 2>&1 || fail "dump: $(cat "$T/dump1.out")"
W dump --dbname app >"$T/dump2.out" 2>&1 || fail "dump app: $(cat "$T/dump2.out")"
pass "3 backups and 2 dump runs taken"

# ---- a drill whose server never comes up: its RPO is unknown
as_pg mkdir "$T/scr" "$T/nobin"
expect_status 4 W drill --scratch-dir "$T/scr" --pg-bin "$T/nobin" --rpo-target 15m
W info --output json >"$T/info.json"
python3 - "$T/info.json" <<'PY' || fail "info json: $(cat "$T/info.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
(c,) = doc["clusters"]
d = c["last_drill"]
assert d["status"] == "failed", d
assert d["rpo_seconds"] is None, d
assert d["rpo_met"] is False and d["rto_met"] is False, d
assert d["error"], d
assert c["pg_version"] == 150000 and c["pg_major"] == 15, c
assert len(c["backups"]) == 3 and len(c["dumps"]) >= 4, c
for b in c["backups"]:
    assert b["start_lsn"] and b["stop_lsn"] and b["duration_seconds"] >= 0, b
for x in c["dumps"]:
    assert x["pg_version"] // 10000 == 15 and x["pg_version"] > 150000, x
PY
pass "info --output json: the failed drill's RPO is null, the version is 150000 (major 15)"
W drill --history --output json >"$T/history.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["drills"][-1]
assert d["status"] == "failed" and d["rpo_seconds"] is None and d["rpo_met"] is False, d
assert d["replayed_lsn"] is None, d
' "$T/history.json" || fail "history: $(cat "$T/history.json")"
pass "drill --history: RPO and replayed LSN null"
W metrics >"$T/failed.prom"
grep -qx 'walden_drill_last_status{cluster="main"} 1' "$T/failed.prom" ||
  fail "no failed drill status: $(grep drill "$T/failed.prom")"
if grep -q '^walden_drill_last_rpo_seconds' "$T/failed.prom"; then
  fail "an unknown RPO is in the metrics: $(grep rpo "$T/failed.prom")"
fi
if grep -v '^#' "$T/failed.prom" | grep -qE ' -[0-9]'; then
  fail "a negative sample: $(grep -v '^#' "$T/failed.prom" | grep -E ' -[0-9]')"
fi
pass "metrics: the failed drill's status 1, no RPO sample, no negative value"

# ---- info text
# aligned FILE: in the backup and dump tables every row's fields start (or,
# right-aligned, end) where the header's do; with a name too long for one
# line, a dump's id and database come first and its figures below, aligned
# with the second header line
aligned() {
  python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
def check(head, rows, left):
    starts = [m.start() for m in re.finditer(r"\S+", head)][:left]
    ends = [m.end() for m in re.finditer(r"\S+", head)][-3:]
    assert rows, head
    for l in rows:
        for s in starts:
            assert l[s] != " " and l[s - 1] == " ", (s, l)
        for e in ends:
            assert l[e - 1] != " " and (e == len(l) or l[e] == " "), (e, l)
i = lines.index("backups:") + 1
rows = [l for l in lines[i + 1:lines.index("dumps:")] if l.startswith("  2")]
assert len(rows) >= 3, rows
check(lines[i], rows, 4)
i = lines.index("dumps:") + 1
end = next(k for k in range(i, len(lines)) if lines[k].startswith("WAL archive"))
if lines[i] == "  dump":
    rows = [l for l in lines[i + 2:end] if re.match(r"    (ok|failed) ", l)]
    check(lines[i + 1], rows, 2)
    print("dumps in two lines each")
else:
    rows = [l for l in lines[i + 1:end] if l.startswith("  2")]
    check(lines[i], rows, 3)
    print("dumps in one line each")
assert len(rows) >= 4, rows
PY
}
# narrow FILE: every line at most 100 columns
narrow() {
  awk 'length($0) > 100 { print NR ": " length($0) ": " $0; bad = 1 } END { exit bad }' "$1"
}
W info >"$T/info.txt"
cat "$T/info.txt"
narrow "$T/info.txt" || fail "info lines wider than 100 columns"
grep -q '^  backup  *type  *status  *stopped  *duration  *size  *stored$' "$T/info.txt" ||
  fail "no backup header"
grep -q '^  dump  *status  *started  *duration  *size  *stored$' "$T/info.txt" ||
  fail "no dump header in one line"
aligned "$T/info.txt" || fail "columns are not aligned"
grep -q 'RPO unknown (target 900 s)' "$T/info.txt" || fail "no 'RPO unknown' in info"
if grep -q -- '-1\.' "$T/info.txt"; then fail "a -1 in info: $(grep -- '-1\.' "$T/info.txt")"; fi
grep -q '^cluster main: PostgreSQL 15, ' "$T/info.txt" || fail "version: $(head -1 "$T/info.txt")"
grep -qE '^    timeline 1  LSN [0-9A-F]+/[0-9A-F]+ \.\. [0-9A-F]+/[0-9A-F]+  WAL ' "$T/info.txt" ||
  fail "no LSNs in the backup lines"
pass "info text: lines within 100 columns, columns aligned, LSNs shown, RPO unknown"

# a database whose name does not fit the dump table's line
psql_c "$PORT" "CREATE DATABASE a_rather_long_database_name_for_the_columns_of_info"
W dump --dbname a_rather_long_database_name_for_the_columns_of_info >"$T/dump3.out" 2>&1 ||
  fail "dump: $(cat "$T/dump3.out")"
W info >"$T/info2.txt"
narrow "$T/info2.txt" || fail "info lines wider than 100 columns (long name)"
aligned "$T/info2.txt" >"$T/aligned.out" || fail "columns are not aligned (long name)"
grep -qx 'dumps in two lines each' "$T/aligned.out" || fail "the long name fit on one line?"
# its id holds a shortened name: the database is said below it
grep -qx '    database: a_rather_long_database_name_for_the_columns_of_info' "$T/info2.txt" ||
  fail "the long database's name is not shown: $(cat "$T/info2.txt")"
pass "info text with a long database name: within 100 columns, figures aligned"

# ---- an idle cluster: everything written is archived
# wait_idle: the segment before the server's current one is archived
# (archive_timeout switched it), and pg_walinspect finds in the current one
# only records without data (the snapshots an idle server logs on its own,
# which archive_timeout never switches out); the flushed position stays the
# same 3 s apart
wait_idle() {
  local prev='' cur
  for _ in $(seq 1 120); do
    cur=$(psql_c "$PORT" "WITH p AS (SELECT pg_current_wal_flush_lsn() AS f,
          pg_current_wal_flush_lsn() - ((pg_current_wal_flush_lsn() - '0/0') % 16777216) AS s)
        SELECT (SELECT last_archived_wal FROM pg_stat_archiver) = pg_walfile_name(s)
          AND (f = s OR NOT EXISTS (SELECT 1 FROM pg_get_wal_records_info(s, f)
               WHERE record_type NOT IN ('RUNNING_XACTS', 'CHECKPOINT_ONLINE'))), f FROM p")
    if [[ $cur == t\|* && $cur == "$prev" ]]; then return 0; fi
    prev=$cur
    sleep 3
  done
  fail "the cluster did not become idle: $cur"
}
# wal_metrics FILE WHAT: the Python assertions on stdin hold for the samples
# of FILE (v: metric name -> value); fails naming WHAT otherwise
wal_metrics() {
  python3 -c 'import sys
v = {}
for l in open(sys.argv[1]):
    if not l.startswith("#"):
        k, x = l.rsplit(" ", 1)
        v[k.split("{")[0]] = float(x)
'"$(cat)" "$1" || fail "$2: $(grep wal_ "$1")"
}
psql_c "$PORT" "INSERT INTO marker VALUES (10, clock_timestamp())"
wait_idle
sleep 7 # longer than the RPO target below: the newest segment gets older
W metrics >"$T/idle.prom"
wal_metrics "$T/idle.prom" "idle metrics" <<'PY'
assert v["walden_archiver_up"] == 1, v
assert v["walden_wal_newest_age_seconds"] > 5, v
assert v["walden_wal_unarchived_bytes"] == 0, v
assert v["walden_wal_exposure_seconds"] == 0, v
PY
pass "idle metrics: newest segment older than 5 s, 0 bytes unarchived, exposure 0"
cp "$T/idle.prom" "$T/metrics-idle.prom"

expect_status 0 W drill --scratch-dir "$T/scr" --rpo-target 5s --report "$T/idle.json" \
  --metrics-file "$T/drill-idle.prom"
cat "$T/stdout"
grep -qE 'RPO 0\.0 s \(target 5s: met\): replayed to ' "$T/stdout" || fail "summary: $(cat "$T/stdout")"
python3 - "$T/idle.json" <<'PY' || fail "idle report: $(cat "$T/idle.json")"
import json, sys
d = json.load(open(sys.argv[1]))
lsn = lambda s: int(s.split("/")[0], 16) << 32 | int(s.split("/")[1], 16)
assert d["status"] == "passed" and d["rpo_met"] is True, d
assert d["rpo_seconds"] == 0, d
assert lsn(d["replayed_lsn"]) >= lsn(d["source_lsn"]), d
# the last commit is older than the target: a time-based RPO would miss it
ts = lambda s: __import__("datetime").datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
assert ts(d["started_at"]) - ts(d["recovered_to"]) > 5, d
PY
pass "idle cluster: the drill passes a 5 s RPO target, RPO 0 by LSN though the last commit is older"

# ---- WAL written and not archived: exposure grows, the drill misses
psql_c "$PORT" "ALTER SYSTEM SET archive_timeout = 0"
psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
sleep 1
psql_c "$PORT" "INSERT INTO marker VALUES (11, clock_timestamp())"
sleep 7
W metrics >"$T/busy.prom"
wal_metrics "$T/busy.prom" "busy metrics" <<'PY'
assert v["walden_wal_unarchived_bytes"] > 0, v
assert v["walden_wal_exposure_seconds"] > 5, v
PY
pass "unarchived WAL: bytes > 0 and exposure > 5 s"
expect_status 5 W drill --scratch-dir "$T/scr" --rpo-target 5s --report "$T/busy.json"
python3 - "$T/busy.json" <<'PY' || fail "busy report: $(cat "$T/busy.json")"
import json, sys
d = json.load(open(sys.argv[1]))
lsn = lambda s: int(s.split("/")[0], 16) << 32 | int(s.split("/")[1], 16)
assert d["status"] == "targets-missed" and d["rpo_met"] is False, d
assert d["rpo_seconds"] > 5, d
assert lsn(d["replayed_lsn"]) < lsn(d["source_lsn"]), d
PY
pass "unarchived WAL: the drill misses the 5 s RPO target, replay short of the source's WAL"

# an archive-push failure, recorded for metrics
as_pg mkdir "$T/bad"
head -c 100 /dev/zero | as_pg tee "$T/bad/000000010000000000000099" >/dev/null
expect_status 1 W archive-push "$T/bad/000000010000000000000099"
W metrics >"$T/pushfail.prom"
grep -q '^walden_archive_push_last_failure_timestamp_seconds{cluster="main",segment="000000010000000000000099"' \
  "$T/pushfail.prom" || fail "no push failure metric"
pass "archive-push failure in the metrics"

# ---- alert rules: promtool on series made from these metrics files
RULES=$SRC/packaging/prometheus/walden-alerts.yml
promtool check rules "$RULES" >/dev/null || fail "promtool check rules: $(promtool check rules "$RULES" 2>&1)"
python3 "$SRC/tests/integration/promtool_series.py" "$RULES" "$T" \
  "$T/failed.prom" "$T/metrics-idle.prom" "$T/drill-idle.prom" "$T/busy.prom" \
  "$T/pushfail.prom" >"$T/alerts-test.yml" || fail "cannot build the rule tests"
(cd "$T" && promtool test rules alerts-test.yml) >"$T/promtool.out" 2>&1 ||
  fail "promtool test rules: $(cat "$T/promtool.out")"
pass "promtool test rules: $(grep -c '"alertname": ' "$T/alerts-test.yml") alert expectations pass"

# ---- the Grafana dashboard
DASH=$SRC/packaging/grafana/walden-dashboard.json
python3 - "$DASH" "$T/failed.prom" "$T/metrics-idle.prom" "$T/drill-idle.prom" "$T/busy.prom" \
  "$T/pushfail.prom" <<'PY' || fail "dashboard"
import json, re, sys
dash = json.load(open(sys.argv[1]))
have = set()
for f in sys.argv[2:]:
    for l in open(f):
        m = re.match(r"# TYPE (\w+) ", l)
        if m:
            have.add(m.group(1))
exprs = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "expr":
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(dash)
assert len(exprs) >= 10, exprs
used = set()
for e in exprs:
    used |= set(re.findall(r"\bwalden_\w+", e))
missing = used - have
assert not missing, missing
print(len(exprs), "queries,", len(used), "metrics")
PY
pass "Grafana dashboard: valid JSON, every queried metric is one walden writes"

# ---- one segment: a gap of one segment is "1 segment"
switch_wal "$PORT" >/dev/null
psql_c "$PORT" "INSERT INTO marker VALUES (12, clock_timestamp())"
seg2=$(switch_wal "$PORT")
psql_c "$PORT" "INSERT INTO marker VALUES (13, clock_timestamp())"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
find "$T/repo" -name "$seg2*" -type f -delete
W info >"$T/gap.txt"
grep -qE "^  GAP on timeline 1: $seg2 \.\. $seg2 missing \(1 segment\)$" "$T/gap.txt" ||
  fail "gap line: $(grep GAP "$T/gap.txt")"
pass "a one-segment gap is '1 segment'"
finish
