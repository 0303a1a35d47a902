#!/usr/bin/env bash
# Webhook ingest benchmark: signed, distinct E2B events posted at full speed on
# loopback into `sandboxd serve`; every 200 is a durable commit of the new
# state, the processed event id and the history row. Three runs over the same
# events: SQLite; PostgreSQL with one replica; PostgreSQL with three replicas
# behind the one database (the events split between them). PostgreSQL is a
# throwaway cluster with its durable defaults (fsync, synchronous_commit on).
# Then, on the one-replica PostgreSQL setup, the database is frozen (SIGSTOP)
# for 10 s while webhooks and status reads go on (bench/webhook_outage.py),
# and acks are timed at fixed offered rates (bench/webhook_rate.cc) beside the
# disk's own flush latency over the same seconds (bench/fsync_probe.cc).
# Reports events/s and ack p50/p99 per run. Writes docs/benchmarks.md
# (section "webhooks").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

EVENTS=${EVENTS:-60000}
CONNS=${CONNS:-48}
SECRET=bench-secret
WORK=$(mktemp -d /tmp/sbx-bench-webhooks.XXXXXX)
PG_DIR=""
# Every started sandboxd as "data_dir pid url token".
INSTANCES=()

stop_all() {
  for inst in "${INSTANCES[@]}"; do
    read -r data SBX_PID SBX_URL SBX_TOKEN <<<"$inst"
    stop_sandboxd "$data"
  done
  INSTANCES=()
}
cleanup() {
  stop_all
  [ -n "$PG_DIR" ] && "$REPO_DIR/tools/with_postgres" --stop "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME [flags…]: one `sandboxd serve` with data dir $WORK/NAME; no
# reconciler during the run (the synthetic sandboxes exist at no provider).
start() {
  local name=$1
  shift
  E2B_WEBHOOK_SECRET=$SECRET start_sandboxd "$WORK/$name" 47100-47199 --idle-timeout 1h \
    --reconcile-schedule "@every 1h" "$@"
  INSTANCES+=("$WORK/$name $SBX_PID $SBX_URL $SBX_TOKEN")
}

# ingest URL…: posts every event once, split evenly between the URLs, one wrk
# (1 thread, CONNS/n connections) per URL, all at once. Sets REQS, NON2XX and
# the worst P50 and P99 over the wrk runs.
ingest() {
  local n=$# i=0 pids=()
  split -n "l/$n" -d -a 1 "$WORK/events.tsv" "$WORK/part."
  rm -f "$WORK"/done.?
  for url in "$@"; do
    DONE_FILE="$WORK/done.$i" EVENTS_FILE="$WORK/part.$i" wrk -t1 -c$((CONNS / n)) -d120s \
      --timeout 10s -s "$(dirname "$0")/webhooks.lua" "$url" >"$WORK/wrk.$i" &
    pids+=($!)
    i=$((i + 1))
  done
  # wrk runs for its whole -d unless interrupted: once a run has sent every
  # event (its done file), SIGINT ends it and it prints its summary.
  for i in "${!pids[@]}"; do
    while [ ! -e "$WORK/done.$i" ] && kill -0 "${pids[$i]}" 2>/dev/null; do sleep 0.2; done
    kill -INT "${pids[$i]}" 2>/dev/null || true
  done
  wait "${pids[@]}"  # (a bare `wait` would also wait for the daemons)
  read -r REQS P50 P99 NON2XX < <(cat "$WORK"/wrk.? | python3 -c '
import sys
rows = [l.split()[1:] for l in sys.stdin if l.startswith("RESULT ")]
print(sum(int(r[0]) for r in rows), max(float(r[2]) for r in rows),
      max(float(r[3]) for r in rows), sum(int(r[4]) for r in rows))')
  rm -f "$WORK"/part.? "$WORK"/wrk.?
}

# rate APPLIED SPAN_MS -> events/s. wrk keeps its clock running after the
# last event, so the rate comes from the store: first deliveries committed
# over the span between the first and last commit (wrk repeats the last event
# while it stops; repeats are recorded as duplicates and not counted).
rate() { python3 -c "print(round($1 / max($2, 1) * 1000))"; }
# row STORE REPLICAS: the results table's row for the last ingest.
row() {
  echo "| $1 | $2 | $REQS ($NON2XX) | $APPLIED in $SPAN_MS ms | **$(rate "$APPLIED" "$SPAN_MS")** | $P50 | $P99 |"
}
PG_LABEL="PostgreSQL 15 (fsync, synchronous_commit on)"
APPLIED_SQL="SELECT COUNT(*), MAX(recorded_at_ms) - MIN(recorded_at_ms) FROM history
  WHERE source = 'webhook' AND outcome = 'applied'"

python3 "$(dirname "$0")/webhook_events.py" "$EVENTS" "$SECRET" "$WORK/events.tsv"

# 1. SQLite.
start sqlite
api POST /api/projects/status-probe/sandbox >/dev/null
ingest "$SBX_URL"
read -r APPLIED SPAN_MS < <(sqlite3 -separator ' ' "$WORK/sqlite/sandboxd.db" "$APPLIED_SQL")
SQLITE_ROW=$(row "SQLite (WAL, synchronous=NORMAL)" 1)
# Status reads in the same run, for scale.
STATUS=$(wrk -t1 -c50 -d5s --latency -H "Authorization: Bearer $SBX_TOKEN" \
  "$SBX_URL/api/projects/status-probe/sandbox" | sed -n 's/Requests\/sec:\s*//p')
stop_all

STORE_TIMEOUT=$("$BUILD_DIR/sandboxd" serve --help | sed -n 's/.*--store-timeout TEXT=\([^ ]*\).*/\1/p')

# 2. PostgreSQL, durable, one database per run.
eval "$(SBX_PG_DURABLE=1 "$REPO_DIR/tools/with_postgres" --start 2>/dev/null)"
PG_DIR=$SBX_TEST_PG_DIR
PG_BASE="postgres://postgres@127.0.0.1:$PGPORT"
createdb bench1
createdb bench3

start pg1 --store "$PG_BASE/bench1"
api POST /api/projects/status-probe/sandbox >/dev/null
ingest "$SBX_URL"
read -r APPLIED SPAN_MS < <(psql -d bench1 -AtF ' ' -c "$APPLIED_SQL")
PG1_ROW=$(row "$PG_LABEL" 1)
# The outage, on this replica (its events are new ones, after the ingest).
OUTAGE=$(python3 "$(dirname "$0")/webhook_outage.py" "$SBX_URL" "$SBX_TOKEN" "$SECRET" \
  status-probe "$SBX_TEST_PG_DATA" "$PG_BASE/bench1")
stop_all

# 3. Acks at fixed offered rates (open loop, bench/webhook_rate.cc), one
# replica on PostgreSQL, each rate on a fresh database, 10 s of deliveries.
RATE_ROWS=""
python3 "$(dirname "$0")/webhook_events.py" $((10 * 5000)) "$SECRET" "$WORK/rate-events.tsv" 1000000
for rate in ${RATES:-2000 3000 4000 5000}; do
  createdb "rate$rate"
  start "rate$rate" --store "$PG_BASE/rate$rate"
  head -n $((10 * rate)) "$WORK/rate-events.tsv" >"$WORK/rate.tsv"
  HP=${SBX_URL#http://}
  # What the disk gives a commit meanwhile (bench/fsync_probe.cc), on the
  # cluster's filesystem.
  "$BUILD_DIR/fsync_probe" "$PG_DIR" 10 10 >"$WORK/probe.out" &
  PROBE_PID=$!
  read -r _ SENT OK R_NON2XX R_ERR R_P50 R_P99 R_MAX _ R_P99W < <("$BUILD_DIR/webhook_rate" \
    "${HP%:*}" "${HP#*:}" "$WORK/rate.tsv" "$rate" 64 | grep '^RESULT')
  wait "$PROBE_PID"
  read -r _ _ F_P50 F_P99 F_MAX F_RT < <(grep '^RESULT' "$WORK/probe.out")
  [ "$F_RT" = 1 ] || F_MAX+=" (not real-time)"
  read -r APPLIED SPAN_MS < <(psql -d "rate$rate" -AtF ' ' -c "$APPLIED_SQL")
  RATE_ROWS+="| $rate | $SENT ($R_NON2XX, $R_ERR) | $(rate "$APPLIED" "$SPAN_MS") | $R_P50 | $R_P99 | $R_P99W | $R_MAX | $F_P50 / $F_P99 / $F_MAX |"$'\n'
  stop_all
done

URLS=()
for i in 1 2 3; do
  start "pg3-$i" --store "$PG_BASE/bench3"
  URLS+=("$SBX_URL")
done
ingest "${URLS[@]}"
read -r APPLIED SPAN_MS < <(psql -d bench3 -AtF ' ' -c "$APPLIED_SQL")
PG3_ROW=$(row "$PG_LABEL" 3)
stop_all

OUTAGE_MD=$(python3 - "$OUTAGE" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
def fmt(v): return "n/a" if v is None else f"{v:.2f}"
def statuses(s): return ", ".join(f"{k}: {v}" for k, v in sorted(s.items())) or "none"
rows = []
for phase, label in (("before", "5 s before"), ("during", "10 s frozen"), ("after", "5 s after")):
    a, q = r["acks_" + phase], r["reads_" + phase]
    rows.append(f"| {label} | {q['count']} ({statuses(q['statuses'])}) | {fmt(q['p50_ms'])} / {fmt(q['p99_ms'])} / {fmt(q['max_ms'])} "
                f"| {a['count']} ({statuses(a['statuses'])}) | {fmt(a['p50_ms'])} / {fmt(a['max_ms'])} |")
print("\n".join(rows))
print()
print(f"Acknowledged (200) deliveries: {r['acked']}; of those missing from `processed_events` afterwards: "
      f"**{r['acked_lost']}**. Deliveries not acknowledged, posted again after the freeze (as E2B retries): "
      f"{r['retried']}, of which refused again: **{r['retry_failed']}**. Processes stopped: {r['pids_stopped']}.")
PY
)

cat >"$WORK/section.md" <<MD
## Webhook ingest (\`bench/webhooks.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $EVENTS distinct signed \`sandbox.lifecycle.created\` events
(each adopts a new project) posted into \`POST /api/webhooks/e2b\` by wrk ($CONNS connections in all;
with three replicas one wrk per replica, each posting a third of the events). Every 200 means the
state, the processed event id and the history row were committed. PostgreSQL is a local cluster
with its durable defaults (\`fsync\`, \`synchronous_commit\`, \`full_page_writes\` on); the replicas
share it. Targets: ≥ 5,000 events/s applied durably, ack p99 ≤ 10 ms. Rates come from the store
(applied history rows over the span of their commit times); latencies from wrk (worst of the wrk
runs).

| store | replicas | requests (non-2xx) | applied durably | events/s | ack p50 ms | ack p99 ms |
|---|---:|---:|---:|---:|---:|---:|
$SQLITE_ROW
$PG1_ROW
$PG3_ROW

Status reads/s on the SQLite setup in the same run, for scale: $STATUS.

### Acks at a fixed offered rate (PostgreSQL, one replica)

wrk above keeps 48 requests in flight and so measures the saturated server, where latency is
queueing (48 in flight at 5,000/s is 9.6 ms on average by Little's law). Here
\`bench/webhook_rate.cc\` offers deliveries at a fixed rate for 10 s over up to 64 connections,
whatever the answers do, and times each ack from when its request was due (a stall shows as
latency, not as fewer requests). Each rate on a fresh database; "p99 after 1 s" leaves out the
acks due in the first second (the daemon's first requests on a fresh database, the client's
connections opening). The last column is the baseline, the disk's share of a durable ack: over
the same 10 s, \`bench/fsync_probe.cc\` appends 8 kB to a preallocated file on the cluster's
filesystem and flushes it (\`fdatasync\`, as a commit flushes the WAL) every 10 ms, at real-time
priority so that it times the disk and not its wait for a CPU.

| offered events/s | requests (non-2xx, errors) | applied events/s | ack p50 ms | ack p99 ms | ack p99 after 1 s, ms | ack max ms | baseline: flush p50 / p99 / max ms |
|---:|---:|---:|---:|---:|---:|---:|---:|
${RATE_ROWS%$'\n'}

### PostgreSQL frozen for 10 s

One replica on PostgreSQL (default \`--store-timeout\`${STORE_TIMEOUT:+ $STORE_TIMEOUT}); four clients post
new deliveries one after another and one reads a project's status, while every process of the
cluster is stopped with \`SIGSTOP\` for 10 s and then continued (\`bench/webhook_outage.py\`).
Latencies in ms (reads: p50 / p99 / max; acks: p50 / max); a request counts in the phase it was
sent in, so one in flight when the freeze began is a "before" request.

| phase | status reads (by code) | read latency | webhook acks (by code) | ack latency |
|---|---:|---:|---:|---:|
$OUTAGE_MD
MD
replace_section webhooks "$WORK/section.md"
cat "$WORK/section.md"
