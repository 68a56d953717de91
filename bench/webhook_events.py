"""Writes COUNT signed Stripe webhook deliveries (unique event ids) for wrk to post.

One line per request: the Stripe-Signature header, a tab, the JSON body. Signed exactly
as Stripe signs (HMAC-SHA256 over "timestamp.body"), fresh so they verify for 300 s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import uuid


def signed_delivery(secret: str, now: int) -> tuple[str, str]:
    """A new event as Stripe sends it: its Stripe-Signature header and its JSON body."""
    body = json.dumps(
        {
            "id": f"evt_bench_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": now,
            "livemode": False,
            "api_version": "2025-10-29.clover",
            "data": {
                "object": {
                    "id": f"sub_bench_{uuid.uuid4().hex[:12]}",
                    "object": "subscription",
                    "status": "active",
                    "customer": "cus_bench",
                }
            },
        },
        separators=(",", ":"),
    )
    signature = hmac.new(secret.encode(), f"{now}.{body}".encode(), hashlib.sha256)
    return f"t={now},v1={signature.hexdigest()}", body


def main() -> None:
    path, secret, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    now = int(time.time())
    with open(path, "w") as out:
        for _ in range(count):
            signature, body = signed_delivery(secret, now)
            out.write(f"{signature}\t{body}\n")


if __name__ == "__main__":
    main()
