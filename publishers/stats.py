"""Per-title figures for a period: reads, walls by reason, conversions attributed to the
title, revenue share from issued statements, and a daily series for the chart.

Attribution: a trial or a paid subscription belongs to the title of the last wall the
reader met in the 24 h before it started — the wall whose "Start your free trial" link
they followed (kept on their TrialClaim), else their last walled read event (anonymous
reads are linked to the account when the reader signs up or in).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    OuterRef,
    Subquery,
)
from django.db.models.functions import TruncDate

from accounts.models import TrialClaim
from articles.models import Publication
from subscriptions.models import AuditEntry, PublisherStatement, ReadEvent
from subscriptions.services.statements import ENTITLED_REASONS, month_bounds, split

from .simulator import WALLS

ATTRIBUTION_WINDOW = timedelta(hours=24)


@dataclass
class TitleStats:
    publication: Publication
    reads: int = 0
    walls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WALLS, 0))
    trials_started: int = 0
    subscriptions_started: int = 0
    revenue_share: int = 0
    currency: str = "gbp"

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
        }


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in UTC."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _last_wall(user_ref: str, at_ref: str) -> Subquery:
    window_start = ExpressionWrapper(
        OuterRef(at_ref) - ATTRIBUTION_WINDOW, output_field=DateTimeField()
    )
    return Subquery(
        ReadEvent.objects.filter(
            user_id=OuterRef(user_ref),
            granted=False,
            at__lt=OuterRef(at_ref),
            at__gte=window_start,
        )
        .order_by("-at", "-id")
        .values("publication_id")[:1]
    )


def attributed_conversions(*, since: datetime, until: datetime) -> list[tuple[int, str, datetime]]:
    """(title id, "trial" | "subscription", when) for conversions started in the period
    with a wall in the 24 h before them."""
    rows: list[tuple[int, str, datetime]] = []
    trials = TrialClaim.objects.filter(claimed_at__gte=since, claimed_at__lt=until).annotate(
        wall=_last_wall("user_id", "claimed_at")
    )
    for claim_article_pub, wall, at in trials.values_list(
        "article__publication_id", "wall", "claimed_at"
    ):
        title = claim_article_pub or wall
        if title:
            rows.append((int(title), "trial", at))
    paid = (
        AuditEntry.objects.filter(
            subscription__user__isnull=False, to_status="active", at__gte=since, at__lt=until
        )
        .exclude(from_status__in=["active", "past_due"])
        .annotate(wall=_last_wall("subscription__user_id", "at"))
    )
    for wall, at in paid.values_list("wall", "at"):
        if wall:
            rows.append((int(wall), "subscription", at))
    return rows


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
    for row in qs.values_list("publication_id", flat=True):
        counts[row] += 1
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
    for title, kind, _ in attributed_conversions(since=start, until=end):
        if title in stats:
            if kind == "trial":
                stats[title].trials_started += 1
            else:
                stats[title].subscriptions_started += 1
    for title, amount in revenue_shares(
        publications=publications, since=since, until=until
    ).items():
        stats[title].revenue_share = amount
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
    start, end = period_bounds(since, until)
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        ReadEvent.objects.filter(publication_id=publication.pk, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at"))
        .values("day", "granted")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["day"]]["reads" if row["granted"] else "walls"] += row["n"]
    for title, kind, at in attributed_conversions(since=start, until=end):
        if title == publication.pk:
            counts[at.astimezone(UTC).date()]["trials" if kind == "trial" else "subscriptions"] += 1
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
