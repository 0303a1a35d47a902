#!/usr/bin/env bash
# Starts `sandboxd runtime` on a free port with a temporary data dir (its
# default domain, localhost:<port>), runs the E2B SDK check against it once per
# SDK version (the newest pinned, `e2b`, and the oldest supported,
# `e2b-oldest`), stops it (by PID) and removes its containers.
# Usage: run.sh [runtime command...]   default: <repo>/build/sandboxd runtime
# Needs root and runc (the runtime makes real containers) and node + npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
if [ "$#" -gt 0 ]; then cmd=("$@"); else cmd=("$repo/build/sandboxd" runtime); fi

data="$(mktemp -d /tmp/sbx-sdk-check-XXXXXX)"
chmod 0711 "$data"  # sandboxes' unprivileged users must traverse the data dir
out="$data/stdout"
key="e2b_$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"${cmd[@]}" --listen 127.0.0.1:0 --data-dir "$data" --api-key "$key" \
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
# (Re)install when node_modules does not hold exactly the pinned versions.
installed_ok() {
  node -e '
    const deps = require("./package.json").dependencies
    for (const [name, spec] of Object.entries(deps)) {
      const want = spec.replace(/^npm:[^@]+@/, "")
      const have = require(`./node_modules/${name}/package.json`).version
      if (have !== want) process.exit(1)
    }' 2>/dev/null
}
installed_ok || npm ci --no-audit --no-fund
status=0
# The newest SDK must be seen using E2B's current routes, the oldest the older ones.
for sdk_routes in "e2b v2" "e2b-oldest v1"; do
  read -r sdk routes <<<"$sdk_routes"
  E2B_API_URL="$url" E2B_API_KEY="$key" node check.mjs "$sdk" "$routes" || status=1
done
[ "$status" -eq 0 ] || { echo "---- runtime stderr (last lines) ----"; tail -n 60 "$data/stderr"; }
exit "$status"
