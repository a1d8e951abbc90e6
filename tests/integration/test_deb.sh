#!/usr/bin/env bash
# label: slow
# The Debian packages: scripts/build-deb.sh builds walden, libwalden0 and
# libwalden-dev with dpkg-buildpackage (build dependencies only); lintian
# finds no error or warning in them; their contents are split as they should
# be. Then they are installed on this machine with apt-get (the .deb files)
# and used: walden --version, /etc/walden and the state folders made with
# their owner and mode, and a short scenario with the installed /usr/bin/walden
# against a throwaway PostgreSQL 15 (init, archiving, a backup, info);
# finally purged, leaving no binary behind. Refuses to run when a walden
# package is installed already (it is not this test's to replace).
source "$(dirname "$0")/lib.sh"

command -v dpkg-buildpackage >/dev/null && dpkg-query -W debhelper >/dev/null 2>&1 ||
  fail "debhelper is not installed (scripts/install-deps.sh)"
command -v lintian >/dev/null || fail "lintian is not installed (scripts/install-deps.sh)"
mkdir "$T/deb"
bash "$WALDEN_SOURCE_DIR/scripts/build-deb.sh" "$T/deb" >"$T/build.log" 2>&1 ||
  fail "the packages do not build: $(tail -20 "$T/build.log")"
