#!/usr/bin/env bash
# Sweep benchmark, two parts. Writes docs/benchmarks.md (section "sweep").
# 1. Finding the due sandboxes among 100,000 tracked records (synthetic rows:
#    70% RUNNING, 1% of all due) in SQLite and in PostgreSQL (a throwaway
#    cluster from tools/with_postgres): median time of ListIdleDue.
# 2. Pauses per minute sustained by the enforcer of `sandboxd serve --provider
#    e2b` against `sandboxd runtime` (real runc containers) with CONTAINERS
#    sandboxes due at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-100000}
RUNS=${RUNS:-30}
CONTAINERS=${CONTAINERS:-300}
NOW_MS=1767225600000
WORK=$(mktemp -d /tmp/sbx-bench-sweep.XXXXXX)
RT_PID=""
cleanup() {
  stop_sandboxd "$WORK/serve"
  if [ -n "$RT_PID" ]; then kill "$RT_PID" 2>/dev/null; wait "$RT_PID" 2>/dev/null || true; fi
  if [ -d "$WORK/runtime/runc" ]; then
    for id in $(runc --root "$WORK/runtime/runc" list -q 2>/dev/null); do
      runc --root "$WORK/runtime/runc" kill "$id" KILL 2>/dev/null
      runc --root "$WORK/runtime/runc" delete --force "$id" 2>/dev/null
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The same synthetic rows for both stores (column list of the schema).
ROW_SQL="'p' || i, 'sbx' || i,
  CASE WHEN i % 10 < 7 THEN 'RUNNING' ELSE 'PAUSED' END, NULL, 'hello', 180,
  CASE WHEN i % 100 = 0 THEN $NOW_MS - 200000 ELSE $NOW_MS - 60000 END,
  $NOW_MS - 3600000, $NOW_MS - 60000, 1, NULL, NULL, NULL, $NOW_MS - 60000, NULL, '{}',
  CASE WHEN i % 10 < 7 THEN (CASE WHEN i % 100 = 0 THEN $NOW_MS - 20000 ELSE $NOW_MS + 120000 END) END"

"$BUILD_DIR/sweep_bench" init "sqlite://$WORK/sweep.db"
sqlite3 "$WORK/sweep.db" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS - 1)
  INSERT INTO sandboxes SELECT $ROW_SQL FROM n;"
read -r SQ_MED SQ_P90 SQ_DUE < <("$BUILD_DIR/sweep_bench" time "sqlite://$WORK/sweep.db" "$NOW_MS" "$RUNS")

PG_LINE=$("$REPO_DIR/tools/with_postgres" bash -c "
  set -e
  '$BUILD_DIR/sweep_bench' init \"\$SBX_TEST_PG_URL\"
  psql -q \"\$SBX_TEST_PG_URL\" -c \"INSERT INTO sandboxes SELECT $ROW_SQL FROM generate_series(0, $ROWS - 1) AS i; ANALYZE sandboxes;\" >/dev/null
  '$BUILD_DIR/sweep_bench' time \"\$SBX_TEST_PG_URL\" $NOW_MS $RUNS" | tail -1)
read -r PG_MED PG_P90 PG_DUE <<<"$PG_LINE"

# Part 2: CONTAINERS real sandboxes due at once.
mkdir -p "$WORK/runtime"
"$BUILD_DIR/sandboxd" runtime --listen 127.0.0.1:0 --data-dir "$WORK/runtime" \
  --templates-dir "$REPO_DIR/templates" --port-range 48000-48999 --log-level warn \
  >"$WORK/runtime.out" 2>"$WORK/runtime.err" &
RT_PID=$!
for _ in $(seq 1 100); do
  RT_URL=$(sed -n 's#^sandboxd runtime listening on \(http://[^/]*\)/$#\1#p' "$WORK/runtime.out")
  [ -n "$RT_URL" ] && break
  sleep 0.1
done
[ -n "$RT_URL" ] || { echo "runtime did not start"; cat "$WORK/runtime.err"; exit 1; }
RT_KEY=$(cat "$WORK/runtime/api-key")
E2B_API_KEY=$RT_KEY E2B_API_URL=$RT_URL E2B_DOMAIN=localhost \
  start_sandboxd "$WORK/serve" 47300-47399 --provider e2b --idle-timeout 1h --enforcer-schedule "@every 10s"
# Creates that fail (a port clash under load) are counted, not fatal.
seq 1 "$CONTAINERS" | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
  -H "Authorization: Bearer $SBX_TOKEN" "$SBX_URL/api/projects/load{}/sandbox" >"$WORK/creates.txt"
CREATE_FAILS=$(grep -vc '^201$' "$WORK/creates.txt" || true)
RUNNING=$(api GET "/api/sandboxes?status=RUNNING&limit=1000" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["sandboxes"]))')
# Make every one due at the same instant: stop serve, move the idle clocks back, start again.
kill "$SBX_PID"; wait "$SBX_PID" 2>/dev/null || true
sqlite3 "$WORK/serve/sandboxd.db" "UPDATE sandboxes SET idle_timeout_s = 1,
  last_activity_at_ms = last_activity_at_ms - 10000,
  pause_at_ms = CASE WHEN status = 'RUNNING' THEN last_activity_at_ms - 10000 + 1000 END"
T0=$(now_ms)
E2B_API_KEY=$RT_KEY E2B_API_URL=$RT_URL E2B_DOMAIN=localhost \
  start_sandboxd "$WORK/serve" 47300-47399 --provider e2b --idle-timeout 1h --enforcer-schedule "@every 10s"
for _ in $(seq 1 1200); do
  PAUSED=$(api GET "/api/sandboxes?status=PAUSED&limit=1000" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["sandboxes"]))')
  [ "$PAUSED" -ge "$RUNNING" ] && break
  sleep 0.1
done
T1=$(now_ms)
PAUSE_CALLS=$(curl -s -H "X-API-Key: $RT_KEY" "$RT_URL/metrics" | grep '^sandboxd_runtime_requests_total{' | grep 'route="/sandboxes/{sandboxID}/pause"' | awk '{s+=$2} END {print s+0}')
RATE=$(python3 -c "print(round($PAUSED / (($T1 - $T0) / 60000)))")

cat >"$WORK/section.md" <<MD
## Enforcer sweep (\`bench/sweep.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores.

Finding the due sandboxes (\`ListIdleDue\`, the sweep's query) among $ROWS synthetic records
(70% RUNNING, 1% due), median of $RUNS queries:

| store | median | p90 | due rows found |
|---|---:|---:|---:|
| SQLite | $SQ_MED ms | $SQ_P90 ms | $SQ_DUE |
| PostgreSQL 15 | $PG_MED ms | $PG_P90 ms | $PG_DUE |

Target ≤ 50 ms.

Pauses sustained by the enforcer: $RUNNING real sandboxes ($CREATE_FAILS of $CONTAINERS creates failed) (runc containers behind \`sandboxd runtime\`,
driven by \`sandboxd serve --provider e2b\`) made due at the same instant, from the restart of serve
until all were PAUSED: $PAUSED paused in $(( (T1 - T0) )) ms (including start-up), runtime saw
$PAUSE_CALLS pause calls → **$RATE pauses/min** (target ≥ 1,000).
MD
replace_section sweep "$WORK/section.md"
cat "$WORK/section.md"
