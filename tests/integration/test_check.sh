#!/usr/bin/env bash
# walden check against a real PostgreSQL 15 archiving through walden into
# an encrypted repository: it passes on the correct set-up (the forced
# segment arrives) and names the fault, one line each, for: a wrong
# repository, a wrong passphrase, archive_command not set, archive_command
# pointing at another repository (the segment never arrives here), and
# PostgreSQL unreachable. walden metrics after a backup and a dump: its
# file parses strictly and holds the expected values.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" \
  "lock-path=$T/locks" "pghost=$T/sock" "pguser=postgres"
write_conf "$T/other.conf" "repo=$T/other" "lock-path=$T/locks"
pg_init "$PRIMARY"
walden "$T/walden.conf" --pgdata "$PRIMARY" init >/dev/null
walden "$T/other.conf" --pgdata "$PRIMARY" init >/dev/null
pg_configure "$PRIMARY" "$PORT" <<CONF
archive_mode = on
archive_command = '$WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
pg_start "$PRIMARY"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT")
  walden "$T/walden.conf" "$@"
}
set_archive_command() {
  psql_c "$PORT" "ALTER SYSTEM SET archive_command = '$1'"
  psql_c "$PORT" "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}
# problem NAME TEXT: the last check run printed "PROBLEM NAME ... TEXT"
problem() {
  grep -q "^PROBLEM $1 .*$2" "$T/stdout" || fail "no '$1' problem saying '$2': $(cat "$T/stdout")"
  tail -1 "$T/stderr" | grep -q "^walden: [1-9] problems\? found" ||
    fail "no summary on stderr: $(cat "$T/stderr")"
}

expect_status 0 W check
for name in repository repository-writable encryption postgresql archive-command archive-arrival; do
  grep -q "^ok      $name " "$T/stdout" || fail "check $name did not pass: $(cat "$T/stdout")"
done
grep -q "^ok      archive-arrival .* reached the repository in" "$T/stdout" || fail "$(cat "$T/stdout")"
[[ -z $(find "$T/repo/main/check" -type f 2>/dev/null) ]] || fail "check left its probe behind"
pass "check passes on a correct set-up: $(grep archive-arrival "$T/stdout")"

# ---- metrics, after a backup and a dump: parsed strictly (HELP and TYPE
# for every metric, every sample well-formed)
W --pgdata "$PRIMARY" backup >/dev/null || fail "backup failed"
W dump --dbname postgres >/dev/null || fail "dump failed"
W metrics --metrics-file "$T/walden.prom" || fail "metrics failed"
python3 "$(dirname "$0")/drill_check.py" metrics "$T/walden.prom" >"$T/samples" ||
  fail "the metrics file does not parse: $(cat "$T/walden.prom")"
promtool check metrics <"$T/walden.prom" >"$T/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$T/promtool.out")"
value() { awk -v k="$1" '$1 == k {print $2}' "$T/samples"; }
is() { awk -v v="$(value "$1")" -v want="$2" 'BEGIN { exit !(v != "" && v + 0 == want + 0) }'; }
is 'walden_backups{cluster="main"}' 1 || fail "walden_backups: $(cat "$T/samples")"
is 'walden_dump_last_ok{cluster="main",database="postgres"}' 1 ||
  fail "walden_dump_last_ok: $(cat "$T/samples")"
is 'walden_archiver_up{cluster="main"}' 1 || fail "archiver_up: $(cat "$T/samples")"
python3 -c "import sys; a = float(sys.argv[1]); b = float(sys.argv[2]); assert 0 <= a < 600 and 0 <= b < 600, (a, b)" \
  "$(value 'walden_backup_last_age_seconds{cluster="main"}')" \
  "$(value 'walden_wal_newest_age_seconds{cluster="main"}')" || fail "ages: $(cat "$T/samples")"
W metrics >"$T/stdout.prom"
python3 "$(dirname "$0")/drill_check.py" metrics "$T/stdout.prom" >/dev/null || fail "stdout metrics do not parse"
pass "metrics: $(wc -l <"$T/samples") samples parse strictly; backups 1, the dump ok, archiver up, ages sane"

# a store whose clock runs ahead (here: the WAL files' times an hour ahead):
# ages are 0, never negative
find "$T/repo/main/wal" -type f -exec touch -d '+1 hour' {} +
W metrics >"$T/ahead.prom"
grep -qx 'walden_wal_newest_age_seconds{cluster="main"} 0' "$T/ahead.prom" ||
  fail "a WAL time ahead: $(grep wal_newest "$T/ahead.prom")"
W info --output json | python3 -c "import json, sys
assert json.load(sys.stdin)['clusters'][0]['wal']['max_age_seconds'] == 0" ||
  fail "info: a WAL time ahead gives a negative age"
find "$T/repo/main/wal" -type f -exec touch {} +
pass "a WAL time ahead of the clock: age 0 in metrics and info, not negative"

expect_status 1 W check --repo "$T/nowhere"
problem repository "repository '$T/nowhere' does not exist"
pass "a wrong repository is named"

echo "not the passphrase" >"$T/wrong"
chmod 0600 "$T/wrong"
[[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$T/wrong"
expect_status 1 W check --encrypt-passphrase-file "$T/wrong"
problem encryption "passphrase"
pass "a wrong passphrase is named"

set_archive_command ""
expect_status 1 W check
problem archive-command "archive_command is not set"
pass "archive_command not set is named"

set_archive_command "$WALDEN_BIN --config $T/other.conf archive-push %p"
expect_status 1 W check --archive-timeout 3s
problem archive-arrival "did not reach repository '$T/repo' (cluster 'main') within 3 s: archive_command = '$WALDEN_BIN --config $T/other.conf"
pass "archive_command pointing at another repository: the forced segment never arrives, named"

set_archive_command "/bin/true"
expect_status 1 W check
problem archive-command "does not run walden archive-push"
pass "an archive_command that is not walden is named"

expect_status 1 walden "$T/walden.conf" --pgport "$(next_port)" check
problem postgresql "check pghost, pgport, pguser"
pass "PostgreSQL unreachable is named"

finish
