"""The counted read's statement goes without the per-request connection health check
(`SELECT 1` before the request's first query): one round trip, not two. A connection
that died meanwhile (PostgreSQL restarted) still costs the reader nothing: the statement
is sent again on a new connection, and counts once. Needs PostgreSQL."""

from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from subscriptions.models import MeterEntry
from subscriptions.paywall import metering
from tests.factories import ArticleFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def _new_request() -> None:
    """What the start of a request does to the connection (the test client skips it)."""
    connection.ensure_connection()
    # django-stubs does not declare the CONN_HEALTH_CHECKS flags of the connection.
    assert connection.health_check_enabled  # type: ignore[attr-defined]
    connection.health_check_done = False  # type: ignore[attr-defined]


def _drop_the_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def test_a_counted_read_sends_no_health_check():
    first, second = ArticleFactory.create_batch(2, access_level="metered")
    for article in (first, second):
        Client().get(f"/a/{article.slug}/")  # other readers warm the caches
    reader = Client()
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as ping:
        _new_request()
        assert reader.get(f"/a/{first.slug}/").status_code == 200  # a new reader: no SQL
        _new_request()
        assert reader.get(f"/a/{second.slug}/").status_code == 200  # the locked insert
    assert ping.call_count == 0
    key = metering.cookie_reader_key(reader.get(f"/a/{first.slug}/").wsgi_request)
    # The second read wrote the first (its cookie carried it) and counted itself.
    assert MeterEntry.objects.filter(reader_key=key).count() == 2


def _carried(article, now):
    return [metering.CountedRead(article.pk, article.publication_id, int(now.timestamp()))]


@pytest.mark.parametrize("carries", [False, True])
def test_a_dropped_connection_is_replaced_and_the_read_counted_once(carries):
    article, earlier = ArticleFactory.create_batch(2, access_level="metered")
    now = timezone.now()
    _drop_the_connection()
    _new_request()
    counted = metering.count_read(
        key="a:reader",
        article_id=article.pk,
        publication_id=article.publication_id,
        title_cap=None,
        now=now,
        carried=_carried(earlier, now) if carries else (),
    )
    assert counted
    rows = MeterEntry.objects.filter(reader_key="a:reader")
    assert rows.count() == (2 if carries else 1)


def test_a_read_already_counted_is_not_counted_again_when_sent_twice():
    """What a resend after a lost answer meets: the rows are there, nothing more is
    counted or written."""
    article, earlier = ArticleFactory.create_batch(2, access_level="metered")
    now = timezone.now()
    kwargs: dict[str, Any] = {
        "key": "a:reader",
        "article_id": article.pk,
        "publication_id": article.publication_id,
        "title_cap": None,
        "now": now,
    }
    assert metering.count_read(**kwargs, carried=_carried(earlier, now))
    assert not metering.count_read(**kwargs, carried=_carried(earlier, now))
    assert not metering.count_read(**kwargs)
    assert MeterEntry.objects.filter(reader_key="a:reader").count() == 2


def test_inside_a_transaction_the_health_check_is_left_alone():
    article = ArticleFactory(access_level="metered")
    _new_request()
    from django.db import transaction

    with (
        mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as ping,
        transaction.atomic(),
    ):
        assert metering.count_read(
            key="a:reader",
            article_id=article.pk,
            publication_id=article.publication_id,
            title_cap=None,
            now=timezone.now(),
        )
    assert connection.health_check_done  # type: ignore[attr-defined]  # see _new_request
    assert ping.call_count == 1  # Django's own check, as for any query
