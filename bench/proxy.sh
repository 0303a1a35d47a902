#!/usr/bin/env bash
# Preview gateway benchmark. In one run, alternating rounds, the same small
# response of the hello app (GET /state, ~55 bytes): straight to the sandbox,
# through nginx `proxy_pass` (keep-alive upstream, 1 worker) and through
# sandboxd's gateway (one I/O thread). wrk 1 thread, 50 connections. Then:
# first byte of a request to a PAUSED sandbox against the provider's resume
# time, and 1,000 WebSockets held open through the gateway (daemon RSS).
# Writes docs/benchmarks.md (section "proxy"). Loopback only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
WAKE_RUNS=${WAKE_RUNS:-15}
SOCKETS=${SOCKETS:-1000}
WORK=$(mktemp -d /tmp/sbx-bench-proxy.XXXXXX)
NGINX_PID=""
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
  stop_sandboxd "$WORK/data"
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 8192

command -v wrk >/dev/null || { echo "wrk missing: run make deps"; exit 1; }
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }

start_sandboxd "$WORK/data" 47400-47499 --idle-timeout 1h
api POST /api/projects/bench/sandbox >/dev/null
URL=$(api GET /api/projects/bench/sandbox | json_field url)  # http://<port>-<id>.localhost:<gw>/
HOST=${URL#http://}; HOST=${HOST%/}
APP_PORT=${HOST%%-*}
GW_PORT=${SBX_PREVIEW##*:}
SBX_ID=${HOST#*-}; SBX_ID=${SBX_ID%%.*}
# The sandbox serves only inside its own network namespace: the direct and
# nginx rounds (wrk, nginx) run in there, the gateway round on the host.
NETNS=$(ls /run/netns | grep -- "-$SBX_ID\$" | head -1)
[ -n "$NETNS" ] || { echo "no network namespace for $SBX_ID"; exit 1; }
IN_NS="ip netns exec $NETNS"
$IN_NS curl -sf "http://127.0.0.1:$APP_PORT/state" >/dev/null || { echo "the app does not answer"; exit 1; }
curl -sf -H "Host: $HOST" "http://127.0.0.1:$GW_PORT/state" >/dev/null || { echo "the gateway does not answer"; exit 1; }

# nginx in front of the same app: keep-alive upstream connections, one worker.
NGINX_PORT=$($IN_NS python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app {
    server 127.0.0.1:$APP_PORT;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
    }
  }
}
NGX
$IN_NS nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
sleep 0.5
$IN_NS curl -sf "http://127.0.0.1:$NGINX_PORT/state" >/dev/null || { echo "nginx did not start"; cat "$WORK/nginx-error.log"; exit 1; }

run_wrk() {  # run_wrk URL [Host] -> "rps p50_ms p99_ms"; no Host: inside the sandbox's namespace
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Host: $2" "$1")
  else
    out=$($IN_NS wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$1")
  fi
  wrk_summary "$out" --socket-errors-fail
}

: >"$WORK/direct.txt"; : >"$WORK/nginx.txt"; : >"$WORK/gateway.txt"
for r in $(seq 1 "$ROUNDS"); do
  run_wrk "http://127.0.0.1:$APP_PORT/state" >>"$WORK/direct.txt"
  run_wrk "http://127.0.0.1:$NGINX_PORT/state" >>"$WORK/nginx.txt"
  run_wrk "http://127.0.0.1:$GW_PORT/state" "$HOST" >>"$WORK/gateway.txt"
  echo "round $r: direct $(tail -1 "$WORK/direct.txt") | nginx $(tail -1 "$WORK/nginx.txt") | gateway $(tail -1 "$WORK/gateway.txt")"
done
col() { awk "{print \$$1}" "$2" | median; }
# Per-round ratios (the pair runs back to back, so most machine noise cancels).
RATIOS=$(paste "$WORK/gateway.txt" "$WORK/nginx.txt" | awk '{printf "%.2f ", $1/$4}')
RATIO=$(echo "$RATIOS" | tr ' ' '\n' | grep . | median)

# A request to a PAUSED sandbox: its first byte against the provider's resume
# time (the delta of sandboxd_provider_call_duration_seconds_sum{op="resume"},
# one resume per run).
resume_sum() {
  curl -s -H "Authorization: Bearer $SBX_TOKEN" "$SBX_URL/metrics" |
    sed -n 's/^sandboxd_provider_call_duration_seconds_sum{op="resume"} //p' | head -1
}
wait_status() {  # wait_status PROJECT STATUS
  for _ in $(seq 1 400); do
    [ "$(api GET "/api/projects/$1/sandbox" | json_field status)" = "$2" ] && return 0
    sleep 0.01
  done
  echo "timeout waiting for $1 to be $2"; exit 1
}
: >"$WORK/wake.txt"
for i in $(seq 1 "$WAKE_RUNS"); do
  api POST /api/projects/bench/sandbox/pause >/dev/null
  wait_status bench PAUSED
  sleep 0.2
  before=$(resume_sum); before=${before:-0}
  ttfb=$(curl -s -o /dev/null -w '%{time_starttransfer}' -H "Host: $HOST" "http://127.0.0.1:$GW_PORT/state")
  after=$(resume_sum)
  python3 -c "import sys; t,b,a=map(float,sys.argv[1:]); print(f'{t*1000:.1f} {(a-b)*1000:.1f} {(t-(a-b))*1000:.1f}')" \
    "$ttfb" "$before" "$after" >>"$WORK/wake.txt"
done
WAKE_TTFB=$(col 1 "$WORK/wake.txt"); WAKE_RESUME=$(col 2 "$WORK/wake.txt"); WAKE_OVER=$(col 3 "$WORK/wake.txt")

# WebSockets held open through the gateway, to a sandbox of their own.
api POST /api/projects/ws/sandbox >/dev/null
WS_URL=$(api GET /api/projects/ws/sandbox | json_field url)
WS_HOST=${WS_URL#http://}; WS_HOST=${WS_HOST%/}
python3 "$(dirname "$0")/proxy_ws.py" "$GW_PORT" "$WS_HOST" "$SOCKETS" "$SBX_PID" >"$WORK/ws.json"
WS_OPEN=$(json_field sockets <"$WORK/ws.json")
WS_PER=$(json_field per_socket_kib <"$WORK/ws.json")
WS_SECS=$(json_field open_s <"$WORK/ws.json")

cat >"$WORK/section.md" <<MD
## Preview gateway (\`bench/proxy.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; wrk 1 thread, $CONNS connections, $ROUNDS rounds of $DURATION
alternating between the hello app's \`GET /state\` straight from the sandbox (single-threaded app),
through nginx \`proxy_pass\` (1 worker, keep-alive upstream pool of 64, no buffering) and through
sandboxd's preview gateway (one I/O thread shared with the API; one upstream connection per client
connection). Medians over the rounds:

| target | requests/s | p50 | p99 |
|---|---:|---:|---:|
| direct | $(col 1 "$WORK/direct.txt") | $(col 2 "$WORK/direct.txt") ms | $(col 3 "$WORK/direct.txt") ms |
| nginx \`proxy_pass\` | $(col 1 "$WORK/nginx.txt") | $(col 2 "$WORK/nginx.txt") ms | $(col 3 "$WORK/nginx.txt") ms |
| sandboxd gateway | $(col 1 "$WORK/gateway.txt") | $(col 2 "$WORK/gateway.txt") ms | $(col 3 "$WORK/gateway.txt") ms |

**Gateway / nginx throughput (median of per-round ratios): $RATIO** (target ≥ 0.8; per round: $RATIOS).
Gateway p99 target ≤ 2 ms: **not met in this setup** (median p99 $(col 3 "$WORK/gateway.txt") ms against nginx's
$(col 3 "$WORK/nginx.txt") ms in the same rounds). With $CONNS connections queued on one single-threaded app and
wrk, the app and the proxy sharing $(nproc) cores, p99 is queueing for every proxy, nginx included; compare
the two p99 columns, not the absolute figure. The machine is shared: compare rows of one run, not
figures across runs.

A request to a PAUSED sandbox through the gateway ($WAKE_RUNS runs; the sandbox is paused through the API
first): time to its first byte, against the provider's resume time (\`runc resume\` and the
readiness probe, from \`sandboxd_provider_call_duration_seconds\`). Medians:

| measure | median |
|---|---:|
| first byte of the held request | $WAKE_TTFB ms |
| provider resume | $WAKE_RESUME ms |
| overhead (first byte − resume) | $WAKE_OVER ms (target ≤ 20 ms) |

$WS_OPEN WebSockets opened through the gateway in $WS_SECS s (one echo each, then held open): sandboxd RSS growth
per socket **$WS_PER KiB** (target ≤ 64 KiB; client and upstream sockets, buffers and coroutine frames).
MD
replace_section proxy "$WORK/section.md"
cat "$WORK/section.md"
