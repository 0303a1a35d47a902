#!/usr/bin/env bash
# Offline replay of idle policies over a store's history (`sandboxd policy
# replay`). Writes docs/benchmarks.md (section "policy-replay").
# A fresh SQLite store gets ROWS history rows of PROJECTS projects over the
# last 7 days (idle pause, paused, a user's wake, resumed; as the daemon
# writes them), then `sandboxd policy replay --since 7d` replays fixed,
# adaptive and warmup over them, three times. The baseline, in the same run:
# Python's sqlite3 reading the same rows (the store read alone). Medians; no
# daemon, no network.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-100000}
PROJECTS=${PROJECTS:-2000}
cmake --build "$BUILD_DIR" --target sandboxd -j"$(nproc)" >/dev/null

DIR=$(mktemp -d /tmp/sbx-bench-replay.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
DB="$DIR/sandboxd.db"
: > "$DB"
"$BUILD_DIR/sandboxd" migrate --store "sqlite://$DB" >/dev/null
python3 - "$DB" "$ROWS" "$PROJECTS" <<'EOF'
import random, sqlite3, sys, time
db, rows, projects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time() * 1000)
start = now - 7 * 86_400_000
rng = random.Random(1)
con = sqlite3.connect(db)
def iso(ms):
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ms / 1000)) + '.%03dZ' % (ms % 1000)
out, seq = [], 0
def add(project, at, typ, src, st, inp='{}'):
    global seq
    seq += 1
    out.append((seq, 'p%d' % project, 'sbx%d' % project, 'e%d' % seq, typ, src, 'applied', at,
                at, st, '', inp))
# Each project: made, then cycles of use, an idle pause 3 min after its last
# activity and a user's return after an exponential absence (mean 30 min),
# round robin until the rows are written.
clock = [start + rng.randrange(3_600_000) for _ in range(projects)]
for p in range(projects):
    add(p, clock[p], 'create_requested', 'api', 'STARTING')
    add(p, clock[p] + 300, 'created', 'runtime', 'RUNNING')
p = 0
while len(out) + 4 <= rows:
    left = clock[p] + rng.randrange(60_000, 3_600_000)
    paused = left + 180_000
    back = paused + int(rng.expovariate(1 / 1_800_000))
    if back >= now:
        clock[p] = start + rng.randrange(3_600_000)  # wrap around: a later week
        p = (p + 1) % projects
        continue
    inputs = ('{"trigger":"timer","record":{"idleTimeoutSeconds":180,"lastActivityAt":"%s"}}'
              % iso(left))
    add(p, paused, 'pause_requested', 'enforcer', 'PAUSING', inputs)
    add(p, paused + 200, 'paused', 'enforcer', 'PAUSED')
    add(p, back, 'wake_requested', 'api', 'STARTING')
    add(p, back + 500, 'resumed', 'api', 'RUNNING')
    clock[p] = back + 500
    p = (p + 1) % projects
con.executemany('INSERT INTO history (seq, project_id, sandbox_id, event_id, type, source, '
                'outcome, at_ms, recorded_at_ms, status, detail, inputs) '
                'VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', out)
con.commit()
print(len(out), file=sys.stderr)
EOF
COUNT=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM history').fetchone()[0])" "$DB")

for i in 1 2 3; do
  "$BUILD_DIR/sandboxd" policy replay --store "sqlite://$DB" --since 7d --policy adaptive \
    --policy warmup --json > "$DIR/replay.$i.json"
  start=$(now_ms)
  python3 -c "
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
since = int(time.time() * 1000) - 7 * 86_400_000
n = sum(1 for _ in con.execute('SELECT * FROM history WHERE recorded_at_ms >= ? AND outcome = \'applied\' ORDER BY recorded_at_ms DESC', (since,)))
" "$DB"
  echo $(( $(now_ms) - start )) > "$DIR/baseline.$i.ms"
done
"$BUILD_DIR/sandboxd" policy replay --store "sqlite://$DB" --since 7d --policy adaptive \
  --policy warmup > "$DIR/table.txt"

python3 - "$DIR" "$COUNT" > "$DIR/section.md" <<'EOF'
import json, statistics, sys, time
d, count = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f'{d}/replay.{i}.json')) for i in (1, 2, 3)]
base = [int(open(f'{d}/baseline.{i}.ms').read()) / 1000 for i in (1, 2, 3)]
read = statistics.median(r['readSeconds'] for r in runs)
replay = statistics.median(r['replaySeconds'] for r in runs)
total = statistics.median(r['readSeconds'] + r['replaySeconds'] for r in runs)
b = statistics.median(base)
print("## Policy replay (`bench/policy_replay.sh`)\n")
print(f"Run {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}: `sandboxd policy replay --since 7d "
      f"--policy adaptive --policy warmup` over {count:,} history rows of a SQLite store "
      f"({runs[0]['episodes']:,} idle episodes), three runs, medians. Baseline in the same run: "
      "Python's sqlite3 reading the same rows.\n")
print("| | seconds (median) |\n|---|---|")
print(f"| read the rows and their projects' statuses before | {read:.2f} |")
print(f"| replay fixed, adaptive and warmup, and tally what was recorded | {replay:.2f} |")
print(f"| total | {total:.2f} |")
print(f"| baseline: read the rows in Python | {b:.2f} |\n")
print(f"Replay total / baseline read: {total / b:.1f}×. Target: 100k rows in seconds, not "
      f"minutes: **{'met' if total < 30 else 'not met'}**.\n")
print("```")
print(open(f'{d}/table.txt').read().rstrip())
print("```")
EOF
replace_section policy-replay "$DIR/section.md"
cat "$DIR/section.md"
