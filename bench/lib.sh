# Shared helpers of the benchmark scripts (sourced). Every benchmark targets
# 127.0.0.1 only and stops by itself.

BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS_MD=${RESULTS_MD:-$REPO_DIR/docs/benchmarks.md}

# start_sandboxd DATA_DIR PORT_RANGE [extra flags…]: starts `sandboxd serve` on a
# free port (and its preview gateway on another); sets SBX_PID, SBX_URL,
# SBX_TOKEN and SBX_PREVIEW (the gateway's 127.0.0.1:<port>).
start_sandboxd() {
  local data=$1 ports=$2
  shift 2
  mkdir -p "$data"
  # Local sandboxes run as unprivileged users that must traverse the data
  # dir's parents (mktemp -d makes 0700 directories).
  chmod o+x "$(dirname "$data")"
  "$BUILD_DIR/sandboxd" serve --listen 127.0.0.1:0 --preview-listen 127.0.0.1:0 --data-dir "$data" \
    --port-range "$ports" --templates-dir "$REPO_DIR/templates" --log-level warn "$@" \
    >"$data/stdout.log" 2>"$data/stderr.log" &
  SBX_PID=$!
  for _ in $(seq 1 100); do
    # (The file may not exist yet: the daemon's shell makes it.)
    SBX_URL=$(sed -n 's#^sandboxd listening on \(http://[^/]*\)/$#\1#p' "$data/stdout.log" 2>/dev/null || true)
    SBX_PREVIEW=$(sed -n 's#^Previews on \([0-9.:]*\): .*#\1#p' "$data/stdout.log" 2>/dev/null || true)
    [ -n "$SBX_URL" ] && [ -n "$SBX_PREVIEW" ] && break
    sleep 0.1
  done
  [ -n "$SBX_URL" ] || { echo "sandboxd did not start:"; cat "$data/stderr.log"; exit 1; }
  SBX_TOKEN=$(cat "$data/api-token")
}

# stop_sandboxd DATA_DIR: kills every sandbox through the API (the provider
# then releases its network namespace, home mount and uid slice), stops the
# daemon and removes every container it left.
stop_sandboxd() {
  local data=$1
  if [ -n "${SBX_URL:-}" ] && [ -n "${SBX_PID:-}" ] && kill -0 "$SBX_PID" 2>/dev/null; then
    for p in $(api GET "/api/sandboxes?limit=1000" | python3 -c \
        'import sys,json; [print(s["projectId"]) for s in json.load(sys.stdin).get("sandboxes",[]) if s["status"]!="KILLED"]' \
        2>/dev/null); do
      api DELETE "/api/projects/$p/sandbox" >/dev/null || true
    done
  fi
  [ -n "${SBX_PID:-}" ] && kill "$SBX_PID" 2>/dev/null && wait "$SBX_PID" 2>/dev/null
  if [ -d "$data/runc" ]; then
    for id in $(runc --root "$data/runc" list -q 2>/dev/null); do
      runc --root "$data/runc" kill "$id" KILL 2>/dev/null
      runc --root "$data/runc" delete --force "$id" 2>/dev/null
    done
  fi
}

api() {  # api METHOD PATH [BODY]
  curl -s -X "$1" -H "Authorization: Bearer $SBX_TOKEN" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$SBX_URL$2"
}

json_field() {  # json_field FIELD < json
  python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"
}

median() {  # median of numbers on stdin
  sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'
}

# replace_section NAME FILE_WITH_CONTENT: replaces the block between
# <!-- NAME:begin --> and <!-- NAME:end --> in docs/benchmarks.md.
replace_section() {
  local name=$1 content=$2
  python3 - "$RESULTS_MD" "$name" "$content" <<'PY'
import sys, re, pathlib
path, name, content_file = sys.argv[1], sys.argv[2], sys.argv[3]
p = pathlib.Path(path)
text = p.read_text() if p.exists() else "# Benchmarks\n"
block = f"<!-- {name}:begin -->\n" + pathlib.Path(content_file).read_text().rstrip() + f"\n<!-- {name}:end -->"
pattern = re.compile(rf"<!-- {re.escape(name)}:begin -->.*?<!-- {re.escape(name)}:end -->", re.S)
text = pattern.sub(lambda m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
p.write_text(text)
PY
}

now_ms() { date +%s%3N; }

# wrk_summary WRK_OUTPUT [--socket-errors-fail] -> "rps p50_ms p99_ms"; exits
# non-zero when wrk saw non-2xx answers (and, with the flag, socket errors).
wrk_summary() {
  python3 - "$@" <<'PY'
import sys, re
out = sys.argv[1]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errs: sys.exit(f"wrk saw {errs.group(1)} non-2xx responses")
sock = re.search(r"Socket errors: (.*)", out)
if sock and "--socket-errors-fail" in sys.argv[2:]: sys.exit(f"wrk socket errors: {sock.group(1)}")
print(f"{rps:.0f} {p50:.3f} {p99:.3f}")
PY
}
