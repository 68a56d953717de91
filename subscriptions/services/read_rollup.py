"""The read rollup: read events folded ahead of time for the rule simulator.

The read-event pipeline (`paywall.events`) folds every batch it writes in the same
transaction (`paywall.rollup`): per reader, day and article, the reads and the article's
rank on the reader's meter that month; those reads summed per day, article and rank; one
row per reader with the last day of each kind of read a rule may wall.

The meter ranks depend on which articles are on the meter, that is on the article
overrides, and are capped at the site's limit: `rebuild()` recomputes a title from all of
its events. A title built with other overrides or another limit
(`ReadRollupState.signature`) is stale: every change of an article's level asks the
worker to rebuild it (`paywall.article_levels_changed()`), and `ensure_current()` (called
by the simulator) folds what is pending and rebuilds a stale title in the request only
when it is small (fewer than `SIMULATOR_INLINE_REBUILD_EVENTS` read events); a larger one
is queued to the worker (once) and the simulation answers `RollupPreparing`: a rebuild
takes 80-134 s per million events, longer than a request may. Events written other than
through `paywall.events` (bulk loads) are seen by the next rebuild: `run_job
rollup_read_events`.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, date, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from ..models import (
    ReadEvent,
    ReadRollupCount,
    ReadRollupDay,
    ReadRollupDirty,
    ReadRollupReader,
    ReadRollupState,
)
from ..paywall.rollup import (
    LOCK_KEY,
    apply_pending,
    dirty_months_sql,
    fold,
    granted_with,
    is_pg,
    lock,
    meter_ranks,
    queue_rebuild,
    rolling,
    signature,
    tables,
)

__all__ = [
    "LOCK_KEY",
    "SIMULATION_DAYS",
    "RollupPreparing",
    "apply_pending",
    "ensure_current",
    "granted_with",
    "meter_ranks",
    "prune",
    "prune_before",
    "prune_chunks",
    "queue_rebuild",
    "rebuild",
    "rolling",
    "signature",
]

RETRY_AFTER_SECONDS = 60
# The rule simulator replays today (UTC) and the 29 days before: the rollup's only reader
# (the publishers' stats and statements read the events), so that is all it keeps.
SIMULATION_DAYS = 30


class RollupPreparing(ApplicationError):
    """The title's rollup is being rebuilt in the background: ask again in a minute."""

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__(
            "The simulator is preparing this title's last 30 days; try again in a minute.",
            code="simulation_preparing",
            status_code=503,
        )


def rebuild(*, publication_id: int, now: datetime | None = None, wait: bool = True) -> bool:
    """Recompute the title's rollup from all of its read events. Without `wait`, give up
    (False) when another rebuild or fold holds the rollup."""
    now = now or timezone.now()
    t = tables()
    with transaction.atomic(), connection.cursor() as cursor:
        if not lock(cursor, wait=wait):
            return False
        for table in ("days", "counts", "readers"):
            cursor.execute(f"DELETE FROM {t[table]} WHERE publication_id = %s", [publication_id])
        cursor.execute(dirty_months_sql("e.publication_id = %s"), [publication_id])
        if is_pg():
            cursor.execute(f"ANALYZE {t['dirty']}")
        fold(cursor)
        if is_pg():  # the planner needs to know how large the rollup now is
            for table in ("days", "counts", "readers"):
                cursor.execute(f"ANALYZE {t[table]}")
        ReadRollupState.objects.update_or_create(
            publication_id=publication_id,
            defaults={
                "signature": signature(publication_id),
                "built_at": now,
                "rebuild_queued_at": None,
            },
        )
    return True


def is_current(publication_id: int) -> bool:
    built = ReadRollupState.objects.filter(publication_id=publication_id).values_list(
        "signature", flat=True
    )
    return built.first() == signature(publication_id)


