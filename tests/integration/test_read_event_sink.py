"""The Redis read-event sink on a real Redis: a view costs one RPUSH, a drain writes
the batch with bulk inserts (and folds it into the simulator's rollup with a constant
number of statements), and a new reader's meter row with its event."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from subscriptions.models import MeterEntry, ReadEvent
from subscriptions.paywall import events
from tests.factories import ArticleFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def redis_sink(settings):
    settings.READ_EVENTS_SINK = "redis"
    events._redis().delete(events.REDIS_LIST)
    yield
    events._redis().delete(events.REDIS_LIST)


def test_views_push_to_redis_and_a_drain_writes_them(redis_sink):
    article = ArticleFactory(access_level="free")
    client = Client()
    client.get(f"/a/{article.slug}/")  # warm caches
    events._redis().delete(events.REDIS_LIST)
    statements = []
    for views in (5, 40):
        for _ in range(views):
            client.get(f"/a/{article.slug}/")
        assert events._redis().llen(events.REDIS_LIST) == views
        with CaptureQueriesContext(connection) as queries:
            assert events.flush() == views
        inserts = [
            q for q in queries if q["sql"].startswith('INSERT INTO "subscriptions_readevent"')
        ]
        assert len(inserts) == 1
        statements.append(len(queries))
    assert statements[0] == statements[1]  # the same statements for 5 reads or 40
    assert ReadEvent.objects.filter(article=article, granted=True, reason="free").count() == 45
    assert events.flush() == 0


def test_a_new_readers_meter_row_is_drained_with_its_event_once(redis_sink):
    article = ArticleFactory(access_level="metered")
    client = Client()
    assert client.get(f"/api/v1/articles/{article.slug}/").json()["access"]["granted"]
    assert not MeterEntry.objects.exists()  # the view ran no SQL
    (payload,) = events._redis().lrange(events.REDIS_LIST, 0, -1)
    assert json.loads(payload)[events.METER_READ] is True
    assert events.flush() == 1
    events._redis().rpush(events.REDIS_LIST, payload)  # the same event delivered again
    assert events.flush() == 1
    entry = MeterEntry.objects.get()
    reader_key = ReadEvent.objects.values_list("reader_key", flat=True).first()
    assert (entry.article_id, entry.reader_key) == (article.pk, reader_key)


def test_an_event_redis_refuses_is_in_the_database_when_the_page_arrives(redis_sink):
    """A refusal (an error reply: here the list's key holds a string) writes the event to
    the database before the response leaves."""
    article = ArticleFactory(access_level="free")
    events._redis().set(events.REDIS_LIST, "not a list")
    response = Client().get(f"/a/{article.slug}/")
    assert response.status_code == 200
    assert ReadEvent.objects.filter(article=article, granted=True, reason="free").count() == 1
    assert events._redis().get(events.REDIS_LIST) == b"not a list"


def test_an_event_sent_while_redis_is_down_is_in_the_database(redis_sink):
    import redis

    article = ArticleFactory(access_level="free")
    working = events._redis()
    events._redis_client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        assert Client().get(f"/a/{article.slug}/").status_code == 200
    finally:
        events._redis_client = working
    assert ReadEvent.objects.filter(article=article).count() == 1
