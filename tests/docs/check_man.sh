#!/usr/bin/env bash
# check_man.sh MANDIR WALDEN: the generated man pages (scripts/gen-man.sh)
# are there for walden and every command, have the sections a reader
# expects, format without a warning from groff or man, and fit 80 columns.
set -euo pipefail
dir=$1 walden=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -f $dir/walden.1 ]] || fail "no $dir/walden.1"
n=0
for page in "$dir"/walden*.1; do
  warn=$(groff -ww -z -man "$page" 2>&1) || fail "groff failed on $page: $warn"
  [[ -z $warn ]] || fail "groff warns on $page: $warn"
  warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man failed on $page"
  [[ -z $warn ]] || fail "man warns on $page: $warn"
  wide=$(MANWIDTH=80 man -l "$page" 2>/dev/null | awk 'length > 80')
  [[ -z $wide ]] || fail "$page has lines wider than 80 columns: $wide"
  n=$((n + 1))
done
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" FILES ENVIRONMENT "SEE ALSO"; do
  grep -qx "\.SH $section" "$dir/walden.1" || fail "walden.1 has no $section section"
done
# every command has its page, named in walden(1)
for cmd in $("$walden" help-gen commands); do
  [[ -f $dir/walden-$cmd.1 ]] || fail "no page walden-$cmd.1"
  grep -qxF ".BR walden\\-$cmd (1)," "$dir/walden.1" || fail "walden.1 does not name walden-$cmd(1)"
  grep -qx '\.SH EXIT STATUS' "$dir/walden-$cmd.1" || fail "walden-$cmd.1 has no EXIT STATUS"
done
# an option's default, where its values are listed, is one of them (restore's
# --type shows no default of backup's)
for page in "$dir"/walden-*.1; do
  bad=$(awk '/^\.TP/ { if (one != "" && def != "" && index(one, "\\fB" def "\\fR") == 0) print flag ": " def
                       one = ""; def = "" }
             /^\.B \\-\\-/ { flag = $0 }
             /^One of: / { one = $0 }
             /^Default: / { def = substr($0, 10) }
             END { if (one != "" && def != "" && index(one, "\\fB" def "\\fR") == 0) print flag ": " def }' "$page")
  [[ -z $bad ]] || fail "$page shows a default that is not one of the option's values: $bad"
done
grep -qx '\.B WALDEN_COMPRESS_LEVEL' "$dir/walden.1" || fail "walden.1: ENVIRONMENT lacks WALDEN_COMPRESS_LEVEL"
echo "ok - $n man pages: groff and man clean, at most 80 columns, sections present"
