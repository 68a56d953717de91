"""The webhook intake's fast path keeps Stripe's rules: the database down is a 503 (Stripe
retries) and nothing stored; a connection PostgreSQL dropped costs no delivery (the
statement goes first, without the health check's ping, and is sent again on a new
connection); the wake's hold skips the Redis SET NX while a drain is known to be armed,
and the drain's last look after the hold still sees every event such an intake stored."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, connections

from subscriptions.models import StripeEvent
from subscriptions.services import stripe_events
from subscriptions.services.stripe_events import WAKE_KEY, WAKE_SECONDS, stripe_events_drain
from subscriptions.tasks import drain_stripe_events
from tests.integration.conftest import free_port, needs_postgresql
from tests.subscriptions.stripe_payloads import post_event
from tests.subscriptions.test_webhook_drain import linked_events, statuses
from tests.subscriptions.test_webhooks import (  # the webhook's settings, for every test here
    _stripe_settings,  # noqa: F401
)


@pytest.fixture
def hold(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """A wake hold of a second, and a process that has not seen a drain armed yet."""
    settings.STRIPE_EVENTS_WAKE_HOLD_MS = 1000
    monkeypatch.setattr(stripe_events, "_seen_armed_at", -math.inf)
    cache.delete(WAKE_KEY)
    yield 1.0
    cache.delete(WAKE_KEY)


def _terminate(pid: int) -> None:
    """Drop one backend's connection from outside, as a PostgreSQL restart does."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_and_nothing_stored_then_the_retry_is_stored_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_postgresql()
    (evt,) = linked_events(1)
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))  # nobody there

    down = post_event(client, evt)

    assert down.status_code == 503
    assert down.json() == {
        "detail": "The event could not be stored; retry later.",
        "code": "store_unavailable",
    }
    monkeypatch.undo()  # PostgreSQL is back; Stripe delivers again
    connection.close()
    assert not StripeEvent.objects.exists()
    retried, again = post_event(client, evt), post_event(client, evt)
    assert (retried.status_code, retried.json()) == (200, {"received": True})
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert statuses() == [("processed", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_connection_postgresql_dropped_costs_no_delivery(client: Any) -> None:
    needs_postgresql()
    first, second = linked_events(2)
    assert post_event(client, first).status_code == 200
    connection.ensure_connection()  # the connection the next request starts with
    assert connection.health_check_enabled  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    _terminate(pid)
    # What every request starts with in production (the test client leaves it out): the
    # connection is kept, its health check due before the request's first statement.
    connection.close_if_unusable_or_obsolete()

    response = post_event(client, second)

    assert (response.status_code, response.json()) == (200, {"received": True})
    assert statuses() == [("processed", 1), ("processed", 1)]


@pytest.mark.django_db
def test_an_intake_that_saw_a_drain_armed_does_not_ask_again_within_the_hold(
    deliver: Any, hold: float
) -> None:
    first, second, third = linked_events(3)
    assert cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)  # a drain is published, not run yet
    assert deliver(first)[0].status_code == 200  # asks: finds it armed
    cache.delete(WAKE_KEY)  # the drain found the log empty (before the first was stored)

    assert deliver(second)[0].status_code == 200  # within the hold: does not ask
    assert cache.get(WAKE_KEY) is None
    assert statuses() == [("pending", 0), ("pending", 0)]
    # The drain it relies on: its last look comes a hold after it cleared the key.
    assert drain_stripe_events.apply().get() == 2
    assert statuses() == [("processed", 1)] * 2

    time.sleep(hold)  # past the hold: the next intake asks again, and wakes a drain
    assert deliver(third)[0].status_code == 200
    assert statuses() == [("processed", 1)] * 3


@pytest.mark.django_db
def test_the_cache_down_is_not_taken_for_an_armed_drain(
    deliver: Any, hold: float, settings: Any
) -> None:
    first, second = linked_events(2)
    settings.CACHES = {  # Redis down: nothing listens there
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True},
        }
    }
    assert deliver(first)[0].status_code == 200  # stored; its wake for the sweep
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert deliver(second)[0].status_code == 200  # asks (no hold): wakes a drain
    assert statuses() == [("processed", 1)] * 2


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_drains_last_look_after_the_hold_sees_an_event_an_intake_stored_unasked(
    client: Any, hold: float
) -> None:
    """The race the hold is for: a drain finds the log empty and clears the key; an
    intake that saw the key set just before stores an event and does not ask. The drain's
    last look, a hold after it cleared the key, processes that event, once."""
    needs_postgresql()
    first, second = linked_events(2)
    assert cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)  # a drain is published
    assert post_event(client, first).status_code == 200  # asks at t: finds it armed
    drained: list[int] = []

    def drain() -> None:  # the published drain, run by a worker
        try:
            drained.append(stripe_events_drain().processed)
        finally:
            connections.close_all()

    worker = threading.Thread(target=drain)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while cache.get(WAKE_KEY) is not None and time.monotonic() < deadline:
            time.sleep(0.005)  # the drain processed the first and cleared the key
        assert post_event(client, second).status_code == 200  # within t + the hold
        assert cache.get(WAKE_KEY) is None  # it did not ask (asking would have set it)
        assert StripeEvent.objects.filter(stripe_id=second["id"], status="pending").exists()
    finally:
        worker.join()
    assert drained == [2]
    assert statuses() == [("processed", 1)] * 2
