#!/usr/bin/env bash
# Status-read benchmark: wrk against GET /api/projects/{id}/sandbox (authenticated,
# a RUNNING sandbox) and, in the same run, against nginx returning the same
# JSON bytes with `return 200`. 50 connections, one wrk thread, rounds
# alternate between the two. Also measures the local runtime: create→serving,
# pause, and resume→serving medians, through the API and, with the time of
# each external command, at the provider level (local_lifecycle_bench).
# Writes docs/benchmarks.md (section "status").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
LIFECYCLE_RUNS=${LIFECYCLE_RUNS:-5}
WORK=$(mktemp -d /tmp/sbx-bench-status.XXXXXX)
chmod 0711 "$WORK"  # sandboxes' unprivileged users must traverse it
NGINX_PID=""
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
  # Through the API, so that the sandbox's namespace, home mount and logger go too.
  [ -n "${SBX_URL:-}" ] && api DELETE /api/projects/bench/sandbox >/dev/null 2>&1
  stop_sandboxd "$WORK/data"
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing: run make deps"; exit 1; }
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }

start_sandboxd "$WORK/data" 47000-47099 --idle-timeout 1h
api POST /api/projects/bench/sandbox >/dev/null
BODY=$(api GET /api/projects/bench/sandbox)
printf '%s' "$BODY" >"$WORK/body.json"

# nginx serving the same bytes, one worker (sandboxd serves on one I/O thread).
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ESCAPED=$(python3 -c "import sys; print(open('$WORK/body.json').read().replace('\\\\','\\\\\\\\').replace(\"'\",\"\\\\'\"))")
cat >"$WORK/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      default_type application/json;
      return 200 '$ESCAPED';
    }
  }
}
NGX
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
sleep 0.5
curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null || { echo "nginx did not start"; cat "$WORK/nginx-error.log"; exit 1; }

run_wrk() {  # run_wrk URL [auth] -> "rps p50_ms p99_ms"
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $SBX_TOKEN" "$1")
  else
    out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$1")
  fi
  wrk_summary "$out"
}

: >"$WORK/sbx.txt"
: >"$WORK/ngx.txt"
for r in $(seq 1 "$ROUNDS"); do
  run_wrk "$SBX_URL/api/projects/bench/sandbox" auth >>"$WORK/sbx.txt"
  run_wrk "http://127.0.0.1:$NGINX_PORT/" >>"$WORK/ngx.txt"
  echo "round $r: sandboxd $(tail -1 "$WORK/sbx.txt") | nginx $(tail -1 "$WORK/ngx.txt")"
done
col() { awk "{print \$$1}" "$2" | median; }
SBX_RPS=$(col 1 "$WORK/sbx.txt"); NGX_RPS=$(col 1 "$WORK/ngx.txt")
SBX_P50=$(col 2 "$WORK/sbx.txt"); NGX_P50=$(col 2 "$WORK/ngx.txt")
SBX_P99=$(col 3 "$WORK/sbx.txt"); NGX_P99=$(col 3 "$WORK/ngx.txt")
# Each round pairs the two targets back to back, so the per-round ratio
# cancels most of the shared machine's noise; the headline is their median.
RATIOS=$(paste "$WORK/sbx.txt" "$WORK/ngx.txt" | awk '{printf "%.2f ", $1/$4}')
RATIO=$(echo "$RATIOS" | tr ' ' '\n' | grep . | median)

# Local runtime lifecycle timings (real runc): create→serving, pause, resume→serving.
: >"$WORK/create.txt"; : >"$WORK/pause.txt"; : >"$WORK/resume.txt"
wait_status() {  # wait_status PROJECT STATUS
  for _ in $(seq 1 400); do
    # grep, not json_field: a Python start per poll would dominate the timings.
    api GET "/api/projects/$1/sandbox" | grep -q "\"status\":\"$2\"" && return 0
  done
  echo "timeout waiting for $1 to be $2"; exit 1
}
for i in $(seq 1 "$LIFECYCLE_RUNS"); do
  p="life$i"
  t0=$(now_ms); api POST "/api/projects/$p/sandbox" >/dev/null; t1=$(now_ms)
  echo $((t1 - t0)) >>"$WORK/create.txt"
  t0=$(now_ms); api POST "/api/projects/$p/sandbox/pause" >/dev/null; wait_status "$p" PAUSED; t1=$(now_ms)
  echo $((t1 - t0)) >>"$WORK/pause.txt"
  t0=$(now_ms); api POST "/api/projects/$p/sandbox/wake" >/dev/null; wait_status "$p" RUNNING
  t1=$(now_ms)
  # A local sandbox serves only inside its own network namespace (no URL
  # until the preview gateway serves it): RUNNING already means its readiness
  # probe answered after the resume.
  url=$(api GET "/api/projects/$p/sandbox" | json_field url)
  if [ "$url" != "None" ]; then curl -sf "${url}state" >/dev/null; t1=$(now_ms); fi
  echo $((t1 - t0)) >>"$WORK/resume.txt"
  api DELETE "/api/projects/$p/sandbox" >/dev/null
done

PROVIDER_TABLE=$("$BUILD_DIR/local_lifecycle_bench" "$REPO_DIR/templates" "$BUILD_DIR" "${PROVIDER_RUNS:-15}")

cat >"$WORK/section.md" <<MD
## Status reads (\`bench/status.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; wrk 1 thread, $CONNS connections, $ROUNDS rounds of $DURATION
alternating between sandboxd (\`GET /api/projects/bench/sandbox\`, bearer token, RUNNING sandbox,
one I/O thread) and nginx (1 worker) returning the same $(wc -c <"$WORK/body.json") JSON bytes with \`return 200\`.
Medians over the rounds:

| target | requests/s | p50 | p99 |
|---|---:|---:|---:|
| sandboxd | $SBX_RPS | ${SBX_P50} ms | ${SBX_P99} ms |
| nginx \`return 200\` | $NGX_RPS | ${NGX_P50} ms | ${NGX_P99} ms |

**Ratio sandboxd / nginx (median of per-round ratios): $RATIO** (target ≥ 0.6; per round: $RATIOS).
p99 target ≤ 2 ms. The machine is shared: compare the two rows, not absolute figures across runs.

Local runtime (real runc, \`hello\` template), medians of $LIFECYCLE_RUNS runs measured through the API:

| step | median |
|---|---:|
| create → serving (POST returns once the readiness probe passes) | $(median <"$WORK/create.txt") ms |
| pause (POST pause → status PAUSED) | $(median <"$WORK/pause.txt") ms |
| resume → serving (POST wake → RUNNING, i.e. the app answered the readiness probe) | $(median <"$WORK/resume.txt") ms |

The same at the provider level (\`bench/local_lifecycle_bench.cc\`, \`LocalProvider\` on real runc,
${PROVIDER_RUNS:-15} runs), with the median time of each external command inside the step:

$PROVIDER_TABLE
MD
replace_section status "$WORK/section.md"
cat "$WORK/section.md"
