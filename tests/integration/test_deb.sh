#!/usr/bin/env bash
# label: slow
# The Debian package: scripts/build-deb.sh builds it with dpkg-buildpackage;
# it is unpacked into a fresh root (dpkg -x) and its binary runs: --version,
# then a short scenario with a real PostgreSQL 15 data directory: init, a
# WAL segment archived and restored byte for byte. Its metadata names the
# libraries walden opens at run time (libpq5, libcurl4), and its units run
# /usr/bin/walden.
source "$(dirname "$0")/lib.sh"

command -v dpkg-buildpackage >/dev/null && dpkg-query -W debhelper >/dev/null 2>&1 ||
  fail "debhelper is not installed (scripts/install-deps.sh)"
mkdir "$T/deb"
bash "$WALDEN_SOURCE_DIR/scripts/build-deb.sh" "$T/deb" >"$T/build.log" 2>&1 ||
  fail "the package does not build: $(tail -20 "$T/build.log")"
deb=$(ls "$T"/deb/walden_*.deb)
dpkg-deb -f "$deb" Depends | grep -q "libpq5" && dpkg-deb -f "$deb" Depends | grep -q "libcurl4" ||
  fail "Depends lacks libpq5 or libcurl4: $(dpkg-deb -f "$deb" Depends)"
pass "dpkg-buildpackage built $(basename "$deb")"

R=$T/root
dpkg -x "$deb" "$R"
for f in usr/bin/walden usr/include/walden/walden.h usr/share/man/man1/walden.1.gz usr/share/man/man1/walden-backup.1.gz \
  usr/lib/systemd/system/walden-backup.timer usr/share/doc/walden/walden.conf.sample \
  usr/share/doc/walden/commands/backup.md.gz; do
  [[ -e $R/$f ]] || fail "the package lacks /$f"
done
grep -qx "ExecStart=/usr/bin/walden backup" "$R/usr/lib/systemd/system/walden-backup.service" ||
  fail "walden-backup.service: $(grep ExecStart "$R/usr/lib/systemd/system/walden-backup.service")"
"$R/usr/bin/walden" --version >"$T/version" || fail "walden --version failed"
grep -q "^walden 0\.[0-9]" "$T/version" || fail "walden --version: $(cat "$T/version")"
pass "unpacked: $(head -1 "$T/version"), man page, units (ExecStart /usr/bin/walden), sample config"

# a short scenario with the packaged binary
chmod 0755 "$R" "$R/usr" "$R/usr/bin"
pg_init "$T/pgdata"
seg=$(ls "$T/pgdata/pg_wal" | grep -E '^[0-9A-F]{24}$' | head -1)
new_passphrase "$T/pass"
PW=("$R/usr/bin/walden" --repo "$T/repo" --encrypt-passphrase-file "$T/pass" --sign-key-file "$T/sign.key")
as_pg "${PW[@]}" --pgdata "$T/pgdata" init >/dev/null || fail "init with the packaged binary"
as_pg "${PW[@]}" archive-push "$T/pgdata/pg_wal/$seg" || fail "archive-push with the packaged binary"
as_pg "${PW[@]}" archive-get "$seg" "$T/$seg.back" || fail "archive-get with the packaged binary"
cmp "$T/pgdata/pg_wal/$seg" "$T/$seg.back" || fail "the segment came back different"
pass "the packaged walden archived $seg and restored it byte for byte (encrypted)"

finish
