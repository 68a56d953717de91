from datetime import timedelta

import pytest
from django.utils import timezone

from articles import selectors
from tests.factories import (
    ArticleFactory,
    EditorialPickFactory,
    PublicationFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db


def test_related_prefers_shared_topics_then_same_title_newest_first(django_assert_num_queries):
    now = timezone.now()
    politics, economy, sport = TopicFactory.create_batch(3)
    title, other_title = PublicationFactory.create_batch(2)
    article = ArticleFactory(publication=title, topics=[politics, economy])
    both = ArticleFactory(
        publication=other_title, topics=[politics, economy], published_at=now - timedelta(days=3)
    )
    one_old = ArticleFactory(
        publication=other_title, topics=[politics], published_at=now - timedelta(days=2)
    )
    one_new = ArticleFactory(
        publication=other_title, topics=[economy], published_at=now - timedelta(hours=2)
    )
    same_title = ArticleFactory(publication=title, topics=[sport])
    ArticleFactory(publication=other_title, topics=[sport])  # unrelated

    with django_assert_num_queries(2):  # candidates + their topics
        related = selectors.related_articles(article=article)
        [list(a.topics.all()) for a in related]

    assert related == [both, one_new, one_old, same_title]


def test_related_never_includes_itself_and_respects_limit():
    topic = TopicFactory()
    article = ArticleFactory(topics=[topic])
    ArticleFactory.create_batch(10, topics=[topic])
    related = selectors.related_articles(article=article, limit=6)
    assert len(related) == 6
    assert article not in related


def test_related_for_a_lone_article_is_empty():
    assert selectors.related_articles(article=ArticleFactory()) == []


def test_top_stories_rank_news_value_against_freshness():
    now = timezone.now()
    big_recent = ArticleFactory(news_value=90, published_at=now - timedelta(hours=2))
    small_recent = ArticleFactory(news_value=10, published_at=now - timedelta(hours=1))
    big_old = ArticleFactory(news_value=100, published_at=now - timedelta(days=20))
    future = ArticleFactory(news_value=100, published_at=now + timedelta(hours=5))

    top = selectors.top_stories(limit=10, now=now)

    assert top[0] == big_recent
    assert top.index(small_recent) < top.index(big_old)
    assert future not in top


def test_top_score_decays_with_age():
    now = timezone.now()
    fresh = selectors.top_score(news_value=50, published_at=now, now=now)
    day_old = selectors.top_score(news_value=50, published_at=now - timedelta(days=1), now=now)
    assert fresh > day_old > 0


def test_picks_are_ordered_and_windowed(django_assert_num_queries):
    now = timezone.now()
    second = EditorialPickFactory(position=2)
    first = EditorialPickFactory(position=1)
    EditorialPickFactory(position=0, starts_at=now + timedelta(days=1))  # not yet
    EditorialPickFactory(
        position=0, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=1)
    )  # over

    with django_assert_num_queries(2):
        picks = selectors.editorial_picks(now=now)
        [list(a.topics.all()) for a in picks]

    assert picks == [first.article, second.article]


def test_latest_by_topic_is_one_query(django_assert_num_queries):
    topics = TopicFactory.create_batch(3)
    for t in topics:
        ArticleFactory.create_batch(6, topics=[t])
    with django_assert_num_queries(1):
        sections = selectors.latest_by_topic(per_topic=4)
    assert [len(items) for _, items in sections] == [4, 4, 4]
    for _topic, items in sections:
        dates = [a.published_at for a in items]
        assert dates == sorted(dates, reverse=True)


def test_article_list_search_never_matches_body_text():
    ArticleFactory(title="Harbour reopens", body="<p>secret-sentinel words</p>")
    assert selectors.article_list(q="harbour").count() == 1
    assert selectors.article_list(q="secret-sentinel").count() == 0
