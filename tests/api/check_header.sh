#!/usr/bin/env bash
# The public header compiles alone, as a third party's program includes it:
# tests/api/header.c as C99 and C11, tests/api/header.cpp as C++11 and
# C++20, each with -pedantic and every warning an error.
#   check_header.sh INCLUDE_DIR
set -euo pipefail
inc=${1:?usage: check_header.sh INCLUDE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cxx=${CXX:-c++}
warn=(-Wall -Wextra -pedantic -Werror)
status=0
for std in c99 c11; do
  if ! "$cc" -std=$std "${warn[@]}" -Wstrict-prototypes -Wmissing-prototypes -I"$inc" \
    -c "$here/header.c" -o /dev/null; then
    echo "check_header: walden.h does not compile alone as $std" >&2
    status=1
  fi
done
for std in c++11 c++20; do
  if ! "$cxx" -std=$std "${warn[@]}" -I"$inc" -c "$here/header.cpp" -o /dev/null; then
    echo "check_header: walden.h does not compile alone as $std" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "check_header: walden.h compiles alone as C99, C11, C++11 and C++20"
exit $status
