"""Reads of the catalogue: listings, Top stories, Our Picks, Related Stories.

Each selector is one query (plus one prefetch of topics where summaries need them).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from config import versions
from subscriptions import paywall

from .models import Article, EditorialPick, Publication, Topic

TOP_STORY_CANDIDATES = 300
RELATED_LIMIT = 6
RELATED_CACHE_SECONDS = 600
LATEST_WINDOW_DAYS = 14
HOME_CACHE_SECONDS = 60
CONTENT_VERSION_KEY = versions.register("articles:content:version")


def content_version() -> str:
    """The catalogue's version stamp, for cache keys of what is derived from it."""
    return versions.current(CONTENT_VERSION_KEY)


def article_summaries() -> QuerySet[Article]:
    """Articles with what a summary shows, never loading the body."""
    return (
        Article.objects.select_related("publication")
        .defer("body")
        .prefetch_related(Prefetch("topics", queryset=Topic.objects.only("slug", "name")))
    )


def article_list(
    *, publication: str | None = None, topic: str | None = None, q: str | None = None
) -> QuerySet[Article]:
    qs = article_summaries().order_by("-published_at", "-id")
    if publication:
        qs = qs.filter(publication__slug=publication)
    if topic:
        qs = qs.filter(topics__slug=topic)
    if q:
        # Search titles, standfirsts and authors only: the body may be paywalled text.
        for term in q.split()[:8]:
            qs = qs.filter(
                Q(title__icontains=term) | Q(standfirst__icontains=term) | Q(author__icontains=term)
            )
    return qs


def article_get(*, slug: str) -> Article:
    """The article page's article with its title and publisher: one query."""
    return Article.objects.select_related("publication__publisher").get(slug=slug)


def top_score(*, news_value: int, published_at: datetime, now: datetime) -> float:
    """Hacker-News-style decay: news value over age, so big stories stay up longer."""
    age_hours = max((now - published_at).total_seconds() / 3600, 0.0)
    return (news_value + 1) / math.pow(age_hours + 2, 1.2)


def top_stories(*, limit: int = 10, now: datetime | None = None) -> list[Article]:
    """Rank the newest candidates by `top_score`; only the winners are loaded in full."""
    now = now or timezone.now()
    candidates = Article.objects.filter(published_at__lte=now).order_by("-published_at")
    ranked = sorted(
        candidates.values_list("id", "news_value", "published_at")[:TOP_STORY_CANDIDATES],
        key=lambda row: top_score(news_value=row[1], published_at=row[2], now=now),
        reverse=True,
    )
    ids = [row[0] for row in ranked[:limit]]
    by_id = article_summaries().in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def editorial_picks(*, now: datetime | None = None, limit: int = 8) -> list[Article]:
    now = now or timezone.now()
    picks = (
        EditorialPick.objects.filter(starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .filter(article__published_at__lte=now)
        .select_related("article__publication")
        .defer("article__body")
        .prefetch_related(Prefetch("article__topics", queryset=Topic.objects.only("slug", "name")))
        .order_by("position", "-starts_at")
    )
    seen: set[int] = set()
    articles: list[Article] = []
    for pick in picks[: limit * 2]:
        if pick.article_id not in seen:
            seen.add(pick.article_id)
            articles.append(pick.article)
    return articles[:limit]


def related_articles(*, article: Article, limit: int = RELATED_LIMIT) -> list[Article]:
    """Same topics first (most shared first), then same title, newest first; never itself.

    One query for the candidates (topic overlap counted in a subquery), one prefetch.
    """
    through = Article.topics.through
    article_topics = through.objects.filter(article_id=article.pk).values("topic_id")
    shared = (
        through.objects.filter(article_id=OuterRef("pk"), topic_id__in=article_topics)
        .order_by()
        .values("article_id")
        .annotate(n=Count("topic_id"))
        .values("n")  # type: ignore[misc]
    )
    candidates = (
        article_summaries()
        .exclude(pk=article.pk)
        .filter(
            Q(pk__in=through.objects.filter(topic_id__in=article_topics).values("article_id"))
            | Q(publication_id=article.publication_id)
        )
        .annotate(shared_topics=Coalesce(Subquery(shared, output_field=IntegerField()), Value(0)))
        .order_by("-shared_topics", "-published_at", "-id")
    )
    return list(candidates[:limit])


def article_extras(*, article: Article) -> dict[str, list[dict[str, Any]]]:
    """The article's topics and Related Stories as plain data, cached per article so the
    hot path does not query for them (three queries when cold)."""
    from .serializers import ArticleSummarySerializer

    # Summaries carry titles and resolved access levels: a catalogue or rule change (a new
    # stamp) refreshes them.
    key = f"article-extras:v2:{content_version()}:{paywall.rules_version()}:{article.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    related = ArticleSummarySerializer(related_articles(article=article), many=True).data
    extras = {
        "topics": [{"slug": t.slug, "name": t.name} for t in article.topics.all()],
        "related": [dict(item) for item in related],
    }
    cache.set(key, extras, RELATED_CACHE_SECONDS)
    return extras


def publications_list() -> QuerySet[Publication]:
    return Publication.objects.select_related("publisher").order_by("name")


def latest_by_topic(
    *, per_topic: int = 4, now: datetime | None = None
) -> list[tuple[Topic, list[Article]]]:
    """Home page sections: the newest few articles of every topic, in one query
    (a window function ranks each topic's articles)."""
    now = now or timezone.now()
    through = Article.topics.through
    rows = (
        through.objects.filter(
            article__published_at__lte=now,
            article__published_at__gte=now - timedelta(days=LATEST_WINDOW_DAYS),
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("topic_id"),
                order_by=[F("article__published_at").desc(), F("article_id").desc()],
            )
        )
        .filter(rank__lte=per_topic)  # type: ignore[misc]
        .select_related("topic", "article__publication")
        .defer("article__body")
        .order_by("topic__name", "rank")
    )
    sections: dict[int, tuple[Topic, list[Article]]] = {}
    for row in rows:
        sections.setdefault(row.topic_id, (row.topic, []))[1].append(row.article)
    return list(sections.values())


def home_sections() -> dict[str, object]:
    """The home page's lists, shared by every reader and cached briefly."""
    key = "home:v1"
    sections = cache.get(key)
    if sections is None:
        top = top_stories(limit=9)
        sections = {
            "lead": top[0] if top else None,
            "top_stories": top[1:],
            "picks": editorial_picks(),
            "sections": latest_by_topic(per_topic=4),
        }
        cache.set(key, sections, HOME_CACHE_SECONDS)
    return sections
