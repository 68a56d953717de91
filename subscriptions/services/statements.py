"""Publisher statements: a month's pool split exactly by qualified reads.

Pool = the month's net subscription revenue (payments less refunds) x the publishers'
share, one pool per currency (amounts in different currencies are never added): a
publisher gets one statement per currency of the month's payments. A qualified read is
an entitled read (subscriber, trial or complimentary), at most one per reader, article
and day. Shares are integer minor units with largest-remainder rounding, so they always
sum to the pool exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum

from ..models import Payment, PublisherStatement, ReadEvent
from ..vocabulary import ENTITLED_REASONS


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime.combine(month, time.min, tzinfo=UTC)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime.combine(following, time.min, tzinfo=UTC)


def pools_for(*, month: date) -> dict[str, int]:
    """Currency -> the publishers' pool in it, minor units. One query. A month without
    payments has a zero pool in the site's currency, so its statements still close it."""
    start, end = month_bounds(month)
    rows = (
        Payment.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("currency")
        .annotate(net=Sum(F("amount") - F("refunded")))
        .order_by("currency")
    )
    pools: dict[str, int] = {}
    for row in rows:
        currency = str(row["currency"]).lower()
        pools[currency] = pools.get(currency, 0) + int(row["net"] or 0)
    share = settings.PUBLISHER_SHARE_PERCENT
    return {c: net * share // 100 for c, net in pools.items()} or {settings.CURRENCY: 0}


def qualified_reads(*, month: date) -> dict[int, int]:
    """Publisher id -> distinct (reader, article, day) entitled reads. One query."""
    start, end = month_bounds(month)
    events = ReadEvent._meta.db_table
    publications = apps.get_model("articles", "Publication")._meta.db_table
    placeholders = ", ".join(["%s"] * len(ENTITLED_REASONS))
    sql = f"""
        SELECT publisher_id, COUNT(*) FROM (
            SELECT DISTINCT p.publisher_id, e.reader_key, e.article_id, DATE(e.at) AS day
            FROM {events} e JOIN {publications} p ON p.id = e.publication_id
            WHERE e.granted AND e.at >= %s AND e.at < %s AND e.reason IN ({placeholders})
        ) reads GROUP BY publisher_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, *ENTITLED_REASONS])
        return {int(publisher): int(count) for publisher, count in cursor.fetchall()}


def split(*, pool: int, weights: dict[int, int]) -> dict[int, int]:
    """Largest-remainder split of `pool` by `weights`; sums to `pool` exactly (when any
    weight is positive). Ties go to the lower key, so the result is deterministic."""
    total = sum(weights.values())
    if total <= 0 or pool <= 0:
        return {key: 0 for key in weights}
    shares: dict[int, int] = {}
    remainders: list[tuple[int, int]] = []
    for key, weight in weights.items():
        share, remainder = divmod(pool * weight, total)
        shares[key] = share
        remainders.append((remainder, key))
    left = pool - sum(shares.values())
    for _, key in sorted(remainders, key=lambda item: (-item[0], item[1]))[:left]:
        shares[key] += 1
    return shares


def write_month(*, month: date, now: datetime) -> int:
    """One statement per publisher and currency for `month`; final once written (a rerun
    writes nothing). Returns how many statements were written."""
    publisher_model = apps.get_model("articles", "Publisher")
    with transaction.atomic():
        if PublisherStatement.objects.filter(month=month).exists():
            return 0
        reads = qualified_reads(month=month)
        publisher_ids = list(publisher_model.objects.values_list("id", flat=True))
        weights = {pid: reads.get(pid, 0) for pid in publisher_ids}
        total = sum(weights.values())
        statements = []
        for currency, pool in pools_for(month=month).items():
            shares = split(pool=pool, weights=weights)
            statements += [
                PublisherStatement(
                    publisher_id=pid,
                    month=month,
                    qualified_reads=weights[pid],
                    total_qualified_reads=total,
                    pool=pool,
                    amount=shares[pid],
                    currency=currency,
                    created_at=now,
                )
                for pid in publisher_ids
            ]
        PublisherStatement.objects.bulk_create(statements, ignore_conflicts=True)
    return len(statements)
