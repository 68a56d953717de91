"""The Redis read-event sink on a real Redis: a view costs one RPUSH, a drain writes
the batch with bulk inserts (and folds it into the simulator's rollup with a constant
number of statements)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from subscriptions.models import ReadEvent
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
