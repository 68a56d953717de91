"""The Redis read-event sink on a real Redis: a view costs one RPUSH, a drain writes
the batch with bulk inserts."""

import pytest
from django.test import Client

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


def test_views_push_to_redis_and_a_drain_writes_them(redis_sink, django_assert_num_queries):
    article = ArticleFactory(access_level="free")
    client = Client()
    client.get(f"/a/{article.slug}/")  # warm caches
    events._redis().delete(events.REDIS_LIST)
    for _ in range(5):
        client.get(f"/a/{article.slug}/")
    assert ReadEvent.objects.count() == 0
    assert events._redis().llen(events.REDIS_LIST) == 5
    with django_assert_num_queries(1):
        assert events.flush() == 5
    assert ReadEvent.objects.filter(article=article, granted=True, reason="free").count() == 5
    assert events.flush() == 0
