"""The read rollup's fold: read events turned, as they are written, into what the rule
simulator reads (subscriptions.services.read_rollup explains the tables and rebuilds).

Each batch of events records which (title, reader, calendar month) it touched
(`ReadRollupDirty`), and `fold()` recomputes exactly those reader-months from their
events, in SQL, with a constant number of statements however large the batch:

1. take the reader-months' rows out of `ReadRollupCount` (subtract their old counts);
2. replace their `ReadRollupDay` rows: reads per day and article, and each article's rank
   on the reader's meter that month, ranked afresh from all of the month's events (so an
   event that arrives late or out of order simply re-ranks its month);
3. add the new rows back into `ReadRollupCount`;
4. recompute `ReadRollupReader` for the readers touched, from their `ReadRollupDay` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import (
    ReadEvent,
    ReadRollupCount,
    ReadRollupDay,
    ReadRollupDirty,
    ReadRollupReader,
    ReadRollupState,
)

ENTITLED = ("subscriber", "trial", "complimentary")
LOCK_KEY = 7_350_002  # pg_advisory_xact_lock: one rollup writer at a time
REBUILD_TASK = "jobs.rollup_read_events"  # rebuilds every stale title
# A rebuild asked for a title is not asked again for this long (a lost message is
# asked again after it; the nightly job catches up anyway).
REQUEUE_AFTER = timedelta(minutes=10)


def month_of(at: datetime) -> date:
    at = at.astimezone(UTC) if timezone.is_aware(at) else at
    return date(at.year, at.month, 1)


def rank_cap() -> int:
    """Ranks above the site's limit all walk the same way: they are kept as limit + 1."""
    return int(settings.METER_FREE_ARTICLES) + 1


def mark_dirty(events: Iterable[dict[str, Any]]) -> None:
    """Record the reader-months these (just written) events belong to."""
    keys = {
        (int(e.get("publication_id") or e["publication"].pk), e["reader_key"], month_of(e["at"]))
        for e in events
    }
    ReadRollupDirty.objects.bulk_create(
        [ReadRollupDirty(publication_id=p, reader_key=r, month=m) for p, r, m in sorted(keys)]
    )


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE 'UTC')::date" if is_pg() else f"date({column})"


def _next_month(column: str) -> str:
    return f"({column} + interval '1 month')" if is_pg() else f"date({column}, '+1 month')"


def _iso(expression: str) -> str:
    return f"to_char({expression}, 'YYYY-MM-DD')" if is_pg() else expression


def _bytewise(column: str) -> str:
    """Sort and group reader keys bytewise on PostgreSQL: its locale collation is several
    times slower, and only equality matters here."""
    return f'{column} COLLATE "C"' if is_pg() else column


def lock(cursor: Any, *, wait: bool = True) -> bool:
    """One rollup writer at a time (SQLite has one writer anyway). Without `wait`, False
    when another holds the lock."""
    if not is_pg():
        return True
    if wait:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
    return bool(cursor.fetchone()[0])


def tables() -> dict[str, str]:
    return {
        "events": ReadEvent._meta.db_table,
        "articles": apps.get_model("articles", "Article")._meta.db_table,
        "dirty": ReadRollupDirty._meta.db_table,
        "days": ReadRollupDay._meta.db_table,
        "counts": ReadRollupCount._meta.db_table,
        "readers": ReadRollupReader._meta.db_table,
    }


COUNTS = ("signed_in", "anonymous", "subscriber", "trial", "complimentary")


