"""In-process profile of the webhook intake against /healthz: wall and CPU per request.

Posts signed deliveries (new event ids) through Django's test client with the bench's
settings and Redis broker, and splits the cost: the whole intake, a duplicate (verify and
a conflicting insert, no enqueue), and the intake with the enqueue left out. Run with the
environment of bench/run.sh (DATABASE_URL, REDIS_URL, STRIPE_WEBHOOK_SECRET, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
REQUESTS = int(os.environ.get("BENCH_WEBHOOK_REQUESTS", "300"))


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from config.celery_app import app
    from subscriptions.webhooks import views

    secret = settings.STRIPE_WEBHOOK_SECRET
    client = Client()

    def delivery() -> tuple[str, str]:
        now = int(time.time())
        body = json.dumps(
            {
                "id": f"evt_profile_{uuid.uuid4().hex}",
                "object": "event",
                "type": "customer.subscription.updated",
                "created": now,
                "data": {"object": {"id": "sub_profile", "object": "subscription"}},
            },
            separators=(",", ":"),
        )
        digest = hmac.new(secret.encode(), f"{now}.{body}".encode(), hashlib.sha256)
        return body, f"t={now},v1={digest.hexdigest()}"

    def post(body: str, signature: str) -> None:
        response = client.post(
            "/webhooks/stripe/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
            HTTP_HOST="127.0.0.1",
        )
        assert response.status_code == 200, response.content

    def measure(label: str, request: Callable[[], None]) -> None:
        request()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(REQUESTS):
            request()
        wall_ms = (time.perf_counter() - wall) / REQUESTS * 1e3
        cpu_ms = (time.process_time() - cpu) / REQUESTS * 1e3
        print(f"| {label} | {wall_ms:.2f} | {cpu_ms:.2f} |")

    duplicate = delivery()
    print("| request | wall ms | CPU ms (this process) |\n|---|---:|---:|")
    measure("`/healthz`", lambda: client.get("/healthz", HTTP_HOST="127.0.0.1") and None)
    measure("intake, new event", lambda: post(*delivery()))
    measure("intake, duplicate (verify, conflicting insert)", lambda: post(*duplicate))
    enqueue = views.process_stripe_event.delay
    views.process_stripe_event.delay = lambda pk: None  # type: ignore[assignment,method-assign]
    try:
        measure("intake, new event, enqueue left out", lambda: post(*delivery()))
    finally:
        views.process_stripe_event.delay = enqueue  # type: ignore[method-assign]
    with app.connection_for_write() as conn:  # nobody consumes the profile's tasks
        conn.default_channel.queue_purge("celery")


if __name__ == "__main__":
    main()
