"""The hot path's SQL budget once the shared caches (article snapshots, rules, the
reader's subscription state) are warm: any reader's warm page (a re-read, a wall, a free or
entitled read) at most two queries; a walled or re-reading anonymous reader none; a new
reader (no meter cookie) none, even for its first metered read (its meter row travels with
the read event); any other first, counted read of a metered article one more round trip
for the meter's locked insert."""

import pytest
from django.db import connection
from django.test import Client

from tests.factories import ArticleFactory, TopicFactory
from tests.paywall.conftest import reader_client

pytestmark = pytest.mark.django_db

# The counted read's lock and insert are one round trip on PostgreSQL; SQLite takes its
# write lock with a transaction of its own (two more statements).
COUNTED_EXTRA = 1 if connection.vendor == "postgresql" else 3
# The reads a cookie carries are written in the same round trip on PostgreSQL; SQLite
# runs that insert as a statement of its own, in the same transaction.
CARRIED_EXTRA = 0 if connection.vendor == "postgresql" else 1


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("kind", ["anonymous", "signed_in", "trial", "subscriber", "lapsed"])
@pytest.mark.parametrize("level", ["metered", "premium", "registered", "free"])
def test_a_warm_article_view_is_at_most_two_queries(
    kind, level, channel, django_assert_max_num_queries
):
    topic = TopicFactory()
    article = ArticleFactory(access_level=level, topics=[topic])
    ArticleFactory.create_batch(6, topics=[topic])
    other = ArticleFactory(access_level="free")
    path = f"/api/v1/articles/{article.slug}/" if channel == "api" else f"/a/{article.slug}/"
    Client().get(path)  # another reader warms the shared caches
    client = reader_client(kind, api=channel == "api")
    client.get(f"/a/{other.slug}/")  # this reader's session and cookie

    counted = level == "metered" and kind in {"anonymous", "signed_in", "lapsed"}
    with django_assert_max_num_queries(2 + (COUNTED_EXTRA if counted else 0)):
        response = client.get(path)  # the first read of this article
    assert response.status_code == 200
    with django_assert_max_num_queries(2):
        client.get(path)  # a re-read


@pytest.mark.parametrize("channel", ["api", "web"])
def test_a_new_readers_first_metered_read_runs_no_sql(channel, django_assert_num_queries):
    first, second = ArticleFactory.create_batch(2, access_level="metered")
    url = "/api/v1/articles/{}/" if channel == "api" else "/a/{}/"
    for article in (first, second):
        Client().get(url.format(article.slug))  # other readers warm the shared caches
    client = Client()
    with django_assert_num_queries(0):
        response = client.get(url.format(first.slug))
    assert response.status_code == 200
    assert b"Third paragraph" in response.content
    assert "mh_meter" in response.cookies
    with django_assert_num_queries(COUNTED_EXTRA + CARRIED_EXTRA):
        client.get(url.format(second.slug))  # counted: the cookie's first read written too


@pytest.mark.parametrize("channel", ["api", "web"])
def test_a_walled_or_re_reading_anonymous_reader_runs_no_sql(
    settings, channel, django_assert_num_queries
):
    settings.METER_FREE_ARTICLES = 2
    read = ArticleFactory.create_batch(2, access_level="metered")
    walled = ArticleFactory(access_level="metered")
    url = "/api/v1/articles/{}/" if channel == "api" else "/a/{}/"
    client = Client()
    for article in [*read, walled]:
        client.get(url.format(article.slug))  # two counted, then the wall; caches warm
    for _ in range(2):
        with django_assert_num_queries(0):
            wall = client.get(url.format(walled.slug))
        with django_assert_num_queries(0):
            again = client.get(url.format(read[0].slug))
        assert b"meter_exhausted" in wall.content or b"wall-heading" in wall.content
        assert b"Third paragraph" not in wall.content
        assert b"Third paragraph" in again.content


def test_a_list_reads_the_rules_version_once_per_request(api_client):
    from unittest import mock

    from django.core.cache import cache

    from subscriptions.paywall import rules

    ArticleFactory.create_batch(20)  # twenty titles, twenty resolved levels
    api_client.get("/api/v1/articles/")  # build the rules map
    with mock.patch.object(cache, "get", wraps=cache.get) as get:
        assert api_client.get("/api/v1/articles/").status_code == 200
    version_reads = [c for c in get.call_args_list if c.args and c.args[0] == rules.VERSION_KEY]
    assert len(version_reads) == 1
