"""Liveness (/healthz: no I/O) and readiness (/readyz: database, cache, broker)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("readyz", "1", 5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_redis() -> None:
    import redis

    client = redis.Redis.from_url(
        str(settings.REDIS_URL), socket_timeout=2, socket_connect_timeout=2
    )
    try:
        client.ping()
    finally:
        client.close()


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {"database": _check_database, "cache": _check_cache}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    checks["broker"] = _check_broker
    results: dict[str, str] = {}
    down: list[str] = []
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready", and says which
            results[name] = f"down: {exc.__class__.__name__}"
            down.append(name)
    status = 503 if down else 200
    body: dict[str, object] = {"status": "ok" if not down else "unavailable", "checks": results}
    if down:
        body["detail"] = "Not ready: " + ", ".join(down) + " down."
        body["code"] = "not_ready"
    return JsonResponse(body, status=status)
