"""The hot path's SQL budget: at most four queries for any reader's article view once
the shared caches (rules, related stories, the reader's subscription state) are warm."""

import pytest
from django.test import Client

from tests.factories import ArticleFactory, TopicFactory
from tests.paywall.conftest import reader_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("kind", ["anonymous", "signed_in", "trial", "subscriber", "lapsed"])
@pytest.mark.parametrize("level", ["metered", "premium", "registered", "free"])
def test_article_view_is_at_most_four_queries(kind, level, channel, django_assert_max_num_queries):
    topic = TopicFactory()
    article = ArticleFactory(access_level=level, topics=[topic])
    ArticleFactory.create_batch(6, topics=[topic])
    path = f"/api/v1/articles/{article.slug}/" if channel == "api" else f"/a/{article.slug}/"
    Client().get(path)  # another reader warms the shared caches
    client = reader_client(kind, api=channel == "api")
    client.get(f"/a/{ArticleFactory(access_level='free').slug}/")  # this reader's session

    with django_assert_max_num_queries(4):
        response = client.get(path)  # the first, counted read of this article
    assert response.status_code == 200
    with django_assert_max_num_queries(4):
        client.get(path)  # a re-read


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
