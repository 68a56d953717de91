"""In-process cost of the webhook intake against /healthz, through Django's WSGI handler.

Like bench/cost.py: every request goes through the whole middleware stack and view on
the bench's PostgreSQL and Redis, one at a time, timed by this process's CPU clock (and
the wall clock); BATCHES batches interleave the kinds so a slow spell on this shared
machine hits all of them alike, and each kind's median batch counts. The deliveries are
signed exactly as Stripe signs them (bench/webhook_events.py's bodies), each a new event
id unless it is the duplicate.

Kinds: `/healthz`; an accepted event while a drain is armed (the case under load: the
wake's SET NX finds the key, or is skipped within the hold after this process saw it
set); an accepted event that wakes a drain (the key cleared and the hold lapsed first:
SET NX and a Celery publish, an idle log); a duplicate delivery (verify, the conflicting
insert). Nothing consumes the published drains: the queue is purged at the end.

  python bench/webhook_cost.py                 # the table (BENCH_WEBHOOK_REQUESTS per batch)
  python bench/webhook_cost.py profile KIND N  # cProfile of N requests of KIND, top 40
  bash bench/webhook_callgrind.sh              # instructions per request of each kind

Run with bench/run.sh's environment (DATABASE_URL, REDIS_URL, STRIPE_WEBHOOK_SECRET...).
It imports the checkout it is run from (the working directory): with this file and
bench/webhook_events.py copied into another checkout it measures that one (an A/B
against main: see bench/notes.md).
"""

from __future__ import annotations

import io
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, cast

from kombu.transport.virtual import Channel as VirtualChannel

sys.path.insert(0, os.getcwd())
from bench.cost import environ
from bench.webhook_events import signed_delivery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
BATCHES = int(os.environ.get("BENCH_WEBHOOK_BATCHES", "7"))
PER_BATCH = int(os.environ.get("BENCH_WEBHOOK_REQUESTS", "200"))
KINDS = ("healthz", "armed", "woken", "duplicate")


def _environ(method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    env = environ(path, "")
    env.update(REQUEST_METHOD=method, CONTENT_LENGTH=str(len(body)))
    env["wsgi.input"] = io.BytesIO(body)
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def delivery(secret: str) -> tuple[bytes, str]:
    """A new event as Stripe sends it, signed now: the body and its Stripe-Signature."""
    signature, body = signed_delivery(secret, int(time.time()))
    return body.encode(), signature


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler

    from subscriptions.services import stripe_events
    from subscriptions.services.stripe_events import WAKE_KEY

    secret = settings.STRIPE_WEBHOOK_SECRET
    assert secret, "STRIPE_WEBHOOK_SECRET is not set"
    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., None]:
        statuses.append(status)
        return lambda data: None

    def call(env: dict[str, Any]) -> None:
        result = handler(env, start_response)
        b"".join(result)
        result.close()

    def post(body: bytes, signature: str) -> None:
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        call(_environ("POST", "/webhooks/stripe/", body, headers))

    duplicate = delivery(secret)
    post(*duplicate)

    def prepared(kind: str, count: int) -> list[Callable[[], None]]:
        """`count` requests of `kind`, built before the clock starts."""
        if kind == "healthz":
            return [lambda: call(_environ("GET", "/healthz", b"", {}))] * count
        if kind == "duplicate":
            return [lambda: post(*duplicate)] * count
        fresh = [delivery(secret) for _ in range(count)]
        if kind == "armed":
            return [lambda d=d: post(*d) for d in fresh]  # type: ignore[misc]

        def woken(d: tuple[bytes, str]) -> None:
            cache.delete(WAKE_KEY)  # as if the drain had just found the log empty
            if hasattr(stripe_events, "_seen_armed_at"):  # and the last event long ago
                stripe_events._seen_armed_at = -math.inf
            post(*d)

        return [lambda d=d: woken(d) for d in fresh]  # type: ignore[misc]

    def timed(kind: str, count: int) -> tuple[float, float, float]:
        """CPU ms per request, the kernel's share of it (system time), wall ms."""
        requests = prepared(kind, count)
        if kind == "armed":
            cache.add(WAKE_KEY, 1, timeout=3600)
        statuses.clear()
        t0, c0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
        w0 = time.perf_counter()
        for request in requests:
            request()
        wall = 1000 * (time.perf_counter() - w0) / count
        t1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = 1000 * (time.process_time() - c0) / count
        system = 1000 * (t1.ru_stime - t0.ru_stime) / count  # the kernel samples it: coarse
        assert all(s.startswith("200") for s in statuses), (kind, set(statuses))
        return cpu, system, wall

    mode = sys.argv[1] if len(sys.argv) > 1 else "table"
    try:
        if mode == "table":
            for kind in KINDS:
                timed(kind, 30)  # warm
            runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in KINDS}
            for _ in range(BATCHES):
                for kind in KINDS:
                    runs[kind].append(timed(kind, PER_BATCH))
            median = {
                k: [statistics.median(column) for column in zip(*runs[k], strict=True)]
                for k in KINDS
            }
            base = median["healthz"][0]
            print(
                "| request | CPU ms | of it system | wall ms | CPU / `/healthz`'s |\n"
                "|---|---:|---:|---:|---:|"
            )
            for kind in KINDS:
                c, sys_, w = median[kind]
                print(f"| {kind} | {c:.3f} | {sys_:.3f} | {w:.3f} | {c / base:.2f} |")
        else:
            kind, count = sys.argv[2], int(sys.argv[-1])
            if mode == "profile":
                timed(kind, 30)
                import cProfile
                import pstats

                requests = prepared(kind, count)
                if kind == "armed":
                    cache.add(WAKE_KEY, 1, timeout=3600)
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                for request in requests:
                    request()
                profile.disable()
                stats = pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative"))
                stats.print_stats(int(os.environ.get("TOP", "40")))
            else:  # callgrind: sched_yield() before and after each kind's run dumps it
                for kind in sys.argv[2:-1]:
                    requests = prepared(kind, count)
                    timed(kind, 30)
                    if kind == "armed":
                        cache.add(WAKE_KEY, 1, timeout=3600)
                    os.sched_yield()
                    for request in requests:
                        request()
                    os.sched_yield()
    finally:
        cache.delete(WAKE_KEY)
        from config.celery_app import app

        with app.connection_for_write() as conn:  # nobody consumes the published drains
            cast(VirtualChannel, conn.default_channel).queue_purge("celery")


if __name__ == "__main__":
    main()
