# lib.sh - sourced by every integration test: a throwaway PostgreSQL 15 and
# walden run for real, everything under one temporary folder that the EXIT
# trap removes after stopping any server, also when a test fails.
#
# Tests run as root in CI; PostgreSQL refuses root, so the server and every
# walden command it runs (archive_command, restore_command) run as the
# unprivileged `postgres` user, and so do the walden commands of the tests.
set -euo pipefail

WALDEN_BIN=${WALDEN_BIN:?run through ctest, or set WALDEN_BIN}
TEST_NAME=$(basename "$0" .sh)
PG_BIN=$(pg_config --bindir 2>/dev/null || true)
[[ -x $PG_BIN/initdb ]] || PG_BIN=/usr/lib/postgresql/15/bin
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

T=$(mktemp -d "${TMPDIR:-/tmp}/walden-$TEST_NAME.XXXXXX")
chmod 0755 "$T"
RUN_AS=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$T"
  RUN_AS=(runuser -u postgres --)
fi
SERVERS=()
CHECKS=0

# cleanup [STATUS]: the EXIT trap; STATUS (default $?) is the exit status
cleanup() {
  local rc=${1:-$?}
  for d in "${SERVERS[@]}"; do
    as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  if [[ $rc -ne 0 && -n ${SERVERS[*]:-} ]]; then
    for d in "${SERVERS[@]}"; do
      echo "--- server log of $d (last 30 lines)"
      tail -30 "$d.log" 2>/dev/null || true
    done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

WALDEN_ENV=()
as_pg() { "${RUN_AS[@]}" env ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"; }

# flip_byte FILE OFFSET [COMMAND...]: inverts the byte at OFFSET, a change
# whatever the byte was (writing a fixed byte into encrypted data leaves
# the file as it was once in 256 runs); COMMAND (as_pg) runs the write
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  [[ -n $b ]] || fail "flip_byte: $1 has no byte at $2"
  printf "$(printf '\\%03o' $((b ^ 255)))" |
    "${@:3}" dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

fail() {
  echo "FAIL: $TEST_NAME: $*" >&2
  exit 1
}
pass() {
  CHECKS=$((CHECKS + 1))
  echo "ok - $*"
}
finish() { echo "$TEST_NAME: $CHECKS checks passed"; }

# walden CONFIG ARGS...: runs walden as the server's user with a config file.
# walden CONF ARGS...: walden as postgres with config file CONF; the
# variables of the array WALDEN_ENV ("WALDEN_PGPORT=5433" ...) go into its
# environment (a W helper sets the server's port and data directory there,
# since a command refuses a flag it does not take)
walden() {
  local conf=$1
  shift
  as_pg env "${WALDEN_ENV[@]}" "$WALDEN_BIN" --config "$conf" "$@"
}

# write_conf FILE [name=value]...: a walden config file (mode 0600). Unless
# it names one, it gets a sign-key-file under $T/sign-keys, one per
# repository and cluster (%c), so that every config of one area shares the key
# that its walden init made.
write_conf() {
  local f=$1
  shift
  : >"$f"
  local repo='' skf='' fast=''
  for kv in "$@"; do
    echo "${kv%%=*} = ${kv#*=}" >>"$f"
    case ${kv%%=*} in
      repo) repo=${kv#*=} ;;
      sign-key-file) skf=${kv#*=} ;;
      start-fast) fast=1 ;;
    esac
  done
  # the default (a spread checkpoint) would make every backup of a test
  # wait for checkpoint_completion_target of checkpoint_timeout
  [[ -n $fast ]] || echo "start-fast = y" >>"$f"
  if [[ -z $skf ]]; then
    mkdir -p "$T/sign-keys"
    [[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$T/sign-keys"
    echo "sign-key-file = $T/sign-keys/$(printf '%s' "$repo" | md5sum | cut -c1-16)-%c.key" >>"$f"
  fi
  chmod 0600 "$f"
  [[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$f"
}

# sign_key_of CONF: the signing key file that CONF names (%c: main).
sign_key_of() { sed -n 's/^sign-key-file = //p' "$1" | sed 's/%c/main/'; }

# resign_text FILE KEYFILE CLUSTER SYSID RELPATH: replaces FILE's signature
# line by one made with the signing key in KEYFILE (docs/security.md): what
# only a holder of that key can do. Used to reach the checks that stand
# behind authentication (a writer's own mistakes), never by an attacker.
resign_text() {
  local f=$1 keyfile=$2 cluster=$3 sysid=$4 rel=$5 priv sig
  priv=$(sed -n 's/^sign-private-key = //p' "$keyfile")
  grep -av '^signature = ' "$f" >"$T/.resign.body" || true
  {
    printf 'walden signed file v1\0%s\0%s\0%s\0' "$cluster" "$sysid" "$rel"
    sha256sum "$T/.resign.body" | cut -c1-64 | xxd -r -p
  } >"$T/.resign.msg"
  {
    echo "-----BEGIN PRIVATE KEY-----"
    printf '302e020100300506032b657004220420%s' "$priv" | xxd -r -p | base64
    echo "-----END PRIVATE KEY-----"
  } >"$T/.resign.pem"
  sig=$(openssl pkeyutl -sign -rawin -inkey "$T/.resign.pem" -in "$T/.resign.msg" | xxd -p | tr -d '\n')
  { cat "$T/.resign.body"; echo "signature = $sig"; } >"$f"
  rm -f "$T/.resign.body" "$T/.resign.msg" "$T/.resign.pem"
}

# new_passphrase FILE: a random passphrase readable only by the server user.
new_passphrase() {
  head -c 24 /dev/urandom | base64 >"$1"
  chmod 0600 "$1"
  [[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$1"
}

# next_port: a free port number (the server listens on a unix socket only,
# but the port names the socket file).
# Called as $(next_port), in a subshell: the last port is kept in a file.
echo $((20000 + ($$ % 20000))) >"$T/.last-port"
next_port() {
  local p
  p=$(($(cat "$T/.last-port") + 1))
  echo $p >"$T/.last-port"
  echo $p
}

# pg_init DIR: a new cluster in DIR.
# pg_init DIR [INITDB_ARG]...: a new cluster in DIR (e.g. -k: data checksums)
pg_init() {
  local dir=$1
  shift
  as_pg "$PG_BIN/initdb" -D "$dir" -A trust -U postgres --no-sync "$@" >/dev/null
}

# pg_configure DIR PORT [setting = value lines on stdin]
pg_configure() {
  local dir=$1 port=$2
  as_pg mkdir -p "$T/sock"
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$T/sock'"
    echo "port = $port"
    echo "fsync = off"
    cat
  } | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
}

pg_start() {
  SERVERS+=("$1")
  as_pg "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 120 start >/dev/null
}

# archiving_primary PGDATA PORT CONF [WALDEN]: a new cluster in PGDATA whose
# repository (CONF's) is initialized and which archives into it through
# WALDEN (default $WALDEN_BIN) archive-push, started on PORT. From the
# environment: INITDB_ARGS, more arguments of initdb (-k); PUSH_CONF, the
# config archive-push runs with (default CONF: one without the passphrase).
archiving_primary() {
  local dir=$1 port=$2 conf=$3 bin=${4:-$WALDEN_BIN} push=${PUSH_CONF:-$3} init=()
  read -ra init <<<"${INITDB_ARGS:-}"
  pg_init "$dir" "${init[@]}"
  as_pg "$bin" --config "$conf" --pgdata "$dir" init >/dev/null || fail "walden init of $dir"
  pg_configure "$dir" "$port" <<CONF
archive_mode = on
archive_command = '$bin --config $push archive-push %p'
CONF
  pg_start "$dir"
}

pg_stop() {
  as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
}

# psql_c PORT SQL: one value per line, unaligned.
psql_c() {
  as_pg psql -h "$T/sock" -p "$1" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

# wait_archived PORT SEGMENT [PSQL]: until pg_stat_archiver reports SEGMENT
# (or a later one) archived; fails with the server's failures otherwise.
# PSQL (default psql_c) is the function that runs a query: PSQL PORT SQL.
wait_archived() {
  local port=$1 seg=$2 q=${3:-psql_c} last
  for _ in $(seq 1 240); do
    last=$("$q" "$port" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
    if [[ -n $last && ! "$last" < "$seg" ]]; then return 0; fi
    sleep 0.25
  done
  "$q" "$port" "SELECT * FROM pg_stat_archiver" >&2 || true
  fail "segment $seg was not archived in time (last archived: ${last:-none})"
}

# wait_until WANT WHAT CMD...: until CMD prints WANT (at most 120 s; its
# failures, as while a server starts, count as not yet); fails naming WHAT.
wait_until() {
  local want=$1 what=$2 got=''
  shift 2
  for _ in $(seq 1 480); do
    got=$("$@" 2>/dev/null) || got=''
    [[ $got == "$want" ]] && return 0
    sleep 0.25
  done
  fail "$what: '$got', expected '$want'"
}

# check_markers NAME DIR WANT: starts the restored cluster in DIR on $PORT2,
# waits for the end of recovery, compares its marker rows with WANT
# ("1,2,3").
check_markers() {
  local name=$1 dir=$2 want=$3
  pg_configure "$dir" "$PORT2" </dev/null
  pg_start "$dir" || fail "$name: server did not start: $(tail -5 "$dir.log")"
  wait_recovered "$PORT2" "$name"
  local got
  got=$(psql_c "$PORT2" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker")
  [[ $got == "$want" ]] || fail "$name: markers '$got', expected '$want'"
}

# need_debian_tools: Debian's cluster tools (pg_createcluster, run as root)
# are there, or the test is skipped (fails with WALDEN_REQUIRE_SERVERS).
need_debian_tools() {
  if [[ $(id -u) -ne 0 ]] || ! command -v pg_createcluster >/dev/null; then
    [[ -z ${WALDEN_REQUIRE_SERVERS:-} ]] || fail "needs root and pg_createcluster (postgresql-common)"
    echo "skipped: needs root and pg_createcluster"
    exit 0
  fi
}

# wait_recovered PORT WHAT: until the server on PORT has left recovery (at
# most 120 s); fails naming WHAT otherwise.
wait_recovered() {
  for _ in $(seq 1 480); do
    [[ $(psql_c "$1" "SELECT pg_is_in_recovery()") == f ]] && return 0
    sleep 0.25
  done
  fail "$2: recovery did not end"
}

# switch_wal PORT: forces a segment switch; prints the finished segment.
switch_wal() {
  psql_c "$1" "SELECT pg_walfile_name(pg_switch_wal())"
}

# expect_status WANT CMD...: runs CMD, checks its exit status; its stderr is
# left in $T/stderr.
expect_status() {
  local want=$1
  shift
  set +e
  "$@" >"$T/stdout" 2>"$T/stderr"
  local got=$?
  set -e
  if [[ $got -ne $want ]]; then
    echo "command: $*" >&2
    echo "stdout: $(cat "$T/stdout")" >&2
    echo "stderr: $(cat "$T/stderr")" >&2
    fail "exit status $got, expected $want"
  fi
}

# stderr_has TEXT: the last expect_status's stderr holds TEXT, on one line.
stderr_has() {
  grep -qF -- "$1" "$T/stderr" || fail "stderr does not mention '$1': $(cat "$T/stderr")"
  [[ $(grep -c . "$T/stderr") -le 1 ]] || fail "error is not one line: $(cat "$T/stderr")"
}

# lock_file LOCKDIR REPO CLUSTER WHAT: the path of walden's lock WHAT
# (backup, dump, read) of CLUSTER in repository REPO:
# <cluster>-<first 8 hex digits of the SHA-256 of REPO>-<what>.lock.
lock_file() {
  local repo=$2
  while [[ $repo == */ && $repo != / ]]; do repo=${repo%/}; done
  echo "$1/$3-$(printf %s "$repo" | sha256sum | cut -c1-8)-$4.lock"
}

# own REPO: what an attacker planted stays readable to walden (an object
# walden cannot read stops it as an input/output error, which proves nothing)
own() { [[ ${#RUN_AS[@]} -eq 0 ]] || chown -R postgres: "$1"; }

# refused WHAT WANT CMD...: CMD exits WANT saying "failed authentication",
# in one line
refused() {
  local what=$1 want=$2
  shift 2
  expect_status "$want" "$@"
  stderr_has "failed authentication"
  [[ $(wc -l <"$T/stderr") -eq 1 ]] || fail "$what: more than one line: $(cat "$T/stderr")"
}
