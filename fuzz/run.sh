#!/usr/bin/env bash
# Runs each libFuzzer target for a fixed time over its seed corpus
# (fuzz/corpus/<target>, read only) and prints one line of numbers per target.
# New inputs go to <build-dir>/fuzz-work/<target>/corpus, crashes to
# <build-dir>/fuzz-work/<target>/crash-*. Exits non-zero when any target
# crashes, leaks, hangs or trips a sanitizer.
#   fuzz/run.sh <build-dir> <seconds-per-target> [target...]
set -uo pipefail
cd "$(dirname "$0")/.."
build=$1
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(webhook wire cron rfc3339 router http)
fi

failed=()
printf '%-8s %12s %10s %8s %8s %s\n' target execs exec/s cov corpus result
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus"
  log="$work/fuzz.log"
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; $log)"
    failed+=("$t")
  fi
  printf '%-8s %12s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}" "$result"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|FUZZ_CHECK|runtime error|SUMMARY|Test unit written' "$log" | head -20
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
