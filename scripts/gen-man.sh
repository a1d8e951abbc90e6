#!/usr/bin/env bash
# gen-man.sh WALDEN OUT: writes the walden(1) man page from the binary's own
# help (`walden --help`, `walden help COMMAND`), so the page and the help
# never disagree. Run by the build (CMake), not by hand.
set -euo pipefail
walden=$1 out=$2
version=$("$walden" --version | head -1 | awk '{print $2}')
# roff: a leading '.' or '\'' must not start a request; backslashes doubled
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  echo ".TH WALDEN 1 \"\" \"walden $version\" \"User Commands\""
  echo ".SH NAME"
  echo "walden \\- PostgreSQL backup, WAL archiving, logical dumps, retention and restore drills"
  echo ".SH SYNOPSIS"
  echo ".B walden"
  echo "[\\-\\-option value]... COMMAND [ARGS]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$walden" --help | esc
  echo ".fi"
  echo ".SH COMMANDS"
  for cmd in $("$walden" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}'); do
    [[ $cmd == help || $cmd == version ]] && continue
    echo ".SS $cmd"
    echo ".nf"
    "$walden" help "$cmd" | esc
    echo ".fi"
  done
  echo ".SH FILES"
  echo ".TP"
  echo ".I /etc/walden/walden.conf"
  echo "the configuration (a commented sample: walden.conf.sample in the documentation folder)"
  echo ".SH SEE ALSO"
  echo ".BR postgres (1),"
  echo ".BR pg_dump (1),"
  echo ".BR pg_restore (1);"
  echo "the documentation in docs/ of the source, installed under share/doc/walden."
} >"$out.tmp"
mv "$out.tmp" "$out"
