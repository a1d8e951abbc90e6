#!/usr/bin/env bash
# The systemd units as cmake --install makes them: every template unit and
# timer, instantiated for cluster 15-main (and walden-failure@ for a failed
# walden-backup@15-main.service), passes `systemd-analyze verify`, and
# `systemd-analyze security --offline=true` rates every service at most
# MAX_EXPOSURE (the units were 9.2 UNSAFE before their sandbox). A unit with
# a mistake, and one without the sandbox, are refused by the same checks, so
# the checks can fail. Needs no running systemd.
source "$(dirname "$0")/lib.sh"

MAX_EXPOSURE=2.0
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (scripts/install-deps.sh)"
BUILD=${WALDEN_BUILD_DIR:?run through ctest}
P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 || fail "install: $(tail -5 "$T/install.log")"
U=$P/lib/systemd/system
mkdir "$T/units"
for u in backup dump expire drill metrics; do
  for kind in service timer; do
    [[ -s $U/walden-$u@.$kind ]] || fail "not installed: walden-$u@.$kind"
    cp "$U/walden-$u@.$kind" "$T/units/walden-$u@15-main.$kind"
  done
  grep -q '^OnFailure=walden-failure@%n.service$' "$U/walden-$u@.service" ||
    fail "walden-$u@.service has no OnFailure hook"
  grep -q '^ExecStart=.* --config /etc/walden/%i.conf ' "$U/walden-$u@.service" ||
    fail "walden-$u@.service does not read its instance's config"
done
cp "$U/walden-failure@.service" "$T/units/walden-failure@walden-backup@15-main.service.service"

# verify: loads each unit with the units beside it (OnFailure, After)
analyze_verify() { SYSTEMD_UNIT_PATH="$T/units:" systemd-analyze verify --man=no "$@" 2>&1; }
(cd "$T/units" && analyze_verify ./*.service ./*.timer) >"$T/verify.out" ||
  fail "systemd-analyze verify: $(cat "$T/verify.out")"
[[ ! -s $T/verify.out ]] || fail "systemd-analyze verify complains: $(cat "$T/verify.out")"
n=$(ls "$T/units" | wc -l)
pass "systemd-analyze verify: $n units, no complaint"

# exposure: the last line is "→ Overall exposure level for UNIT: 1.5 OK"
exposure() {
  systemd-analyze security --offline=true "$1" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}
scores=''
for f in "$T"/units/*.service; do
  e=$(exposure "$f")
  [[ -n $e ]] || fail "no exposure level for $(basename "$f"): $(systemd-analyze security --offline=true "$f" 2>&1 | tail -3)"
  awk -v e="$e" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' ||
    fail "$(basename "$f"): exposure $e, more than $MAX_EXPOSURE: $(systemd-analyze security --offline=true "$f" 2>&1 | grep '✗' | head -20)"
  scores="$scores $(basename "$f" .service)=$e"
done
pass "systemd-analyze security --offline=true: every service at most $MAX_EXPOSURE:$scores"

# the checks catch what they are for
mkdir "$T/bad"
sed 's/^ProtectSystem=strict$/ProtectSystem=stricter/' "$T/units/walden-backup@15-main.service" \
  >"$T/bad/walden-backup@15-main.service"
(cd "$T/bad" && analyze_verify ./walden-backup@15-main.service) >"$T/bad.out" || true
grep -q "protect system value.*stricter" "$T/bad.out" || fail "verify does not catch a bad setting: $(cat "$T/bad.out")"
grep -v -e '^ProtectSystem=' -e '^Protect' -e '^Private' -e '^SystemCall' -e '^Restrict' \
  -e '^CapabilityBoundingSet=' -e '^NoNewPrivileges=' -e '^MemoryDenyWriteExecute=' \
  "$T/units/walden-backup@15-main.service" >"$T/bad/walden-backup@15-main.service"
e=$(exposure "$T/bad/walden-backup@15-main.service")
awk -v e="$e" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e > m) }' ||
  fail "a unit without its sandbox rates $e, not above $MAX_EXPOSURE"
pass "a misspelt setting fails verify; without the sandbox the exposure is $e"

# the schedules: expire (04:30) comes before the Sunday drill (05:30 + up to
# 30 min) and is ordered after a drill, backup or dump still running
grep -qx 'OnCalendar=\*-\*-\* 04:30:00' "$T/units/walden-expire@15-main.timer" &&
  grep -qx 'OnCalendar=Sun \*-\*-\* 05:30:00' "$T/units/walden-drill@15-main.timer" ||
  fail "schedules: $(grep -h OnCalendar "$T"/units/*.timer)"
grep -qx 'After=walden-backup@%i.service walden-dump@%i.service walden-drill@%i.service' \
  "$T/units/walden-expire@15-main.service" || fail "expire is not ordered after the others"
grep -q '^RemoveIPC=' "$T"/units/walden-{backup,dump,expire,drill,metrics}@15-main.service &&
  fail "RemoveIPC in a unit that runs as postgres (it would remove the server's shared memory)"
pass "expire runs before the drill and waits for a running drill, backup or dump"

finish
