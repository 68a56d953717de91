"""The daily metric snapshots: the figures at the end of each UTC day, recomputed from
the recorded history, so any past day can be (re)written and a rerun changes nothing.
The first day of a run is computed from the whole history, each next one from the day
before plus that day's changes (see `metrics.figures_next`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from .. import metrics
from ..models import MetricSnapshot

BACKFILL_DAYS = 730


def snapshots_catch_up(*, now: datetime | None = None, since: date | None = None) -> int:
    """Write every missing day up to yesterday, back to the start of the history (at most
    BACKFILL_DAYS), and always redo yesterday (late events). `since` redoes from a day."""
    now = now or timezone.now()
    yesterday = now.date() - timedelta(days=1)
    first = since or metrics.history_starts()
    if first is None:
        return 0
    first = max(first, yesterday - timedelta(days=BACKFILL_DAYS))
    have = dict(
        MetricSnapshot.objects.filter(day__gte=first, day__lte=yesterday).values_list(
            "day", "figures"
        )
    )
    written = 0
    day = first
    figures: dict[str, Any] | None = None  # at the start of `day`, when carried over
    while day <= yesterday:
        start = metrics.day_start(day)
        end = start + timedelta(days=1)
        if since is not None or day not in have or day == yesterday:
            if figures is None:  # the first day computed: from the whole history
                figures = metrics.figures_at(end)
            else:
                figures = metrics.figures_next(figures, start=start, end=end)
            MetricSnapshot.objects.update_or_create(
                day=day, defaults={"figures": figures, "computed_at": now}
            )
            written += 1
        else:
            figures = have[day]  # a kept day: the next one carries on from it
        day += timedelta(days=1)
    return written
