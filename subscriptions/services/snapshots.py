"""The daily metric snapshots: the figures at the end of each UTC day, recomputed from
the recorded history, so any past day can be (re)written and a rerun changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from .. import metrics
from ..models import MetricSnapshot

BACKFILL_DAYS = 730


def snapshot_write(*, day: date, now: datetime | None = None) -> MetricSnapshot:
    """The snapshot of one finished day, written or rewritten."""
    figures = metrics.figures_at(metrics.day_start(day + timedelta(days=1)))
    snapshot, _ = MetricSnapshot.objects.update_or_create(
        day=day, defaults={"figures": figures, "computed_at": now or timezone.now()}
    )
    return snapshot


def snapshots_catch_up(*, now: datetime | None = None, since: date | None = None) -> int:
    """Write every missing day up to yesterday, back to the start of the history (at most
    BACKFILL_DAYS), and always redo yesterday (late events). `since` redoes from a day."""
    now = now or timezone.now()
    yesterday = now.date() - timedelta(days=1)
    first = since or metrics.history_starts()
    if first is None:
        return 0
    first = max(first, yesterday - timedelta(days=BACKFILL_DAYS))
    have = set(
        MetricSnapshot.objects.filter(day__gte=first, day__lte=yesterday).values_list(
            "day", flat=True
        )
    )
    written = 0
    day = first
    while day <= yesterday:
        if since is not None or day not in have or day == yesterday:
            snapshot_write(day=day, now=now)
            written += 1
        day += timedelta(days=1)
    return written
