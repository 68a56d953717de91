"""The read rollup: read events folded ahead of time for the rule simulator.

The read-event pipeline (`paywall.events`) folds every batch it writes in the same
transaction (`paywall.rollup`): per reader, day and article, the reads and the article's
rank on the reader's meter that month; those reads summed per day, article and rank; one
row per reader with the last day of each kind of read a rule may wall.

The meter ranks depend on which articles are on the meter, that is on the article
overrides, and are capped at the site's limit: `rebuild()` recomputes a title from all of
its events, and `ensure_current()` (called by the simulator) does so when the overrides or
the limit differ from what the title was built with (`ReadRollupState.signature`), after
folding whatever is pending. Events written other than through `paywall.events` (bulk
loads) are seen by the next rebuild: `run_job rollup_read_events`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from ..models import ReadEvent, ReadRollupDirty, ReadRollupState
from ..paywall.rollup import LOCK_KEY, apply_pending, fold, is_pg, lock, rank_cap, tables
from . import dispatch

__all__ = ["LOCK_KEY", "apply_pending", "ensure_current", "rebuild", "rebuild_soon", "signature"]


def signature(publication_id: int) -> str:
    """The article overrides and the meter limit that the title's ranks depend on."""
    overrides = (
        apps.get_model("articles", "Article")
        .objects.filter(publication_id=publication_id)
        .exclude(access_level="inherit")
        .order_by("pk")
        .values_list("pk", "access_level")
    )
    text = f"cap={rank_cap()};" + ";".join(f"{pk}={level}" for pk, level in overrides)
    return hashlib.sha256(text.encode()).hexdigest()


def rebuild(*, publication_id: int, now: datetime | None = None) -> None:
    """Recompute the title's rollup from all of its read events."""
    now = now or timezone.now()
    t = tables()
    with transaction.atomic(), connection.cursor() as cursor:
        lock(cursor)
        for table in ("days", "counts", "readers"):
            cursor.execute(f"DELETE FROM {t[table]} WHERE publication_id = %s", [publication_id])
        month = (
            "date_trunc('month', e.at AT TIME ZONE 'UTC')::date"
            if is_pg()
            else "date(e.at, 'start of month')"
        )
        cursor.execute(
            f"INSERT INTO {t['dirty']} (publication_id, reader_key, month)"
            f" SELECT DISTINCT e.publication_id, e.reader_key, {month}"
            f" FROM {t['events']} e WHERE e.publication_id = %s",
            [publication_id],
        )
        if is_pg():
            cursor.execute(f"ANALYZE {t['dirty']}")
        fold(cursor)
        if is_pg():  # the planner needs to know how large the rollup now is
            for table in ("days", "counts", "readers"):
                cursor.execute(f"ANALYZE {t[table]}")
        ReadRollupState.objects.update_or_create(
            publication_id=publication_id,
            defaults={"signature": signature(publication_id), "built_at": now},
        )


def ensure_current(*, publication_id: int) -> None:
    """Apply what is pending, and rebuild the title if it was built with other overrides
    (or never): afterwards its rollup says exactly what its events say."""
    if ReadRollupDirty.objects.exists():
        apply_pending()
    state = ReadRollupState.objects.filter(publication_id=publication_id).first()
    if state is None or state.signature != signature(publication_id):
        rebuild(publication_id=publication_id)


def rebuild_soon() -> None:
    """After article overrides change: rebuild the changed titles in the background (the
    rollup job, once this transaction commits), so the next simulation need not."""
    dispatch.after_commit("jobs.rollup_read_events", robust=True)


def rollup_stale_titles() -> dict[str, int]:
    """The job: apply what is pending, then rebuild every title whose overrides changed
    or that has read events but was never built."""
    apply_pending()
    Publication = apps.get_model("articles", "Publication")
    states = dict(ReadRollupState.objects.values_list("publication_id", "signature"))
    rebuilt = 0
    for publication_id in Publication.objects.order_by("pk").values_list("pk", flat=True):
        built = states.get(publication_id)
        if built is None and not ReadEvent.objects.filter(publication_id=publication_id).exists():
            continue
        if built != signature(publication_id):
            rebuild(publication_id=publication_id)
            rebuilt += 1
    return {"rebuilt": rebuilt}
