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