def statements() -> list[str]:
    t = tables()
    entitled = ", ".join(f"'{r}'" for r in ENTITLED)
    # The reader-months to recompute: every dirty row up to the id read under the lock.
    todo = (
        f"(SELECT DISTINCT publication_id, reader_key, month FROM {t['dirty']}"
        " WHERE id <= %(upto)s)"
    )
    in_todo = (
        f"EXISTS (SELECT 1 FROM {t['dirty']} x WHERE x.id <= %(upto)s"
        " AND x.publication_id = r.publication_id AND x.reader_key = r.reader_key"
        " AND x.month = r.month)"
    )
    reader_todo = (
        f"EXISTS (SELECT 1 FROM {t['dirty']} x WHERE x.id <= %(upto)s"
        " AND x.publication_id = r.publication_id AND x.reader_key = r.reader_key)"
    )
    cap = "%(cap)s"

    def counts(sign: str) -> str:
        sums = ", ".join(f"{sign}SUM(r.{c})" for c in COUNTS)
        updates = ", ".join(f"{c} = {t['counts']}.{c} + excluded.{c}" for c in COUNTS)
        return f"""
        INSERT INTO {t["counts"]} (publication_id, day, article_id, rank_all, rank_ovr,
                                  {", ".join(COUNTS)})
        SELECT * FROM (
            SELECT r.publication_id, r.day, r.article_id,
                   COALESCE(CASE WHEN r.rank_all > {cap} THEN {cap} ELSE r.rank_all END, 0),
                   COALESCE(CASE WHEN r.rank_ovr > {cap} THEN {cap} ELSE r.rank_ovr END, 0),
                   {sums}
            FROM {t["days"]} r WHERE {in_todo}
            GROUP BY 1, 2, 3, 4, 5
        ) grouped WHERE true
        ON CONFLICT (publication_id, day, article_id, rank_all, rank_ovr)
        DO UPDATE SET {updates}
        """

    unread = "(r.signed_in + r.anonymous > 0)"

    def meter(column: str) -> str:
        # Last day of an unentitled read ranked j or later, j = 1 .. cap; a missing day
        # ends the string (a later j has none either).
        days = [
            f"COALESCE({_iso(f'MAX(CASE WHEN {unread} AND r.{column} >= {j} THEN r.day END)')}, '')"
            for j in range(1, rank_cap() + 1)
        ]
        return " || ".join(days)

    return [
        counts("-"),
        f"DELETE FROM {t['days']} WHERE EXISTS (SELECT 1 FROM {t['dirty']} x"
        f" WHERE x.id <= %(upto)s AND x.publication_id = {t['days']}.publication_id"
        f" AND x.reader_key = {t['days']}.reader_key AND x.month = {t['days']}.month)",
        f"""
        WITH todo AS {todo},
        ev AS (
            SELECT e.id, e.at, e.publication_id, {_bytewise("e.reader_key")} AS reader_key,
                   e.article_id, d.month, {_day("e.at")} AS day,
                   CASE WHEN e.entitlement <> '' THEN e.entitlement
                        WHEN e.reason IN ({entitled}) THEN e.reason ELSE '' END AS ent,
                   CASE WHEN e.user_id IS NOT NULL OR e.reader_key LIKE 'u:%%'
                        THEN 1 ELSE 0 END AS authed,
                   CASE WHEN a.access_level IN ('inherit', 'metered') THEN 1 ELSE 0 END
                       AS on_all,
                   CASE WHEN a.access_level = 'metered' THEN 1 ELSE 0 END AS on_ovr
            FROM todo d JOIN {t["events"]} e ON e.publication_id = d.publication_id
                 AND e.reader_key = d.reader_key
                 AND e.at >= d.month AND e.at < {_next_month("d.month")}
            JOIN {t["articles"]} a ON a.id = e.article_id
        ),
        -- Each read carries its article's first unentitled read of the month: time, then id.
        first_at AS (
            SELECT ev.*, MIN(CASE WHEN ent = '' THEN at END) OVER (
                PARTITION BY publication_id, reader_key, month, article_id) AS fa
            FROM ev
        ),
        first_read AS (
            SELECT first_at.*, MIN(CASE WHEN ent = '' AND at = fa THEN id END) OVER (
                PARTITION BY publication_id, reader_key, month, article_id) AS fi
            FROM first_at
        ),
        -- The article's place on each meter: dense, as all its reads share (fa, fi).
        ranked AS (
            SELECT first_read.*,
                   CASE WHEN on_all = 1 AND fa IS NOT NULL THEN DENSE_RANK() OVER (
                       PARTITION BY publication_id, reader_key, month, on_all, fa IS NULL
                       ORDER BY fa, fi) END AS rank_all,
                   CASE WHEN on_ovr = 1 AND fa IS NOT NULL THEN DENSE_RANK() OVER (
                       PARTITION BY publication_id, reader_key, month, on_ovr, fa IS NULL
                       ORDER BY fa, fi) END AS rank_ovr
            FROM first_read
        )
        INSERT INTO {t["days"]} (publication_id, reader_key, month, day, article_id,
                                {", ".join(COUNTS)}, rank_all, rank_ovr)
        SELECT publication_id, reader_key, month, day, article_id,
               SUM(CASE WHEN ent = '' AND authed = 1 THEN 1 ELSE 0 END),
               SUM(CASE WHEN ent = '' AND authed = 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN ent = 'subscriber' THEN 1 ELSE 0 END),
               SUM(CASE WHEN ent = 'trial' THEN 1 ELSE 0 END),
               SUM(CASE WHEN ent = 'complimentary' THEN 1 ELSE 0 END),
               MAX(rank_all), MAX(rank_ovr)
        FROM ranked
        GROUP BY publication_id, reader_key, month, day, article_id
        """,
        counts(""),
        f"DELETE FROM {t['counts']} WHERE "
        + " AND ".join(f"{c} = 0" for c in COUNTS)
        + f" AND publication_id IN (SELECT publication_id FROM {t['dirty']}"
        " WHERE id <= %(upto)s)",
        f"DELETE FROM {t['readers']} WHERE EXISTS (SELECT 1 FROM {t['dirty']} x"
        f" WHERE x.id <= %(upto)s AND x.publication_id = {t['readers']}.publication_id"
        f" AND x.reader_key = {t['readers']}.reader_key)",
        f"""
        INSERT INTO {t["readers"]} (publication_id, reader_key, last_day, premium_day,
            registered_day, inherit_day, inherit_anonymous_day, meter_all, meter_ovr)
        SELECT r.publication_id, r.reader_key, MAX(r.day),
               MAX(CASE WHEN {unread} AND a.access_level = 'premium' THEN r.day END),
               MAX(CASE WHEN r.anonymous > 0 AND a.access_level = 'registered' THEN r.day END),
               MAX(CASE WHEN {unread} AND a.access_level = 'inherit' THEN r.day END),
               MAX(CASE WHEN r.anonymous > 0 AND a.access_level = 'inherit' THEN r.day END),
               {meter("rank_all")}, {meter("rank_ovr")}
        FROM {t["days"]} r JOIN {t["articles"]} a ON a.id = r.article_id
        WHERE {reader_todo}
        GROUP BY r.publication_id, r.reader_key
        """,
        f"DELETE FROM {t['dirty']} WHERE id <= %(upto)s",
    ]


