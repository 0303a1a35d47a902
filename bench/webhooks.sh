#!/usr/bin/env bash
# Webhook ingest benchmark: signed, distinct E2B events posted at full speed on
# loopback into `sandboxd serve` (SQLite); every 200 is a durable commit of the
# new state, the processed event id and the history row. Reports events/s and
# ack p50/p99, next to a status-read figure from the same run. Writes
# docs/benchmarks.md (section "webhooks").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

EVENTS=${EVENTS:-60000}
CONNS=${CONNS:-50}
SECRET=bench-secret
WORK=$(mktemp -d /tmp/sbx-bench-webhooks.XXXXXX)
cleanup() { stop_sandboxd "$WORK/data"; rm -rf "$WORK"; }
trap cleanup EXIT

python3 "$(dirname "$0")/webhook_events.py" "$EVENTS" "$SECRET" "$WORK/events.tsv"
# No reconciler during the run: the synthetic sandboxes exist at no provider.
E2B_WEBHOOK_SECRET=$SECRET start_sandboxd "$WORK/data" 47100-47199 --idle-timeout 1h \
  --reconcile-schedule "@every 1h"
api POST /api/projects/status-probe/sandbox >/dev/null

# One wrk thread posts each event once; the run ends when the file is used up.
OUT=$(EVENTS_FILE="$WORK/events.tsv" wrk -t1 -c"$CONNS" -d120s --timeout 10s \
  -s "$(dirname "$0")/webhooks.lua" "$SBX_URL")
read -r REQS DUR_US P50 P99 NON2XX < <(echo "$OUT" | sed -n 's/^RESULT //p')
# wrk keeps its clock running after the last event, so the rate comes from the
# store: events committed over the span between the first and last commit.
# Only first deliveries count: wrk repeats the last event while it stops, and
# those repeats are recorded as duplicates.
read -r APPLIED SPAN_MS < <(sqlite3 -separator ' ' "$WORK/data/sandboxd.db" \
  "SELECT COUNT(*), MAX(recorded_at_ms) - MIN(recorded_at_ms) FROM history
   WHERE source = 'webhook' AND outcome = 'applied'")
RATE=$(python3 -c "print(round($APPLIED / max($SPAN_MS, 1) * 1000))")

# Status reads in the same run, for scale.
STATUS=$(wrk -t1 -c50 -d5s --latency -H "Authorization: Bearer $SBX_TOKEN" \
  "$SBX_URL/api/projects/status-probe/sandbox" | sed -n 's/Requests\/sec:\s*//p')

cat >"$WORK/section.md" <<MD
## Webhook ingest (\`bench/webhooks.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $EVENTS distinct signed \`sandbox.lifecycle.created\` events
(each adopts a new project), posted by wrk (1 thread, $CONNS connections) into \`POST /api/webhooks/e2b\`
on SQLite (WAL, synchronous=NORMAL: a commit survives a crash of the process). Every 200 means the
state, the processed event id and the history row were committed.

| measure | value |
|---|---:|
| requests sent | $REQS (non-2xx: $NON2XX) |
| distinct events applied durably (history rows, outcome \`applied\`) | $APPLIED in $SPAN_MS ms |
| **events/s applied** | **$RATE** (target ≥ 5,000) |
| ack latency p50 | $P50 ms |
| ack latency p99 | $P99 ms (target ≤ 10 ms) |
| status reads/s in the same run (for scale) | $STATUS |
MD
replace_section webhooks "$WORK/section.md"
cat "$WORK/section.md"
