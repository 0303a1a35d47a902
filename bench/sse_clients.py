#!/usr/bin/env python3
"""Opens N concurrent SSE streams to one project on sandboxd, waits until each
has the current object, then records when each one receives the next version.
Prints JSON: connect time, fan-out latencies (ms, relative to the change request
being acknowledged), and the server's RSS before/after the streams were open.
Loopback only; stops by itself after a deadline."""
import asyncio, json, os, sys, time, urllib.request

HOST, PORT, TOKEN, PROJECT, N, PID = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

async def stream(ready, got, index, start_version_box):
    reader, writer = await asyncio.open_connection(HOST, PORT)
    writer.write((f"GET /api/projects/{PROJECT}/sandbox/events HTTP/1.1\r\nHost: {HOST}\r\n"
                  f"Authorization: Bearer {TOKEN}\r\n\r\n").encode())
    await writer.drain()
    buf = b""
    seen_first = False
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        buf += chunk
        while b"\nid: " in buf:
            at = buf.index(b"\nid: ") + 5
            end = buf.find(b"\n", at)
            if end < 0:
                break
            version = int(buf[at:end])
            buf = buf[end:]
            if not seen_first:
                seen_first = True
                start_version_box.append(version)
                ready.release()
            elif version > start_version_box[0] and index not in got:
                got[index] = time.monotonic()
                writer.close()
                return

async def main():
    before = rss_kib(PID)
    ready = asyncio.Semaphore(0)
    got = {}
    tasks = []
    t0 = time.monotonic()
    for i in range(N):
        box = []
        tasks.append(asyncio.create_task(stream(ready, got, i, box)))
        if i % 100 == 99:
            await asyncio.sleep(0)
    for _ in range(N):
        await asyncio.wait_for(ready.acquire(), timeout=60)
    connect_s = time.monotonic() - t0
    during = rss_kib(PID)
    # One status change: record activity (moves lastActivityAt, bumps version).
    req = urllib.request.Request(f"http://{HOST}:{PORT}/api/projects/{PROJECT}/sandbox/activity",
                                 method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    t_change = time.monotonic()
    urllib.request.urlopen(req, timeout=10).read()
    t_ack = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
    # From the moment the change was sent: a client may see the event before
    # the change's own HTTP answer arrives.
    lat = sorted((t - t_change) * 1000 for t in got.values())
    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else None
    print(json.dumps({"streams": N, "received": len(got), "connect_s": round(connect_s, 2),
                      "ack_ms": round((t_ack - t_change) * 1000, 2),
                      "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2),
                      "max_ms": round(lat[-1], 2), "rss_before_kib": before,
                      "rss_during_kib": during}))

asyncio.run(main())
