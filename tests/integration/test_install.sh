#!/usr/bin/env bash
# cmake --install puts everything in place under a fresh prefix: the binary,
# the shared and static library, the public header, a pkg-config file,
# walden(1) naming every command, the systemd template units (pointing at
# the installed binary) and timers, the sample config. Then the example
# program of docs/examples/ builds against the installed library through
# pkg-config and archives a real WAL segment into a repository that the
# installed binary initialized and lists.
source "$(dirname "$0")/lib.sh"

BUILD=${WALDEN_BUILD_DIR:?run through ctest}
P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 || fail "install: $(tail -5 "$T/install.log")"
libdir=$(dirname "$(find "$P" -name 'libwalden.so' | head -1)")
[[ -n $libdir && -x $P/bin/walden ]] || fail "no binary or shared library: $(find "$P" -maxdepth 3)"
for f in "$P/include/walden/walden.h" "$libdir/libwalden.a" "$libdir/pkgconfig/walden.pc" \
  "$P/share/man/man1/walden.1" "$P/share/doc/walden/walden.conf.sample" \
  "$P/share/doc/walden/commands/backup.md"; do
  [[ -s $f ]] || fail "not installed: $f"
done
for u in backup dump drill expire metrics; do
  [[ -s $P/lib/systemd/system/walden-$u@.timer ]] || fail "no walden-$u@.timer"
  grep -qx "ExecStart=$P/bin/walden --config /etc/walden/%i.conf .* $u.*" "$P/lib/systemd/system/walden-$u@.service" ||
    fail "walden-$u@.service does not run the installed binary: $(grep ExecStart "$P/lib/systemd/system/walden-$u@.service")"
done
"$P/bin/walden" --version | grep -q "^walden [0-9]" || fail "walden --version"
for cmd in $("$P/bin/walden" help-gen commands); do
  [[ -s $P/share/man/man1/walden-$cmd.1 ]] || fail "walden-$cmd(1) not installed"
  grep -q "^\.B $cmd$" "$P/share/man/man1/walden.1" || fail "walden(1) lacks $cmd"
done
# every command's help points to the object-store options, which its own
# option list leaves out
for cmd in archive-push backup restore verify; do
  "$P/bin/walden" help "$cmd" | grep -q "the s3-\*, azure-\* and net-\* ones for repo" ||
    fail "walden help $cmd does not point to the object-store options"
done
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$P"/share/man/man1/walden*.1 2>"$T/groff.err"
  [[ ! -s $T/groff.err ]] || fail "groff warns: $(head -3 "$T/groff.err")"
fi
pass "installed: binary, libraries, header, pkg-config, walden(1) and walden-COMMAND(1) for every command, units, sample"

# the example program, built against the installed library
export PKG_CONFIG_PATH=$libdir/pkgconfig
# the test build's library carries the sanitizers: so must the program
san=()
# (ldd's output read whole: grep -q leaving early would make pipefail see
# ldd's SIGPIPE)
deps=$(ldd "$libdir/libwalden.so")
[[ $deps == *libasan* ]] && san=(-fsanitize=address,undefined)
cc -Wall -Wextra -Werror "${san[@]}" "$WALDEN_SOURCE_DIR/docs/examples/archive_push.c" \
  $(pkg-config --cflags --libs walden) -o "$T/archive_push" 2>"$T/cc.err" ||
  fail "the example does not build: $(cat "$T/cc.err")"
pg_init "$T/pgdata"
chmod 0755 "$T/archive_push"
as_pg env LD_LIBRARY_PATH="$libdir" "$P/bin/walden" --repo "$T/repo" --sign-key-file "$T/sign.key" --pgdata "$T/pgdata" init >/dev/null
seg=$(ls "$T/pgdata/pg_wal" | grep -E '^[0-9A-F]{24}$' | head -1)
as_pg env LD_LIBRARY_PATH="$libdir" "$T/archive_push" "$T/repo" "$T/pgdata/pg_wal/$seg" "$T/sign.key" >"$T/push.out" ||
  fail "the example failed: $(cat "$T/push.out")"
as_pg "$P/bin/walden" --repo "$T/repo" --sign-key-file "$T/sign.key" archive-list | grep -q "^$seg" ||
  fail "$seg is not in the archive: $(as_pg "$P/bin/walden" --repo "$T/repo" --sign-key-file "$T/sign.key" archive-list)"
pass "docs/examples/archive_push.c built with pkg-config archived $seg: $(cat "$T/push.out")"

finish
