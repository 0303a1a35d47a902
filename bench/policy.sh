#!/usr/bin/env bash
# Idle policy simulation. Writes docs/benchmarks.md (section "policy").
# Synthetic users (the generator is described at the top of
# bench/policy_sim.cc: office workers, evening hobbyists, bursty users) over
# WEEKS simulated weeks and PROJECTS projects, replayed against each policy of
# src/policy: fixed 3 min, adaptive, warmup. Three seeds; the table is the
# first, the ratios line gives all three. No daemon, no network.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROJECTS=${PROJECTS:-1000}
WEEKS=${WEEKS:-4}
cmake --build "$BUILD_DIR" --target policy_sim -j"$(nproc)" >/dev/null

# What the numbers say, kept with them (edit when the policies change).
NOTE="**Not met.** Most resume waits in this workload come from breaks of a few minutes, each
user with their own habit. A timeout long enough to ride out half of them keeps sandboxes up
through those breaks and through every longer gap (meetings, lunch, the end of a session) for
its whole length: even the best single timeout pays about 15 % more hours for a 50 % cut
(fixed 15m). Adaptive learns each user's breaks and is ahead of a fixed timeout at equal cost
(compare it with fixed 10m and 15m), but not by enough; warmup only removes the waits after
long absences (mornings, lunch), a small share here."
OUT=$(mktemp /tmp/sbx-bench-policy.XXXXXX)
trap 'rm -f "$OUT" "$OUT".*' EXIT
for seed in 1 2 3; do
  start=$(now_ms)
  # Two more fixed timeouts, to compare the policies with at equal cost.
  "$BUILD_DIR/policy_sim" --projects "$PROJECTS" --weeks "$WEEKS" --seed "$seed" \
    --fixed 10 --fixed 15 > "$OUT.$seed"
  echo $(( $(now_ms) - start )) > "$OUT.$seed.ms"
done
ratios() {  # the "vs fixed 3m" columns of one run, for every other policy
  awk -F'|' 'NR > 3 { split($2, name, " [(]"); gsub(/^ +| +$/, "", name[1]); gsub(/ /, "", $4);
    gsub(/ /, "", $6); printf "%s%s: hours %s, waits %s", (NR > 4 ? "; " : ""), name[1], $4, $6 }' "$1"
}
{
  echo "## Idle policies (\`bench/policy.sh\`)"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ): $PROJECTS synthetic projects over $WEEKS weeks (seed 1,"
  echo "$(cat "$OUT.1.ms") ms to simulate every row). Sandbox-hours count every minute a"
  echo "sandbox ran; a resume wait is a user coming back to a paused sandbox; a regret wake is a"
  echo "resume wait within 10 min of the idle pause."
  echo
  cat "$OUT.1"
  echo
  echo "Against fixed, per seed:"
  for seed in 1 2 3; do echo "- seed $seed: $(ratios "$OUT.$seed")"; done
  echo
  echo "Target: adaptive or warmup cuts resume waits by ≥ 50 % at ≤ 10 % more sandbox-hours."
  echo
  echo "$NOTE"
} > "$OUT.md"
replace_section policy "$OUT.md"
cat "$OUT.md"
