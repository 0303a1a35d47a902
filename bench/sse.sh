#!/usr/bin/env bash
# SSE fan-out benchmark: STREAMS (default 10,000) concurrent event streams on loopback to one
# project; one status change; time until every client has it (p50/p99), the CPU each side
# spent on it, and server memory per open stream. Each round is run twice, side by side:
# against sandboxd and against bench/sse_floor.cc (the same frame sent to the same number of
# plain sockets by as many threads, nothing else), so the ratio is what sandboxd adds to what
# this machine's loopback costs. Writes docs/benchmarks.md (section "sse").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STREAMS=${STREAMS:-10000}
ROUNDS=${ROUNDS:-5}
WORK=$(mktemp -d /tmp/sbx-bench-sse.XXXXXX)
FLOOR_PID=
cleanup() {
  [ -n "$FLOOR_PID" ] && kill "$FLOOR_PID" 2>/dev/null || true
  stop_sandboxd "$WORK/data"
  rm -rf "$WORK"
}
trap cleanup EXIT
# Each end holds one descriptor per stream (the daemon raises its own limit to
# the hard limit at start; the clients inherit this one).
# sandboxd gives API connections half of its descriptors (the other half is
# the preview gateway's).
ulimit -n $(( 2 * STREAMS + 4096 ))

# Presence off: the only change during a round is the one being measured.
start_sandboxd "$WORK/data" 47200-47299 --idle-timeout 1h --max-event-streams $((STREAMS + 100)) \
  --presence false
api POST /api/projects/fanout/sandbox >/dev/null
HOSTPORT=${SBX_URL#http://}
# The baseline sends the same object.
api GET /api/projects/fanout/sandbox >"$WORK/object.json"
"$BUILD_DIR/sse_floor" "$WORK/object.json" >"$WORK/floor.out" &
FLOOR_PID=$!
for _ in $(seq 1 50); do grep -q '^port' "$WORK/floor.out" 2>/dev/null && break; sleep 0.1; done
FLOOR_PORT=$(sed -n 's/^port //p' "$WORK/floor.out")
[ -n "$FLOOR_PORT" ] || { echo "sse_floor did not start"; exit 1; }
: >"$WORK/results.jsonl"
: >"$WORK/floor.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  "$BUILD_DIR/sse_fanout" "${HOSTPORT%:*}" "${HOSTPORT#*:}" "$SBX_TOKEN" fanout \
    "$STREAMS" "$SBX_PID" | tee -a "$WORK/results.jsonl"
  sleep 1
  "$BUILD_DIR/sse_fanout" 127.0.0.1 "$FLOOR_PORT" - fanout "$STREAMS" "$FLOOR_PID" \
    | tee -a "$WORK/floor.jsonl"
  sleep 1
done
python3 - "$WORK/results.jsonl" "$WORK/floor.jsonl" "$WORK/section.md" "$STREAMS" <<'PY'
import json, statistics, sys, datetime, os
rows = [json.loads(l) for l in open(sys.argv[1])]
base = [json.loads(l) for l in open(sys.argv[2])]
med = lambda rs, k: statistics.median(r[k] for r in rs)
# Memory from the first round only: later rounds reuse what the allocator kept.
per_stream = (rows[0]["rss_during_kib"] - rows[0]["rss_before_kib"]) / rows[0]["streams"]
ok = all(r["received"] == r["streams"] for r in rows + base)
def row(name, key, unit="ms", fmt="{:.1f}"):
    a, b = med(rows, key), med(base, key)
    return f"| {name} | {fmt.format(a)} {unit} | {fmt.format(b)} {unit} | {a / b:.2f}× |"
p99s = ", ".join(f"{r['p99_ms']:.0f}" for r in rows)
with open(sys.argv[3], "w") as f:
    f.write(f"""## SSE fan-out (`bench/sse.sh`)

Run {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ} on {os.cpu_count()} cores: {sys.argv[4]} concurrent event streams
(one C++ Boost.Asio client process, `bench/sse_fanout.cc`, on loopback) on one project, presence off; one change (`POST …/activity`);
latency from sending the change until each client has the new version. Each round runs against
sandboxd and then against the baseline `bench/sse_floor.cc` (the same frame, one `send()` per
plain socket, as many sending threads, nothing else). Medians of {len(rows)} rounds each.

| measure | sandboxd | baseline | ratio |
|---|---:|---:|---:|
| every client received the change | {"yes" if ok else "NO"} | | |
{row("fan-out p50", "p50_ms")}
{row("fan-out p99", "p99_ms")}
{row("slowest client", "max_ms")}
{row("server CPU for the fan-out", "server_cpu_ms")}
{row("client CPU for the fan-out", "client_cpu_ms")}
| change acknowledged | {med(rows, "ack_ms"):.1f} ms | | |
| opening all streams | {med(rows, "connect_s"):.2f} s | | |
| server RSS per open stream (first round: RSS growth / streams) | {per_stream:.1f} KiB | | |

sandboxd's fan-out p99 in each round: {p99s} ms.
""")
PY
replace_section sse "$WORK/section.md"
cat "$WORK/section.md"
