#!/usr/bin/env bash
# Builds walden's fuzz targets (tests/fuzz/fuzz_<name>.c) with clang-14,
# libFuzzer, ASan and UBSan into build-fuzz/, and runs each for SECONDS
# (default 60) on a copy of its seed corpus tests/fuzz/corpus/<name>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    TARGET: kv, manifest, ... (all by default)
# FUZZ_JOBS targets run at once (default 2), one libFuzzer process each.
# Prints per target the executions and the coverage (cov, ft) it reached.
# Fails when a target crashed, leaked, timed out or ran out of memory; the
# input that did it is kept in build-fuzz/fuzz-out/<name>/ and the log
# beside it. New inputs libFuzzer found stay in build-fuzz/fuzz-out/<name>/corpus
# (add the interesting ones to tests/fuzz/corpus/<name>/ by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $# -gt 0 ]] && shift
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-2}
rss_mb=${FUZZ_RSS_MB:-2048}
CC=${FUZZ_CC:-clang-14} cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWALDEN_FUZZ=ON -DWALDEN_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 >/dev/null

if (($# > 0)); then
  targets=("$@")
else
  mapfile -t targets < <(find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' ! -name fuzz_util.c |
    sed -e 's|.*/fuzz_||' -e 's/\.c$//' | sort)
fi
out=$build_dir/fuzz-out
mkdir -p "$out"

# run_one NAME: one target for $seconds on a copy of its corpus
run_one() {
  local name=$1 dir=$out/$1
  local bin=$build_dir/tests/fuzz/fuzz_$name
  [[ -x $bin ]] || { echo "fuzz: no target '$name'" >"$dir.result"; return 1; }
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  if [[ -d tests/fuzz/corpus/$name ]]; then cp -r "tests/fuzz/corpus/$name/." "$dir/corpus/"; fi
  local rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  local execs cov ft
  # (a target that fails on a seed has printed no coverage yet)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2 || true)
  if ((rc == 0)); then
    printf '%-14s ok      %10s execs  cov %5s  ft %6s\n' "$name" "${execs:-?}" "${cov:-?}" \
      "${ft:-?}" >"$dir.result"
  else
    local found
    found=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
      -o -name 'oom-*' \) | head -1)
    printf '%-14s FAILED  %10s execs  cov %5s  ft %6s  input %s  log %s\n' "$name" \
      "${execs:-?}" "${cov:-?}" "${ft:-?}" "$found" "$dir/log" >"$dir.result"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$dir/log" \
      >>"$dir.result" || true
    return 1
  fi
}

echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
failed=0
running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
for t in "${targets[@]}"; do
  cat "$out/$t.result" 2>/dev/null || { echo "$t: no result (see $out/$t/log)"; failed=1; }
done
if ((failed)); then
  echo "fuzz: FAILED (the inputs are kept under $out)" >&2
  exit 1
fi
echo "fuzz: all targets ok"
