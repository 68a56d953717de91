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

Under a rolling meter window (`METER_WINDOW=rolling`) a read's fate depends on which of
the reader's earlier reads were counted and are still within `METER_ROLLING_DAYS`, and
it is not monotone in the limit (a read granted with 1 free article can be walled with
2), so no rank holds it. There, step 2 runs in Python (`rolling_ranks()`): every dirty
reader's whole history of the title is replayed as the meter would count it, once per
limit 1 .. site limit, and each read keeps the verdicts as a bit set, stored in the rank
columns as 1 + bits (bit L-1: granted with L free articles; 0: not on that meter), so one
reader, day and article may have several rows. A late read changes later months too: a
dirty reader is recomputed in every month it has read.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
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


def rolling() -> bool:
    return settings.METER_WINDOW == "rolling"


def month_of(at: datetime) -> date:
    at = at.astimezone(UTC) if timezone.is_aware(at) else at
    return date(at.year, at.month, 1)


def rank_cap() -> int:
    """Ranks above the site's limit all walk the same way: they are kept as limit + 1."""
    return int(settings.METER_FREE_ARTICLES) + 1


def _signed(overrides: Iterable[tuple[int, str]]) -> str:
    """The signature of a title whose overridden articles are `overrides` (id, level),
    in id order, under the site's meter settings."""
    window = f"rolling={int(settings.METER_ROLLING_DAYS)};" if rolling() else ""
    text = f"cap={rank_cap()};{window}" + ";".join(f"{pk}={level}" for pk, level in overrides)
    return hashlib.sha256(text.encode()).hexdigest()


