#!/usr/bin/env python3
"""What sandboxd does while its PostgreSQL is frozen (SIGSTOP), for bench/webhooks.sh.

Four threads post distinct signed webhook deliveries one after another and one
thread reads a project's status, all on loopback, for BEFORE + PAUSE + AFTER
seconds; during the middle PAUSE seconds every process of the cluster (the
postmaster and its children) is stopped with SIGSTOP, then continued. Then:
every delivery that got a 200 must be in processed_events (nothing
acknowledged is lost), and every one that did not is posted again, as E2B
retries, and must be accepted. Prints one JSON object.

usage: webhook_outage.py URL TOKEN SECRET PROJECT PGDATA PSQL_DSN
"""
import http.client, json, os, signal, subprocess, sys, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from webhook_events import signed_event  # noqa: E402

BEFORE, PAUSE, AFTER = 5.0, 10.0, 5.0
SENDERS = 4


def cluster_pids(pgdata):
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == postmaster:
            pids.append(int(entry))
    return pids


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Client:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, seconds); status 0 when the connection failed."""
        start = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            self.conn = None
            status = 0
        return status, time.perf_counter() - start


def main():
    url, token, secret, project, pgdata, dsn = sys.argv[1:7]
    start = time.monotonic()
    pause_at, resume_at, end = start + BEFORE, start + BEFORE + PAUSE, start + BEFORE + PAUSE + AFTER
    phase = lambda t: "before" if t < pause_at else "during" if t < resume_at else "after"
    next_event = iter(range(10_000_000, 20_000_000))
    lock = threading.Lock()
    acks, reads, bodies = [], [], {}

    def sender():
        client = Client(url)
        while time.monotonic() < end:
            with lock:
                i = next(next_event)
            event_id, sig, body = signed_event(i, secret)
            bodies[event_id] = (sig, body)
            sent = time.monotonic()
            status, took = client.request("POST", "/api/webhooks/e2b", body,
                                          {"Content-Type": "application/json", "e2b-signature": sig})
            with lock:
                acks.append((event_id, phase(sent), status, took))

    def reader():
        client = Client(url)
        while time.monotonic() < end:
            sent = time.monotonic()
            status, took = client.request("GET", f"/api/projects/{project}/sandbox",
                                          headers={"Authorization": f"Bearer {token}"})
            reads.append((phase(sent), status, took))

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, pause_at - time.monotonic()))
    pids = cluster_pids(pgdata)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    time.sleep(max(0.0, resume_at - time.monotonic()))
    for pid in reversed(pids):
        os.kill(pid, signal.SIGCONT)
    for t in threads:
        t.join()

    stored = set(subprocess.run(["psql", dsn, "-Atc", "SELECT event_id FROM processed_events"],
                                check=True, capture_output=True, text=True).stdout.split())
    acked = [a for a in acks if a[2] == 200]
    lost = [a[0] for a in acked if a[0] not in stored]
    # E2B retries what was not acknowledged: post those again.
    retried, retry_failed = 0, 0
    client = Client(url)
    for event_id, _, status, _ in acks:
        if status == 200:
            continue
        sig, body = bodies[event_id]
        status, _ = client.request("POST", "/api/webhooks/e2b", body,
                                   {"Content-Type": "application/json", "e2b-signature": sig})
        retried += 1
        retry_failed += status != 200

    def summary(rows, status_index, took_index):
        out = {"count": len(rows), "statuses": {}}
        for r in rows:
            key = str(r[status_index])
            out["statuses"][key] = out["statuses"].get(key, 0) + 1
        took = [r[took_index] * 1000 for r in rows]
        out["p50_ms"], out["p99_ms"], out["max_ms"] = (
            percentile(took, 50), percentile(took, 99), max(took) if took else None)
        return out

    result = {"pids_stopped": len(pids)}
    for name in ("before", "during", "after"):
        result["reads_" + name] = summary([r for r in reads if r[0] == name], 1, 2)
        result["acks_" + name] = summary([a for a in acks if a[1] == name], 2, 3)
    result.update(acked=len(acked), acked_lost=len(lost), retried=retried, retry_failed=retry_failed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
