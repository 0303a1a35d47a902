#!/usr/bin/env bash
# Starts `sandboxd runtime` on a free port with a temporary data dir, runs the
# E2B SDK check against it, stops it (by PID) and removes its containers.
# Usage: run.sh [runtime command...]   default: <repo>/build/sandboxd runtime
# Needs root and runc (the runtime makes real containers) and node + npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
if [ "$#" -gt 0 ]; then cmd=("$@"); else cmd=("$repo/build/sandboxd" runtime); fi

data="$(mktemp -d /tmp/sbx-sdk-check-XXXXXX)"
out="$data/stdout"
key="e2b_$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"${cmd[@]}" --listen 127.0.0.1:0 --data-dir "$data" --api-key "$key" --domain localhost \
  --port-range 46200-46219 >"$out" 2>"$data/stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for id in $(runc --root "$data/runc" list -q 2>/dev/null); do
    runc --root "$data/runc" kill "$id" KILL 2>/dev/null || true
    runc --root "$data/runc" delete --force "$id" 2>/dev/null || true
  done
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  url="$(sed -n 's|^sandboxd runtime listening on \(http://[^/]*\)/$|\1|p' "$out")"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/stderr"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "runtime did not start"; cat "$data/stderr"; exit 1; }

cd "$here"
[ -d node_modules/e2b ] || npm ci --no-audit --no-fund
E2B_API_URL="$url" E2B_API_KEY="$key" E2B_DOMAIN=localhost node check.mjs
