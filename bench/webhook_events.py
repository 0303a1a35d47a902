#!/usr/bin/env python3
"""Writes N distinct signed E2B webhook deliveries (v2 snake_case `created`
events, each for its own project) as `signature<TAB>body` lines, for
bench/webhooks.lua and bench/webhook_rate.cc (usage: N SECRET OUT [FIRST]). Signature: unpadded URL-safe base64 of
SHA-256(secret || body), as E2B documents."""
import base64, hashlib, json, sys, uuid


def signed_event(i, secret):
    """The i-th delivery: (event id, signature, body)."""
    event_id = str(uuid.UUID(int=i + 1))
    body = json.dumps({
        "id": event_id,
        "version": "v2",
        "type": "sandbox.lifecycle.created",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "event_category": "lifecycle",
        "event_label": "create",
        "sandbox_id": f"ibench{i:014d}",
        "sandbox_template_id": "base",
        "event_data": {"sandbox_metadata": {"projectId": f"wh-{i}"}},
    }, separators=(",", ":"))
    sig = base64.urlsafe_b64encode(hashlib.sha256(secret.encode() + body.encode()).digest())
    return event_id, sig.decode().rstrip("="), body


def main():
    n, secret, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # of a second, distinct set
    with open(out, "w") as f:
        for i in range(first, first + n):
            _, sig, body = signed_event(i, secret)
            f.write(sig + "\t" + body + "\n")


if __name__ == "__main__":
    main()