def _overrides(publication_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """The titles' overridden articles, (id, level) in id order: one query."""
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = (
        apps.get_model("articles", "Article")
        .objects.filter(publication_id__in=list(publication_ids))
        .exclude(access_level="inherit")
        .order_by("pk")
        .values_list("publication_id", "pk", "access_level")
    )
    for publication_id, pk, level in rows:
        found[publication_id].append((pk, level))
    return found


def signature(publication_id: int) -> str:
    """The article overrides, the meter limit and (when rolling) the meter window that the
    title's ranks depend on."""
    return _signed(_overrides([publication_id])[publication_id])


def articles_added(*, articles: Iterable[tuple[int, int]]) -> int:
    """New articles, (id, title id), some overridden: they have no reads yet, so no rank in
    their titles' rollups moves. A rollup that was current without them is current with
    them (its signature follows the overrides; one conditional UPDATE, so a rebuild
    finishing meanwhile is never overwritten by a stale guess); a stale one stays stale.
    Nothing is rebuilt. Returns how many titles' rollups stay current."""
    new: dict[int, set[int]] = defaultdict(set)
    for article_id, publication_id in articles:
        new[publication_id].add(article_id)
    if not new:
        return 0
    overrides = _overrides(new)
    kept = 0
    for publication_id in sorted(new):
        now_overridden = overrides[publication_id]
        before = [(pk, level) for pk, level in now_overridden if pk not in new[publication_id]]
        kept += ReadRollupState.objects.filter(
            publication_id=publication_id, signature=_signed(before)
        ).update(signature=_signed(now_overridden))
    return kept


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


def statements() -> list[str | None]:
    """The fold's statements; None stands for the days computed in Python (rolling)."""
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

    def capped(column: str) -> str:
        if rolling():  # verdict bits: kept as they are
            return f"COALESCE(r.{column}, 0)"
        return f"COALESCE(CASE WHEN r.{column} > {cap} THEN {cap} ELSE r.{column} END, 0)"

    def counts(sign: str) -> str:
        sums = ", ".join(f"{sign}SUM(r.{c})" for c in COUNTS)
        updates = ", ".join(f"{c} = {t['counts']}.{c} + excluded.{c}" for c in COUNTS)
        return f"""
        INSERT INTO {t["counts"]} (publication_id, day, article_id, rank_all, rank_ovr,
                                  {", ".join(COUNTS)})
        SELECT * FROM (
            SELECT r.publication_id, r.day, r.article_id,
                   {capped("rank_all")}, {capped("rank_ovr")},
                   {sums}
            FROM {t["days"]} r WHERE {in_todo}
            GROUP BY 1, 2, 3, 4, 5
        ) grouped WHERE true
        ON CONFLICT (publication_id, day, article_id, rank_all, rank_ovr)
        DO UPDATE SET {updates}
        """

    unread = "(r.signed_in + r.anonymous > 0)"

    def walled_under(column: str, limit: int) -> str:
        """An unentitled read on this meter walled with `limit` free articles."""
        if not rolling():
            return f"r.{column} > {limit}"
        if limit == 0:
            return f"r.{column} >= 1"
        return f"r.{column} >= 1 AND ((r.{column} - 1) / {1 << (limit - 1)}) %% 2 = 0"

    def meter(column: str) -> str:
        # Last day of an unentitled read walled with j - 1 free articles, j = 1 .. cap.
        # Month: ranked j or later; a missing day ends the string (a later j has none
        # either). Rolling: not monotone, so a missing day is written 0000-00-00.
        missing = "'0000-00-00'" if rolling() else "''"
        last = "MAX(CASE WHEN {unread} AND {walled} THEN r.day END)"
        days = [
            f"COALESCE({_iso(last.format(unread=unread, walled=walled_under(column, j - 1)))},"
            f" {missing})"
            for j in range(1, rank_cap() + 1)
        ]
        return " || ".join(days)

    return [
        counts("-"),
        f"DELETE FROM {t['days']} WHERE EXISTS (SELECT 1 FROM {t['dirty']} x"
        f" WHERE x.id <= %(upto)s AND x.publication_id = {t['days']}.publication_id"
        f" AND x.reader_key = {t['days']}.reader_key AND x.month = {t['days']}.month)",
        None
        if rolling()
        else f"""
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
    if rolling():
        upto = _every_month_of_dirty_readers(cursor, upto)
    params = {"upto": upto, "cap": rank_cap()}
    for sql in statements():
        if sql is None:
            _rolling_days(cursor, upto)
        else:
            cursor.execute(sql, params)
    return int(upto)


def month_sql(column: str) -> str:
    """The calendar month (UTC) of a time column, as a date."""
    if is_pg():
        return f"date_trunc('month', {column} AT TIME ZONE 'UTC')::date"
    return f"date({column}, 'start of month')"


def dirty_months_sql(where: str) -> str:
    """Mark dirty every (title, reader, month) of the read events `e` matching `where`."""
    t = tables()
    month = month_sql("e.at")
    return (
        f"INSERT INTO {t['dirty']} (publication_id, reader_key, month)"
        f" SELECT DISTINCT e.publication_id, e.reader_key, {month}"
        f" FROM {t['events']} e WHERE {where}"
    )


def _every_month_of_dirty_readers(cursor: Any, upto: int) -> int:
    """Rolling: a dirty reader is recomputed in every month they read the title (a late
    read changes the verdicts after it). Returns the new last dirty id to fold."""
    t = tables()
    cursor.execute(
        dirty_months_sql(
            f"EXISTS (SELECT 1 FROM {t['dirty']} x WHERE x.id <= %s"
            " AND x.publication_id = e.publication_id AND x.reader_key = e.reader_key)"
            # a rebuild marked them all already
            f" AND NOT EXISTS (SELECT 1 FROM {t['dirty']} y WHERE y.id <= %s"
            " AND y.publication_id = e.publication_id AND y.reader_key = e.reader_key"
            f" AND y.month = {month_sql('e.at')})"
        ),
        [upto, upto],
    )
    cursor.execute(f"SELECT MAX(id) FROM {t['dirty']}")
    return int(cursor.fetchone()[0])


def rolling_ranks(reads: list[tuple[datetime, int]], *, limit: int, days: int) -> list[int]:
    """A reader's unentitled reads of one meter's articles, (time, article) in the order
    the meter saw them: for each, 1 + the bits of the limits 1 .. `limit` under which the
    rolling meter (metering.py: the articles counted in the `days` before the read)
    grants it (an article in the window is a free re-read and renews nothing; another is
    counted when fewer than the limit are in the window)."""
    span = timedelta(days=days)
    opens = [at - span for at, _ in reads]
    granted = [0] * len(reads)  # bit L-1: granted with L free articles
    for free in range(1, limit + 1):
        bit = 1 << (free - 1)
        window: deque[tuple[datetime, int]] = deque()  # counted, oldest first
        counted: set[int] = set()  # their articles (counted once while in the window)
        for i, (at, article) in enumerate(reads):
            while window and window[0][0] <= opens[i]:
                counted.discard(window.popleft()[1])
            if article in counted:
                granted[i] |= bit
            elif len(window) < free:
                window.append((at, article))
                counted.add(article)
                granted[i] |= bit
    return [1 + bits for bits in granted]


METERS = {"all": ("inherit", "metered"), "ovr": ("metered",)}  # as rank_all, rank_ovr


def meter_ranks(reads: list[tuple[datetime, int, str, str]]) -> dict[str, dict[int, int]]:
    """Rolling: one reader's reads of a title, (time, article, entitlement or "", the
    article's access level) in the meter's order: for each meter ("all": articles
    inheriting or overridden to metered; "ovr": only those overridden), the rank
    (`rolling_ranks`) of each unentitled read on it, by its index in `reads`."""
    limit, days = int(settings.METER_FREE_ARTICLES), int(settings.METER_ROLLING_DAYS)
    ranks = {}
    for meter, levels in METERS.items():
        on = [i for i, r in enumerate(reads) if r[2] == "" and r[3] in levels]
        found = rolling_ranks([reads[i][:2] for i in on], limit=limit, days=days)
        ranks[meter] = dict(zip(on, found, strict=True))
    return ranks


def granted_with(rank: int, limit: int) -> bool:
    """Rolling: is a read of this rank granted with `limit` free articles?"""
    return rank == 0 or (limit >= 1 and bool((rank - 1) >> (limit - 1) & 1))


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite may answer text
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _rolling_days(cursor: Any, upto: int) -> None:
    """Rolling: the `ReadRollupDay` rows of every dirty reader, from all their reads."""
    t = tables()
    entitled = ", ".join(f"'{r}'" for r in ENTITLED)
    cursor.execute(
        f"""
        SELECT e.publication_id, e.reader_key, e.at, e.article_id,
               CASE WHEN e.entitlement <> '' THEN e.entitlement
                    WHEN e.reason IN ({entitled}) THEN e.reason ELSE '' END,
               CASE WHEN e.user_id IS NOT NULL OR e.reader_key LIKE 'u:%%' THEN 1 ELSE 0 END,
               a.access_level
        FROM {t["events"]} e JOIN {t["articles"]} a ON a.id = e.article_id
        WHERE EXISTS (SELECT 1 FROM {t["dirty"]} x WHERE x.id <= %s
              AND x.publication_id = e.publication_id AND x.reader_key = e.reader_key)
        ORDER BY e.publication_id, {_bytewise("e.reader_key")}, e.at, e.id
        """,
        [upto],
    )
    rows: dict[tuple[Any, ...], list[int]] = {}

    def reader_done(reads: list[tuple[Any, ...]]) -> None:
        ranks = meter_ranks([(r[2], r[3], r[4], r[6]) for r in reads])
        for i, (publication_id, key, at, article_id, ent, authed, _) in enumerate(reads):
            day = at.astimezone(UTC).date()
            row = (
                publication_id,
                key,
                date(day.year, day.month, 1),
                day,
                article_id,
                ranks["all"].get(i),
                ranks["ovr"].get(i),
            )
            counts = rows.setdefault(row, [0] * len(COUNTS))
            column = ("anonymous", "signed_in")[authed] if ent == "" else ent
            counts[COUNTS.index(column)] += 1

    reads: list[tuple[Any, ...]] = []
    for record in cursor.fetchall():
        record = (*record[:2], _aware(record[2]), *record[3:])
        if reads and reads[-1][:2] != record[:2]:
            reader_done(reads)
            reads = []
        reads.append(record)
    if reads:
        reader_done(reads)
    keys = "publication_id, reader_key, month, day, article_id, rank_all, rank_ovr"
    columns = f"{keys}, {', '.join(COUNTS)}"
    values = [(*row, *counts) for row, counts in rows.items()]
    if not values:
        return
    if not is_pg():  # in process: one row at a time is cheap
        cursor.executemany(
            f"INSERT INTO {t['days']} ({columns}) VALUES ({', '.join(['%s'] * len(values[0]))})",
            values,
        )
        return
    # One statement, a column per array (a statement per row is a round trip each).
    types = ["bigint", "text", "date", "date", "bigint", "bigint", "bigint"]
    types += ["bigint"] * len(COUNTS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    cursor.execute(
        f"INSERT INTO {t['days']} ({columns}) SELECT * FROM unnest({arrays})",
        [list(column) for column in zip(*values, strict=True)],
    )


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
