"""Per-title figures for a period: reads, walls by reason, conversions attributed to the
title, revenue share from issued statements, and a daily series for the chart.

Attribution is kept when a trial or a paid subscription starts (a
`subscriptions.Conversion` row: the reader's last walled article in the 24 h before it;
the rule lives in `subscriptions.services.attribution`); these figures only count the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from articles.models import Publication
from subscriptions.models import Conversion, PublisherStatement, ReadEvent
from subscriptions.services.statements import ENTITLED_REASONS, month_bounds, split
from subscriptions.vocabulary import ConversionKind

from .simulator import WALLS

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30


class BadPeriod(ValueError):
    """A stats period the pages and the API refuse; `reversed`: it starts after it ends
    (else it is longer than MAX_PERIOD_DAYS). Each caller words it its own way."""

    def __init__(self, *, reversed: bool) -> None:
        super().__init__("reversed" if reversed else "too long")
        self.reversed = reversed


def stats_period(*, first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The period stats cover: `last` defaults to today, `first` to the 30 days up to
    `last`. The rules hold for the period so made, whichever bounds were given (a `first`
    alone years back once counted every day since)."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last:
        raise BadPeriod(reversed=True)
    if (last - first).days > MAX_PERIOD_DAYS:
        raise BadPeriod(reversed=False)
    return first, last


@dataclass
class TitleStats:
    publication: Publication
    reads: int = 0
    walls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WALLS, 0))
    trials_started: int = 0
    subscriptions_started: int = 0
    revenue_share: int = 0
    currency: str = "gbp"
    top_by_conversions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def walls_total(self) -> int:
        return sum(self.walls.values())

    def as_dict(self) -> dict[str, Any]:
        p = self.publication
        return {
            "publication": {"slug": p.slug, "name": p.name},
            "reads": self.reads,
            "walls": self.walls,
            "trials_started": self.trials_started,
            "subscriptions_started": self.subscriptions_started,
            "revenue_share": self.revenue_share,
            "currency": self.currency,
            "top_articles_by_conversions": self.top_by_conversions,
        }


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in UTC."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def attributed_conversions(
    *, since: datetime, until: datetime, publication_ids: list[int]
) -> list[tuple[int, str, datetime]]:
    """(title id, "trial" | "subscription", when) for the conversions started in the
    period that are credited to these titles (as kept when they started)."""
    return [
        (int(title), kind, at)
        for title, kind, at in Conversion.objects.filter(
            publication_id__in=publication_ids, started_at__gte=since, started_at__lt=until
        ).values_list("publication_id", "kind", "started_at")
    ]


def title_qualified_reads(*, month: date, publication_ids: list[int]) -> dict[int, int]:
    """Title id -> distinct (reader, article, day) entitled reads in the month: the
    statements' qualified reads, per title."""
    start, end = month_bounds(month)
    qs = (
        ReadEvent.objects.filter(
            publication_id__in=publication_ids,
            granted=True,
            reason__in=ENTITLED_REASONS,
            at__gte=start,
            at__lt=end,
        )
        .annotate(day=TruncDate("at"))
        .values("publication_id", "reader_key", "article_id", "day")
        .distinct()
    )
    counts: dict[int, int] = defaultdict(int)
    # Count the distinct rows themselves: a values_list("publication_id") here would
    # replace the selected columns and make the DISTINCT one row per title.
    for row in qs:
        counts[row["publication_id"]] += 1
    return counts


def revenue_shares(*, publications: list[Publication], since: date, until: date) -> dict[int, int]:
    """Each title's part of its publisher's issued statements for months in the period,
    split by the title's qualified reads (largest remainder: parts sum to the statement)."""
    by_publisher: dict[int, list[int]] = defaultdict(list)
    for p in publications:
        by_publisher[p.publisher_id].append(p.pk)
    shares: dict[int, int] = defaultdict(int)
    statements = PublisherStatement.objects.filter(
        publisher_id__in=list(by_publisher),
        month__gte=since.replace(day=1),
        month__lte=until,
    )
    for statement in statements:
        titles = by_publisher[statement.publisher_id]
        reads = title_qualified_reads(month=statement.month, publication_ids=titles)
        parts = split(pool=statement.amount, weights={t: reads.get(t, 0) for t in titles})
        for title, amount in parts.items():
            shares[title] += amount
    return shares