def is_small(publication_id: int) -> bool:
    """Fewer read events than a request may rebuild (a count that stops at the limit)."""
    limit = int(settings.SIMULATOR_INLINE_REBUILD_EVENTS)
    events = ReadEvent.objects.filter(publication_id=publication_id).values("pk")[:limit]
    return events.count() < limit


def ensure_current(*, publication_id: int) -> None:
    """Fold what is pending and make sure the title's rollup says exactly what its events
    say: a stale small title is rebuilt here; a large one (or one whose rebuild would
    wait on another) is queued to the worker, once, and `RollupPreparing` raised.

    The pending fold never waits either: while a rebuild holds the rollup, the reads of
    the last moments stay for the flush job."""
    if ReadRollupDirty.objects.exists():
        apply_pending(wait=False)
    if is_current(publication_id):
        return
    if is_small(publication_id) and rebuild(publication_id=publication_id, wait=False):
        return
    queue_rebuild(publication_ids=[publication_id])
    raise RollupPreparing()


def rollup_stale_titles() -> dict[str, int]:
    """The job: apply what is pending, then rebuild every title whose overrides changed,
    that has read events but was never built, or whose rebuild was asked for."""
    apply_pending()
    Publication = apps.get_model("articles", "Publication")
    states = {
        publication_id: (built, queued)
        for publication_id, built, queued in ReadRollupState.objects.values_list(
            "publication_id", "signature", "rebuild_queued_at"
        )
    }
    rebuilt = 0
    for publication_id in Publication.objects.order_by("pk").values_list("pk", flat=True):
        built, queued = states.get(publication_id, (None, None))
        if built is None and not ReadEvent.objects.filter(publication_id=publication_id).exists():
            continue
        if built != signature(publication_id):
            rebuild(publication_id=publication_id)
            rebuilt += 1
        elif queued is not None:  # asked for, but current again: ask-able again at once
            ReadRollupState.objects.filter(publication_id=publication_id).update(
                rebuild_queued_at=None
            )
    return {"rebuilt": rebuilt}


def prune_before(now: datetime) -> date:
    """The first day the rollup keeps: the simulator's first day, and the day before it
    (a simulation begun before midnight UTC may still be reading it)."""
    return now.astimezone(UTC).date() - timedelta(days=SIMULATION_DAYS)


# What is pruned, each by its day: the counts, the reader-days, then the readers whose
# last read is older (the simulator skips them: `last_day >= its first day`).
PRUNED = (
    ("rollup_counts", ReadRollupCount, "day"),
    ("rollup_days", ReadRollupDay, "day"),
    ("rollup_readers", ReadRollupReader, "last_day"),
)


def prune_chunks(*, now: datetime, chunk_size: int) -> Generator[tuple[str, int], None, None]:
    """Delete the rollup's rows of days before `prune_before(now)`, `chunk_size` at a time
    by id (one pass over each table), each chunk in its own transaction under the rollup
    lock (a fold or rebuild never sees half a chunk): (table, rows deleted) after each
    commit. Killed midway, what is left of those days is only ever read again by a fold
    that rewrites it (a late read in their month), never by a simulation; a rerun
    deletes the rest. A fold may bring back a pruned day of the month it recomputes: the
    next run takes it again."""
    keep_from = prune_before(now)
    for name, model, field in PRUNED:
        old = model.objects.filter(**{f"{field}__lt": keep_from}).order_by("pk")
        last = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                lock(cursor)
                ids = list(old.filter(pk__gt=last).values_list("pk", flat=True)[:chunk_size])
                if ids:
                    deleted = model.objects.filter(pk__in=ids).delete()[0]
            if not ids:
                break
            last = ids[-1]
            yield name, deleted


def prune(*, now: datetime | None = None, chunk_size: int) -> dict[str, int]:
    """The meter prune's part for the rollup: rows deleted, by table."""
    totals = {name: 0 for name, _, _ in PRUNED}
    for name, rows in prune_chunks(now=now or timezone.now(), chunk_size=chunk_size):
        totals[name] += rows
    return totals
