#!/usr/bin/env bash
# Progress without a terminal (the journal, a log file): with log-level info
# and stderr to a file, backup, restore, dump and verify log timestamped
# "progress:" lines, the bytes' percentages rising past 90%; at the default
# progress-interval a backup logs one line at each 10% step (no more than
# 11 copy lines, however many files), with progress-interval 0s one at every
# report; at log-level warn nothing of it; the same lines reach
# log-file. No assertion depends on how long anything takes.
source "$(dirname "$0")/lib.sh"

PRIMARY=$T/primary
PORT=$(next_port)
write_conf "$T/walden.conf" "repo=$T/repo" "lock-path=$T/locks" "pghost=$T/sock" \
  "pguser=postgres" "process-max=1" "expire-auto=n"
archiving_primary "$PRIMARY" "$PORT" "$T/walden.conf"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g"
W() {
  local WALDEN_ENV=("WALDEN_PGPORT=$PORT" "WALDEN_PGDATA=$PRIMARY")
  walden "$T/walden.conf" "$@"
}

# copy_pcts FILE: the percentages of the copy phase's progress lines
copy_pcts() { sed -n 's/.* info: progress: copy: \([0-9.]*\)%.*/\1/p' "$1"; }
# rising FILE: the percentages never go down and reach 90% (the last step
# is reported before the last file is copied; the end has its own line)
rising() {
  copy_pcts "$1" | awk 'NR > 1 && $1 + 0 < prev { bad = 1 } { prev = $1 + 0 }
    END { exit !(NR > 0 && !bad && prev >= 90) }'
}

# ---- backup at the default interval: one line per 10% step
as_pg touch "$T/walden.log"
W --log-level info --log-file "$T/walden.log" backup >/dev/null 2>"$T/b1.err" ||
  fail "backup failed: $(cat "$T/b1.err")"
n1=$(copy_pcts "$T/b1.err" | wc -l)
[[ $n1 -ge 2 && $n1 -le 11 ]] || fail "backup at the default interval: $n1 copy lines: $(cat "$T/b1.err")"
rising "$T/b1.err" || fail "the percentages do not rise past 90%: $(copy_pcts "$T/b1.err" | tr '\n' ' ')"
grep -qE '^[0-9-]{10} [0-9:.]{12}Z walden\[[0-9]+\] info: progress: copy: ' "$T/b1.err" ||
  fail "progress lines are not log lines: $(grep progress "$T/b1.err" | head -2)"
grep -q $'[\r\033]' "$T/b1.err" && fail "terminal control characters in the log"
[[ $(grep -c 'progress: copy' "$T/walden.log") -eq $n1 ]] ||
  fail "the log file has other progress lines: $(grep progress "$T/walden.log")"
pass "backup without a terminal: $n1 progress lines at 10% steps, rising past 90%, also in log-file"

# ---- progress-interval 0s: a line at every step
W --log-level info --progress-interval 0s backup >/dev/null 2>"$T/b2.err" ||
  fail "backup failed: $(cat "$T/b2.err")"
files=$(find "$PRIMARY" -type f | wc -l)
n2=$(copy_pcts "$T/b2.err" | wc -l)
# the reports come from a timer (about one a second): how many depends on
# the machine's speed; that every report is logged at 0s, and only the 10%
# steps at the default, is checked in tests/unit/cli/test_output.c
[[ $n2 -ge 2 ]] || fail "progress-interval 0s: $n2 lines for $files files"
rising "$T/b2.err" || fail "the percentages do not rise past 90% (interval 0s)"
pass "progress-interval 0s: $n2 progress lines for about $files files"

# ---- log-level warn (the default): no progress
W backup >/dev/null 2>"$T/b3.err" || fail "backup failed: $(cat "$T/b3.err")"
grep -q progress "$T/b3.err" && fail "progress at log-level warn: $(cat "$T/b3.err")"
pass "at log-level warn a backup logs no progress"

# ---- verify, dump, restore
W --log-level info verify >/dev/null 2>"$T/v.err" || fail "verify failed: $(cat "$T/v.err")"
grep -q 'info: progress: verify: ' "$T/v.err" || fail "verify logs no progress: $(cat "$T/v.err")"
W --log-level info --progress-interval 0s dump >/dev/null 2>"$T/d.err" ||
  fail "dump failed: $(cat "$T/d.err")"
grep -q 'info: progress: ' "$T/d.err" || fail "dump logs no progress: $(cat "$T/d.err")"
pg_stop "$PRIMARY"
walden "$T/walden.conf" --log-level info --pgdata "$T/restored" restore >/dev/null 2>"$T/r.err" ||
  fail "restore failed: $(cat "$T/r.err")"
grep -q 'info: progress: ' "$T/r.err" || fail "restore logs no progress: $(cat "$T/r.err")"
pass "verify, dump and restore log progress lines without a terminal"

finish