def title_stats(*, publications: list[Publication], since: date, until: date) -> list[TitleStats]:
    start, end = period_bounds(since, until)
    ids = [p.pk for p in publications]
    stats = {p.pk: TitleStats(publication=p) for p in publications}
    rows = (
        ReadEvent.objects.filter(publication_id__in=ids, at__gte=start, at__lt=end)
        .values("publication_id", "granted", "reason")
        .annotate(n=Count("id"))
    )
    for row in rows:
        s = stats[row["publication_id"]]
        if row["granted"]:
            s.reads += row["n"]
        elif row["reason"] in s.walls:
            s.walls[row["reason"]] += row["n"]
    for title, kind, _ in attributed_conversions(since=start, until=end, publication_ids=ids):
        if title in stats:
            if kind == ConversionKind.TRIAL:
                stats[title].trials_started += 1
            else:
                stats[title].subscriptions_started += 1
    for title, amount in revenue_shares(
        publications=publications, since=since, until=until
    ).items():
        stats[title].revenue_share = amount
    for title, top in top_articles_by_conversions(
        publications=publications, since=since, until=until
    ).items():
        stats[title].top_by_conversions = top
    return [stats[p.pk] for p in publications]


@dataclass(frozen=True)
class Day:
    day: date
    reads: int
    walls: int
    trials: int
    subscriptions: int


def daily(*, publication: Publication, since: date, until: date) -> list[Day]:
    """One row per day of the period (days without reads included)."""
    return daily_total(publications=[publication], since=since, until=until)


def daily_total(*, publications: list[Publication], since: date, until: date) -> list[Day]:
    """One row per day of the period, the titles' figures added up (each conversion is
    credited to one title at most, so none is counted twice)."""
    ids = [p.pk for p in publications]
    start, end = period_bounds(since, until)
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        ReadEvent.objects.filter(publication_id__in=ids, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at"))
        .values("day", "granted")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["day"]]["reads" if row["granted"] else "walls"] += row["n"]
    for _, kind, at in attributed_conversions(since=start, until=end, publication_ids=ids):
        day_counts = counts[at.astimezone(UTC).date()]
        day_counts["trials" if kind == ConversionKind.TRIAL else "subscriptions"] += 1
    days = []
    day = since
    while day <= until:
        c = counts.get(day, {})
        days.append(
            Day(
                day,
                c.get("reads", 0),
                c.get("walls", 0),
                c.get("trials", 0),
                c.get("subscriptions", 0),
            )
        )
        day += timedelta(days=1)
    return days


def top_articles(
    *, publication: Publication, since: date, until: date, limit: int = 10
) -> list[dict[str, Any]]:
    start, end = period_bounds(since, until)
    return list(
        ReadEvent.objects.filter(
            publication_id=publication.pk, granted=True, at__gte=start, at__lt=end
        )
        .values("article__slug", "article__title")
        .annotate(reads=Count("id"))
        .order_by("-reads", "article__slug")[:limit]
    )


def top_articles_by_conversions(
    *, publications: list[Publication], since: date, until: date, limit: int = 10
) -> dict[int, list[dict[str, Any]]]:
    """Per title: the articles whose walls started the most trials and paid
    subscriptions in the period (as kept when they started), most first, at most `limit`:
    {slug, title, trials, subscriptions, conversions}. One query for all the titles."""
    start, end = period_bounds(since, until)
    rows = (
        Conversion.objects.filter(
            publication_id__in=[p.pk for p in publications],
            article__isnull=False,
            started_at__gte=start,
            started_at__lt=end,
        )
        .values("publication_id", "article__slug", "article__title")
        .annotate(
            trials=Count("id", filter=Q(kind=ConversionKind.TRIAL)),
            subscriptions=Count("id", filter=Q(kind=ConversionKind.SUBSCRIPTION)),
            conversions=Count("id"),
        )
        .order_by("publication_id", "-conversions", "-subscriptions", "article__slug")
    )
    top: dict[int, list[dict[str, Any]]] = {p.pk: [] for p in publications}
    for row in rows:
        articles = top[row["publication_id"]]
        if len(articles) < limit:
            articles.append(
                {
                    "slug": row["article__slug"],
                    "title": row["article__title"],
                    "trials": row["trials"],
                    "subscriptions": row["subscriptions"],
                    "conversions": row["conversions"],
                }
            )
    return top
