"""The webhook intake's fast path keeps Stripe's rules: the database down is a 503 (Stripe
retries) and nothing stored; a connection PostgreSQL dropped costs no delivery (the
statement goes first, without the health check's ping, and is sent again on a new
connection)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection

from subscriptions.models import StripeEvent
from tests.integration.conftest import free_port, needs_postgresql
from tests.subscriptions.stripe_payloads import post_event
from tests.subscriptions.test_webhook_drain import linked_events, statuses
from tests.subscriptions.test_webhooks import (  # the webhook's settings, for every test here
    _stripe_settings,  # noqa: F401
)


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