deb=$(ls "$T"/deb/walden_*.deb)
lib=$(ls "$T"/deb/libwalden0_*.deb)
dev=$(ls "$T"/deb/libwalden-dev_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
[[ $depends == *libpq5* && $depends == *libcurl4* ]] || fail "Depends lacks libpq5 or libcurl4: $depends"
pass "dpkg-buildpackage built $(cd "$T/deb" && ls *.deb | tr '\n' ' ')"

# lintian: nothing at error or warning level (info and pedantic notes pass)
set +e
lintian -I --no-tag-display-limit "$deb" "$lib" "$dev" >"$T/lintian.out" 2>&1
rc=$?
set -e
# status 0: no error tag; 1: error tags; more: lintian itself failed
[[ $rc -le 1 ]] || fail "lintian failed ($rc): $(cat "$T/lintian.out")"
grep -E '^[EW]: ' "$T/lintian.out" && fail "lintian: $(grep -E '^[EW]: ' "$T/lintian.out")"
pass "lintian: no error, no warning ($(grep -cE '^I: ' "$T/lintian.out" || true) info tags)"

# the split (listings in files: grep -q on a pipe would stop dpkg-deb early)
for p in deb lib dev; do dpkg-deb -c "${!p}" | awk '{print $6, $7, $8}' | sed 's/ *$//' >"$T/$p.list"; done
awk '{print $1}' "$T/deb.list" >"$T/deb.names"
grep -q '^\./usr/lib/x86_64-linux-gnu/libwalden\.so\.0' "$T/lib.list" || fail "libwalden0 lacks the library"
grep -qE 'include|\.a$|pkgconfig|bin/walden' "$T/lib.list" && fail "libwalden0 holds more than the library"
for f in usr/include/walden/walden.h 'libwalden\.a$' 'pkgconfig/walden\.pc$' 'libwalden\.so ->'; do
  grep -q "$f" "$T/dev.list" || fail "libwalden-dev lacks $f"
done
for f in ./usr/bin/walden ./usr/share/man/man1/walden.1.gz ./usr/share/man/man1/walden-backup.1.gz ./usr/lib/systemd/system/walden-backup@.timer \
  ./usr/lib/systemd/system/walden-failure@.service ./etc/logrotate.d/walden ./etc/walden/ \
  ./usr/share/doc/walden/README.md ./usr/share/doc/walden/commands/backup.md \
  ./usr/share/doc/walden/services.md ./usr/share/doc/walden/walden.conf.sample \
  ./usr/share/walden/prometheus/walden-alerts.yml ./usr/share/walden/grafana/walden-dashboard.json; do
  grep -qxF -- "$f" "$T/deb.names" || fail "walden lacks $f"
done
grep -qE 'libwalden\.so|include/' "$T/deb.list" && fail "walden holds library files"
pass "split: libwalden0 (shared library), libwalden-dev (header, static library, pkg-config), walden (the rest)"

# ---- installed with apt on this machine
exec 9>/var/lock/walden-test-deb.lock
flock 9
dpkg-query -W -f='${Status}' walden 2>/dev/null | grep -q installed &&
  fail "a walden package is installed on this machine already: not replacing it"
[[ -e /usr/bin/walden ]] && fail "/usr/bin/walden exists already: not replacing it"
run_stat=$(stat -c '%a %U %G' /run/walden 2>/dev/null || true)
installed=0
undo() {
  local rc=$?
  if ((installed)); then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq walden libwalden0 >/dev/null 2>&1 || true
  fi
  # the package's tmpfiles entry set /run/walden's owner and mode: as it was
  if [[ -n $run_stat ]]; then
    read -r m u g <<<"$run_stat"
    chown "$u:$g" /run/walden 2>/dev/null && chmod "$m" /run/walden 2>/dev/null || true
  fi
  cleanup "$rc"
}
trap undo EXIT
cp "$deb" "$lib" "$T/"
installed=1
(cd "$T" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "./$(basename "$deb")" "./$(basename "$lib")") >"$T/apt.log" 2>&1 ||
  fail "apt-get install: $(tail -20 "$T/apt.log")"
[[ $(dpkg-query -W -f='${Status}' walden) == "install ok installed" ]] || fail "walden is not installed"
/usr/bin/walden --version >"$T/version" || fail "walden --version failed"
grep -q "^walden 0\.[0-9]" "$T/version" || fail "walden --version: $(cat "$T/version")"
[[ $(stat -c '%a %U %G' /etc/walden) == "750 postgres postgres" ]] ||
  fail "/etc/walden: $(stat -c '%a %U %G' /etc/walden)"
for d in /var/lib/walden /var/log/walden; do
  [[ $(stat -c '%a %U %G' $d) == "750 postgres postgres" ]] || fail "$d: $(stat -c '%a %U %G' $d 2>&1)"
done
[[ $(stat -c '%a %U %G' /run/walden) == "1770 root postgres" ]] ||
  fail "/run/walden: $(stat -c '%a %U %G' /run/walden)"
grep -qx "ExecStart=/usr/bin/walden --config /etc/walden/%i.conf --log-file /var/log/walden/%i.log backup" \
  /usr/lib/systemd/system/walden-backup@.service ||
  fail "walden-backup@.service: $(grep ExecStart /usr/lib/systemd/system/walden-backup@.service)"
pass "apt-get installed $(head -1 "$T/version"): /etc/walden, /var/lib/walden, /var/log/walden 0750 postgres; /run/walden 1770 root:postgres"

# a short scenario with the installed binary
PORT=$(next_port)
new_passphrase "$T/pass"
write_conf "$T/walden.conf" "repo=$T/repo" "encrypt-passphrase-file=$T/pass" "lock-path=$T/locks" \
  "pghost=$T/sock" "pguser=postgres"
archiving_primary "$T/pgdata" "$PORT" "$T/walden.conf" /usr/bin/walden
psql_c "$PORT" "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
as_pg /usr/bin/walden --config "$T/walden.conf" --pgport "$PORT" --pgdata "$T/pgdata" backup \
  >"$T/backup.out" 2>&1 || fail "backup with the installed binary: $(cat "$T/backup.out")"
id=$(awk '/^backup /{print $2; exit}' "$T/backup.out" | tr -d :)
as_pg /usr/bin/walden --config "$T/walden.conf" info --output json >"$T/info.json" ||
  fail "info with the installed binary"
python3 - "$T/info.json" "$id" <<'PY' || fail "info: $(cat "$T/info.json")"
import json, sys
info = json.load(open(sys.argv[1]))
ids = [b["id"] for c in info["clusters"] for b in c["backups"]]
sys.exit(0 if sys.argv[2] in ids else 1)
PY
pg_stop "$T/pgdata"
pass "the installed walden: init, archiving, backup $id, listed by info"

# ---- purged
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq walden libwalden0 >"$T/purge.log" 2>&1 ||
  fail "apt-get purge: $(tail -20 "$T/purge.log")"
installed=0
[[ ! -e /usr/bin/walden && ! -e /usr/lib/systemd/system/walden-backup@.service ]] ||
  fail "purge left files behind"
dpkg-query -W -f='${Status}' walden 2>/dev/null | grep -q "install ok" && fail "walden still installed"
[[ ! -e /var/log/walden ]] || fail "purge left /var/log/walden"
pass "apt-get purge removed the packages"

finish