def fold(cursor: Any) -> int:
    """Recompute every pending reader-month (the caller holds the lock)."""
    cursor.execute(f"SELECT MAX(id) FROM {ReadRollupDirty._meta.db_table}")
    upto = cursor.fetchone()[0]
    if upto is None:
        return 0
    if is_pg():
        # A batch is a few rows, a rebuild every reader-month of a title: without fresh
        # statistics the planner scans whole tables for a batch.
        cursor.execute(f"ANALYZE {ReadRollupDirty._meta.db_table}")
        # Sorts of a rebuild in memory rather than temp files.
        cursor.execute("SET LOCAL work_mem = '64MB'")
    params = {"upto": upto, "cap": rank_cap()}
    for sql in statements():
        cursor.execute(sql, params)
    return int(upto)


def apply_pending(*, wait: bool = True) -> bool:
    """Fold every recorded batch into the rollup. Without `wait` (the write path), give up
    at once when a rebuild or another fold holds the lock: the batch stays recorded for
    the next fold, and a flush is never held up (nor killed by its time limit)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if not lock(cursor, wait=wait):
            return False
        fold(cursor)
    return True


def _send_rebuild() -> None:
    # By name: the paywall never imports subscriptions.tasks (eager under test settings).
    current_app.signature(REBUILD_TASK).delay()


def queue_rebuild(*, publication_ids: Iterable[int], now: datetime | None = None) -> int:
    """Ask the worker to rebuild these titles' rollup (the rollup job, once this
    transaction commits). A title already asked for in the last REQUEUE_AFTER is not
    asked again: many simulations or saves queue one job. Returns how many titles were
    newly asked for."""
    now = now or timezone.now()
    ids = sorted(set(publication_ids))
    if not ids:
        return 0
    with transaction.atomic():
        for publication_id in ids:
            ReadRollupState.objects.get_or_create(
                publication_id=publication_id, defaults={"signature": ""}
            )
        # One conditional UPDATE: of two concurrent askers, the second sees the first's
        # row (PostgreSQL re-checks the condition after the lock), so only one queues.
        asked = (
            ReadRollupState.objects.filter(publication_id__in=ids)
            .filter(
                Q(rebuild_queued_at__isnull=True) | Q(rebuild_queued_at__lt=now - REQUEUE_AFTER)
            )
            .update(rebuild_queued_at=now)
        )
        if asked:
            transaction.on_commit(_send_rebuild, robust=True)
    return int(asked)
