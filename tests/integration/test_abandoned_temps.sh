#!/usr/bin/env bash
# A killed archive-push leaves its temporary file (".<name>.tmp.<pid>.<rnd>")
# in the repository. Once abandoned (last written an hour ago or more, its
# pid not alive here), verify counts it (a warning, not a problem) and
# expire removes it; a fresh one, or one whose pid runs, stays.
source "$(dirname "$0")/lib.sh"

PGDATA=$T/pgdata
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "lock-path=$T/locks"
as_pg mkdir "$T/copies"

pg_init "$PGDATA"
walden "$T/walden.conf" --pgdata "$PGDATA" init >/dev/null
pg_configure "$PGDATA" "$PORT" <<CONF
archive_mode = on
archive_command = 'cp %p $T/copies/%f && $WALDEN_BIN --config $T/walden.conf archive-push %p'
CONF
pg_start "$PGDATA"
psql_c "$PORT" "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 100000) g"
last=$(switch_wal "$PORT")
wait_archived "$PORT" "$last"
pg_stop "$PGDATA"
seg=$T/copies/$last
temps() { find "$T/repo" -name '.*.tmp.*' -type f; }

# reap_runner PID: waits for the as_pg (runuser) of a push that was
# stopped. runuser stops itself when it sees its child stopped, and that
# may come after the child was continued or killed, so a single SIGCONT
# can come too early: it is continued until it has ended (a zombie, or
# reaped already)
reap_runner() {
  local s n=0
  while s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; do
    kill -CONT "$1" 2>/dev/null || true
    sleep 0.1
    # a push of one segment takes well under a minute: say what hangs
    ((++n < 600)) || fail "archive-push (runner $1, state $s) did not end in 60 s: $(ps -ef --forest | grep -B2 -A2 "$1")"
  done
  wait "$1" || true
}

# push the segment again (identical content: stored to a temporary file,
# then discarded) and kill it once its temporary file holds some bytes:
# stopped first, so that it cannot finish in between
killed=
for attempt in $(seq 1 20); do
  as_pg "$WALDEN_BIN" --config "$T/walden.conf" archive-push "$seg" >/dev/null 2>&1 &
  runner=$!
  tmp=
  started=$SECONDS
  while kill -0 "$runner" 2>/dev/null; do
    tmp=$(find "$T/repo" -name '.*.tmp.*' -type f -size +0 | head -1)
    [[ -n $tmp ]] && break
    ((SECONDS - started < 60)) ||
      fail "archive-push (runner $runner) neither wrote nor ended in 60 s: $(ps -ef --forest | grep -B2 -A2 "$runner")"
  done
  if [[ -n $tmp ]]; then
    pid=$(basename "$tmp" | sed -E 's/.*\.tmp\.([0-9]+)\..*/\1/')
    if kill -STOP "$pid" 2>/dev/null && [[ -f $tmp ]]; then
      kill -KILL "$pid"
      reap_runner "$runner"
      killed=$tmp
      break
    fi
    # stopped just as its temporary file went away: let it finish
    kill -CONT "$pid" 2>/dev/null || true
  fi
  reap_runner "$runner"
done
[[ -n $killed && -f $killed ]] || fail "could not kill an archive-push while it wrote (20 attempts)"
size=$(stat -c %s "$killed")
pass "archive-push killed mid-way left $(basename "$killed") ($size bytes)"

# fresh: neither reported nor removed
walden "$T/walden.conf" verify >"$T/out" 2>"$T/err" || fail "verify failed: $(cat "$T/err")"
! grep -q "abandoned" "$T/err" || fail "verify reports a fresh temporary file: $(cat "$T/err")"
walden "$T/walden.conf" expire >/dev/null 2>&1 || fail "expire failed"
[[ -f $killed ]] || fail "expire removed a temporary file written just now"
pass "a temporary file written just now is neither reported nor removed"

# one of a live process (this shell's sleep), back-dated too: kept
folder=$(dirname "$killed")
sleep 600 >/dev/null 2>&1 &
alive=$!
live=$folder/.$last-x.tmp.$alive.0000abcd
as_pg cp "$killed" "$live"
touch -d '2 hours ago' "$killed" "$live"

walden "$T/walden.conf" verify >"$T/out" 2>"$T/err" || fail "verify failed: $(cat "$T/err")"
grep -q "1 abandoned temporary file ($size bytes)" "$T/err" ||
  fail "verify does not report the abandoned file: $(cat "$T/err")"
pass "verify reports 1 abandoned temporary file ($size bytes), exit 0"

status=0
walden "$T/walden.conf" expire >/dev/null 2>"$T/err" || status=$?
kill "$alive"
wait "$alive" 2>/dev/null || true
[[ $status -eq 0 ]] || fail "expire failed: $(cat "$T/err")"
[[ ! -e $killed ]] || fail "expire left the abandoned temporary file"
[[ -f $live ]] || fail "expire removed the temporary file of a live pid"
pass "expire removed the abandoned file, kept the one whose pid is alive"

# the segment itself is intact
as_pg "$WALDEN_BIN" --config "$T/walden.conf" archive-get "$last" "$T/copies/back" ||
  fail "archive-get of $last failed"
cmp -s "$seg" "$T/copies/back" || fail "the archived segment differs"
pass "the archived segment is intact"
finish
