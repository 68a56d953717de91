"""In-process profile of the webhook intake against /healthz: wall and CPU per request.

Posts signed deliveries (new event ids) through Django's test client with the bench's
settings and Redis broker, and splits the cost: the intake while a drain is armed (the
wake is one SET NX that finds the key: the case under load), the intake that wakes a
drain each time (SET NX and a Celery publish: an idle log), a duplicate (verify and a
conflicting insert, no wake), and the intake with the wake left out. Run with the
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
from typing import cast

from kombu.transport.virtual import Channel as VirtualChannel

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
REQUESTS = int(os.environ.get("BENCH_WEBHOOK_REQUESTS", "300"))


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client

    from config.celery_app import app
    from subscriptions.services.stripe_events import WAKE_KEY
    from subscriptions.webhooks import views

    secret = settings.STRIPE_WEBHOOK_SECRET
    assert secret, "STRIPE_WEBHOOK_SECRET is not set"
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

    def measure(label: str, request: Callable[[], object]) -> None:
        request()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(REQUESTS):
            request()
        wall_ms = (time.perf_counter() - wall) / REQUESTS * 1e3
        cpu_ms = (time.process_time() - cpu) / REQUESTS * 1e3
        print(f"| {label} | {wall_ms:.2f} | {cpu_ms:.2f} |")

    def woken(body: str, signature: str) -> None:
        cache.delete(WAKE_KEY)  # as if the drain had just found the log empty
        post(body, signature)

    duplicate = delivery()
    print("| request | wall ms | CPU ms (this process) |\n|---|---:|---:|")
    measure("`/healthz`", lambda: client.get("/healthz", HTTP_HOST="127.0.0.1") and None)
    cache.delete(WAKE_KEY)
    post(*delivery())  # arms the drain (nobody runs it here): the key stays set
    measure("intake, new event, a drain armed (SET NX finds the key)", lambda: post(*delivery()))
    measure(
        "intake, new event, waking a drain each time (SET NX, publish)", lambda: woken(*delivery())
    )
    measure("intake, duplicate (verify, conflicting insert)", lambda: post(*duplicate))
    wake = views.stripe_events_wake
    views.stripe_events_wake = lambda: False
    try:
        measure("intake, new event, wake left out", lambda: post(*delivery()))
    finally:
        views.stripe_events_wake = wake
    cache.delete(WAKE_KEY)
    with app.connection_for_write() as conn:  # nobody consumes the profile's tasks
        cast(VirtualChannel, conn.default_channel).queue_purge("celery")


if __name__ == "__main__":
    main()
