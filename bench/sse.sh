#!/usr/bin/env bash
# SSE fan-out benchmark: STREAMS (default 10,000) concurrent event streams on loopback to one
# project; one status change; time until every client has it (p50/p99), and
# server memory per open stream. Writes docs/benchmarks.md (section "sse").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STREAMS=${STREAMS:-10000}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d /tmp/sbx-bench-sse.XXXXXX)
cleanup() { stop_sandboxd "$WORK/data"; rm -rf "$WORK"; }
trap cleanup EXIT
# Each end holds one descriptor per stream (the daemon raises its own limit to
# the hard limit at start; the clients inherit this one).
ulimit -n $(( STREAMS + 4096 ))

# Presence off: the only change during a round is the one being measured.
start_sandboxd "$WORK/data" 47200-47299 --idle-timeout 1h --max-event-streams $((STREAMS + 100)) \
  --presence false
api POST /api/projects/fanout/sandbox >/dev/null
HOSTPORT=${SBX_URL#http://}
: >"$WORK/results.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  "$BUILD_DIR/sse_fanout" "${HOSTPORT%:*}" "${HOSTPORT#*:}" "$SBX_TOKEN" fanout \
    "$STREAMS" "$SBX_PID" | tee -a "$WORK/results.jsonl"
  sleep 1
done
python3 - "$WORK/results.jsonl" "$WORK/section.md" "$STREAMS" <<'PY'
import json, statistics, sys, datetime, os
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda k: statistics.median(r[k] for r in rows)
# Memory from the first round only: later rounds reuse what the allocator kept.
per_stream = (rows[0]["rss_during_kib"] - rows[0]["rss_before_kib"]) / rows[0]["streams"]
ok = all(r["received"] == r["streams"] for r in rows)
with open(sys.argv[2], "w") as f:
    f.write(f"""## SSE fan-out (`bench/sse.sh`)

Run {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ} on {os.cpu_count()} cores: {sys.argv[3]} concurrent event streams
(one C++ Boost.Asio client process, `bench/sse_fanout.cc`, on loopback) on one project, presence off; one change (`POST …/activity`);
latency from sending the change until each client has the new version. Medians of {len(rows)} rounds.

| measure | value |
|---|---:|
| every client received the change | {"yes" if ok else "NO"} ({", ".join(str(r["received"]) for r in rows)}) |
| fan-out p50 | {med("p50_ms"):.1f} ms |
| fan-out p99 | {med("p99_ms"):.1f} ms |
| slowest client | {med("max_ms"):.1f} ms |
| opening all streams | {med("connect_s"):.2f} s |
| server RSS per open stream (first round: RSS growth / streams) | {per_stream:.1f} KiB |
""")
PY
replace_section sse "$WORK/section.md"
cat "$WORK/section.md"
