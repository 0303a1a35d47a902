# Shared helpers of the benchmark scripts (sourced). Every benchmark targets
# 127.0.0.1 only and stops by itself.

BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS_MD=${RESULTS_MD:-$REPO_DIR/docs/benchmarks.md}

# start_sandboxd DATA_DIR PORT_RANGE [extra flags…]: starts `sandboxd serve` on a
# free port; sets SBX_PID, SBX_URL, SBX_TOKEN.
start_sandboxd() {
  local data=$1 ports=$2
  shift 2
  mkdir -p "$data"
  "$BUILD_DIR/sandboxd" serve --listen 127.0.0.1:0 --data-dir "$data" --port-range "$ports" \
    --templates-dir "$REPO_DIR/templates" --log-level warn "$@" >"$data/stdout.log" 2>"$data/stderr.log" &
  SBX_PID=$!
  for _ in $(seq 1 100); do
    SBX_URL=$(sed -n 's#^sandboxd listening on \(http://[^/]*\)/$#\1#p' "$data/stdout.log")
    [ -n "$SBX_URL" ] && break
    sleep 0.1
  done
  [ -n "$SBX_URL" ] || { echo "sandboxd did not start:"; cat "$data/stderr.log"; exit 1; }
  SBX_TOKEN=$(cat "$data/api-token")
}

# stop_sandboxd DATA_DIR: stops the daemon and removes every container it left.
stop_sandboxd() {
  local data=$1
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
