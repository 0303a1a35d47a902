#!/usr/bin/env python3
"""WebSockets held open through sandboxd's preview gateway (bench/proxy.sh).

proxy_ws.py GATEWAY_PORT PREVIEW_HOST COUNT SANDBOXD_PID
Opens COUNT WebSockets to ws://127.0.0.1:GATEWAY_PORT/ws with Host PREVIEW_HOST (the hello
app's echo endpoint, through the gateway), sends one message on each and waits for its echo,
then measures sandboxd's RSS while all are open. Prints one JSON line. Loopback only.
"""
import asyncio, base64, json, os, struct, sys, time

PORT, HOST, COUNT, PID = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def frame(payload: bytes) -> bytes:
    # A masked text frame (clients must mask), payload < 126 bytes.
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked


async def open_one(i):
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (f"GET /ws HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"socket {i}: {head[:80]!r}")
    msg = f"hello {i}".encode()
    writer.write(frame(msg))
    got = await reader.readexactly(2 + len(msg))
    if got[2:] != msg:
        raise RuntimeError(f"socket {i}: bad echo {got!r}")
    return reader, writer


async def main():
    before = rss_kib(PID)
    t0 = time.monotonic()
    sockets = []
    for start in range(0, COUNT, 100):  # in batches: the app's accept backlog is finite
        sockets += await asyncio.gather(*(open_one(i) for i in range(start, min(COUNT, start + 100))))
    opened = time.monotonic() - t0
    await asyncio.sleep(1)
    during = rss_kib(PID)
    for _, w in sockets:
        w.close()
    print(json.dumps({"sockets": len(sockets), "open_s": round(opened, 2), "rss_before_kib": before,
                      "rss_during_kib": during,
                      "per_socket_kib": round((during - before) / len(sockets), 1)}))


asyncio.run(main())
