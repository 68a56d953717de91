"""The rule simulator: what a rule would have done to a title's last 30 days of reads.

Each recorded read of the title (today, UTC, and the 29 days before) is decided again
under the rule following `decide()`'s table (tests/publishers/test_simulator.py checks it
against a replay that calls `decide()` on every event):

- the level is the article's own override, else the rule's level;
- `free` grants; an entitled reader (the entitlement recorded with the read) is granted
  as `subscriber`/`trial`/`complimentary`; `registered` grants signed-in readers and
  walls the rest with `registration_required`; `premium` walls with `subscribers_only`;
- `metered`: per reader and calendar month, the reader's distinct articles are ranked by
  their first unentitled read (time, then event id); the k-th is counted and granted when
  k <= min(site limit, the rule's cap), re-reads of a counted article are free, and every
  read of an article that was not counted is `meter_exhausted`. Under a rolling window
  (`METER_WINDOW=rolling`) each read is decided as metering.py would: a free re-read when
  its article was counted in the `METER_ROLLING_DAYS` before it, else counted while fewer
  than the limit are (the rollup keeps that verdict for every limit).

Nothing here reads the raw events but the converting users' last day before their
conversion: the read rollup (subscriptions.services.read_rollup) holds the reads per day,
article and meter rank, and one row per reader with the last day of each kind of read a
rule may wall. A simulation is three small queries over it.

Model limits (documented in docs/publishers.md): the meter counts only this title's reads,
from the start of each calendar month or over the site's rolling window (every answer
says which: `meter_window()`); the current article overrides apply to the whole period;
reads are never dated after today.

Conversions: readers (signed in at the time of the read) who started a trial or a paid
subscription within 24 h after a wall this rule shows them on this title, each start at
the time attribution kept for it (`Conversion.started_at`, the stats' time).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from subscriptions.models import (
    Conversion,
    ReadEvent,
    ReadRollupCount,
    ReadRollupDay,
    ReadRollupReader,
)
from subscriptions.services import read_rollup

WINDOW_DAYS = read_rollup.SIMULATION_DAYS  # what the rollup keeps (its prune)
CONVERSION_HOURS = 24
ENTITLED = ("subscriber", "trial", "complimentary")
WALLS = ("meter_exhausted", "registration_required", "subscribers_only")


@dataclass(frozen=True)
class SimRule:
    """A fully resolved rule: what the paywall would apply to the title's articles."""

    level: str
    free_articles_cap: int | None
    preview_paragraphs: int = 2


@dataclass
class Outcome:
    reads: int = 0
    granted: int = 0
    walls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WALLS, 0))
    granted_by_reason: dict[str, int] = field(default_factory=dict)
    readers: int = 0
    readers_walled: int = 0
    trials_started: int = 0
    subscriptions_started: int = 0

    @property
    def walls_total(self) -> int:
        return sum(self.walls.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "granted": self.granted,
            "granted_by_reason": self.granted_by_reason,
            "walls": self.walls,
            "walls_total": self.walls_total,
            "readers": self.readers,
            "readers_walled": self.readers_walled,
            "trials_started": self.trials_started,
            "subscriptions_started": self.subscriptions_started,
        }


def meter_window() -> dict[str, Any]:
    """The meter window the simulation modelled: the site's."""
    rolling = read_rollup.rolling()
    return {
        "window": "rolling" if rolling else "month",
        "rolling_days": int(settings.METER_ROLLING_DAYS) if rolling else None,
    }


def period(now: datetime) -> tuple[datetime, datetime]:
    """The 30 days replayed: today (UTC) and the 29 days before it, whole days."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=WINDOW_DAYS - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return since, datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


def _level() -> str:
    return "CASE WHEN a.access_level <> 'inherit' THEN a.access_level ELSE %(level)s END"


def _granted_sql(limit: int) -> str:
    """A read of meter rank `rank` granted with `limit` free articles (its rank within
    the month, or under a rolling window its verdicts: paywall.rollup)."""
    if not read_rollup.rolling():
        return "rank <= %(limit)s"
    if limit == 0:
        return "rank = 0"
    return f"(rank = 0 OR ((rank - 1) / {1 << (limit - 1)}) %% 2 = 1)"


def _counts_sql(limit: int) -> str:
    """Reads per reason under the rule, from the per-day, per-article rollup."""
    counts = ReadRollupCount._meta.db_table
    articles = apps.get_model("articles", "Article")._meta.db_table
    unentitled = "(c.signed_in + c.anonymous)"
    granted = _granted_sql(limit)
    return f"""
    SELECT
      SUM(CASE WHEN lvl = 'free' THEN {unentitled} + c.subscriber + c.trial + c.complimentary
          ELSE 0 END),
      SUM(CASE WHEN lvl <> 'free' THEN c.subscriber ELSE 0 END),
      SUM(CASE WHEN lvl <> 'free' THEN c.trial ELSE 0 END),
      SUM(CASE WHEN lvl <> 'free' THEN c.complimentary ELSE 0 END),
      SUM(CASE WHEN lvl = 'registered' THEN c.signed_in ELSE 0 END),
      SUM(CASE WHEN lvl = 'registered' THEN c.anonymous ELSE 0 END),
      SUM(CASE WHEN lvl = 'premium' THEN {unentitled} ELSE 0 END),
      SUM(CASE WHEN lvl = 'metered' AND {granted} THEN {unentitled} ELSE 0 END),
      SUM(CASE WHEN lvl = 'metered' AND NOT {granted} THEN {unentitled} ELSE 0 END)
    FROM (
      SELECT c.*, {_level()} AS lvl,
             CASE WHEN %(level)s = 'metered' THEN c.rank_all ELSE c.rank_ovr END AS rank
      FROM {counts} c JOIN {articles} a ON a.id = c.article_id
      WHERE c.publication_id = %(publication)s AND c.day >= %(first)s AND c.day < %(end)s
    ) c
    """


COUNT_REASONS = (
    "free",
    "subscriber",
    "trial",
    "complimentary",
    "registered",
    "registration_required",
    "subscribers_only",
    "metered",
    "meter_exhausted",
)


def _readers_sql(level: str) -> str:
    """Readers, and readers some read of whom the rule walls, from one row per reader."""
    readers = ReadRollupReader._meta.db_table
    walls = ["premium_day >= %(first)s", "registered_day >= %(first)s"]
    if level == "premium":
        walls.append("inherit_day >= %(first)s")
    elif level == "registered":
        walls.append("inherit_anonymous_day >= %(first)s")
    meter = "meter_all" if level == "metered" else "meter_ovr"
    # The last day of a read ranked above the limit, as text (see ReadRollupReader).
    walls.append(f"substr({meter}, %(offset)s, 10) >= %(first_text)s")
    return f"""
    SELECT COUNT(*), SUM(CASE WHEN {" OR ".join(walls)} THEN 1 ELSE 0 END)
    FROM {readers}
    WHERE publication_id = %(publication)s AND last_day >= %(first)s
    """


def _walls_sql(*, users: int | None) -> str:
    """The walls the rule shows converting readers in the period, with their time.

    On PostgreSQL only the reads in the 24 hours before one of the user's conversions
    (`%(users)s`, `%(ats)s`: parallel arrays) are decided; on SQLite, every read in the
    period of `users` users (`%(user0)s` ...)."""
    events = ReadEvent._meta.db_table
    days = ReadRollupDay._meta.db_table
    articles = apps.get_model("articles", "Article")._meta.db_table
    entitled = ", ".join(f"'{r}'" for r in ENTITLED)
    if users is None:
        day = "(e.at AT TIME ZONE 'UTC')::date"
        source = f"""(
          SELECT DISTINCT e.* FROM unnest(%(users)s::bigint[], %(ats)s::timestamptz[])
              AS c(user_id, at)
          CROSS JOIN LATERAL (
              SELECT * FROM {events} x WHERE x.user_id = c.user_id
                AND x.at >= c.at - interval '{CONVERSION_HOURS} hours' AND x.at < c.at
                AND x.publication_id = %(publication)s AND x.at >= %(since)s
                AND x.at < %(until)s
              OFFSET 0  -- keep it a loop over the conversions, each an index scan
          ) e
        )"""
    else:
        day = "date(e.at)"
        user_list = ", ".join(f"%(user{n})s" for n in range(users))
        source = f"""(
          SELECT * FROM {events} WHERE user_id IN ({user_list})
            AND publication_id = %(publication)s AND at >= %(since)s AND at < %(until)s
        )"""
    return f"""
    SELECT user_id, at FROM (
      SELECT e.user_id, e.at, {_level()} AS lvl,
             CASE WHEN %(level)s = 'metered' THEN d.rank_all ELSE d.rank_ovr END AS rank,
             CASE WHEN e.entitlement <> '' OR e.reason IN ({entitled}) THEN 1 ELSE 0 END
                 AS entitled,
             CASE WHEN e.user_id IS NOT NULL OR e.reader_key LIKE 'u:%%' THEN 1 ELSE 0 END
                 AS authed
      FROM {source} e
      JOIN {articles} a ON a.id = e.article_id
      LEFT JOIN {days} d ON d.publication_id = e.publication_id
           AND d.reader_key = e.reader_key AND d.day = {day} AND d.article_id = e.article_id
    ) r
    WHERE entitled = 0 AND (
      lvl = 'premium' OR (lvl = 'registered' AND authed = 0)
      OR (lvl = 'metered' AND rank > %(limit)s))
    """


def conversions(
    *, since: datetime, until: datetime, user_ids: list[int] | None = None
) -> list[tuple[int, datetime, str]]:
    """(user id, when, "trial" | "subscription") started in [since, until): the starts
    attribution kept (`subscriptions.Conversion`), dated as the stats date them (a start
    learnt from Stripe at Stripe's time, not at the processing of a delayed webhook)."""
    started = Conversion.objects.filter(
        subscription__user__isnull=False, started_at__gte=since, started_at__lt=until
    )
    if user_ids is not None:
        started = started.filter(subscription__user_id__in=user_ids)
    return [
        (int(user), at, str(kind))
        for user, at, kind in started.values_list("subscription__user_id", "started_at", "kind")
    ]


def simulate(*, publication_id: int, rule: SimRule, now: datetime | None = None) -> Outcome:
    """Decide every read of the title in the last 30 days again under `rule`, from the
    read rollup (brought up to date first; a stale large title raises
    `read_rollup.RollupPreparing` with its rebuild queued to the worker)."""
    now = now or timezone.now()
    since, until = period(now)
    limit = settings.METER_FREE_ARTICLES
    if rule.free_articles_cap is not None:
        limit = min(limit, rule.free_articles_cap)
    read_rollup.ensure_current(publication_id=publication_id)
    params: dict[str, Any] = {
        "level": rule.level,
        "publication": publication_id,
        "first": since.date(),
        "first_text": since.date().isoformat(),
        "end": until.date(),
        "since": since,
        "until": until,
        "limit": limit,
        "offset": 10 * limit + 1,
    }
    outcome = Outcome()
    with connection.cursor() as cursor:
        cursor.execute(_counts_sql(limit), params)
        row = cursor.fetchone()
        for reason, number in zip(COUNT_REASONS, row, strict=True):
            count = int(number or 0)
            outcome.reads += count
            if reason in WALLS:
                outcome.walls[reason] += count
            elif count:
                outcome.granted += count
                outcome.granted_by_reason[reason] = count
        cursor.execute(_readers_sql(rule.level), params)
        readers, walled = cursor.fetchone()
        outcome.readers, outcome.readers_walled = int(readers or 0), int(walled or 0)
        converts = conversions(since=since, until=until)
        users = sorted({user for user, _, _ in converts})
        walls_by_user: dict[int, list[datetime]] = {}
        if read_rollup.rolling():
            walls = _rolling_walls(
                publication_id=publication_id, rule=rule, limit=limit, users=users, params=params
            )
        elif _is_pg() and users:
            cursor.execute(
                _walls_sql(users=None),
                {
                    **params,
                    "users": [user for user, _, _ in converts],
                    "ats": [at for _, at, _ in converts],
                },
            )
            walls = cursor.fetchall()
        else:
            walls = []
            for chunk in range(0, len(users), 500):
                some = users[chunk : chunk + 500]
                cursor.execute(
                    _walls_sql(users=len(some)),
                    {**params, **{f"user{n}": user for n, user in enumerate(some)}},
                )
                walls += cursor.fetchall()
        for user, at in walls:
            walls_by_user.setdefault(int(user), []).append(_aware(at))
    window = timedelta(hours=CONVERSION_HOURS)
    for kind in ("trial", "subscription"):
        converted = {
            user
            for user, at, k in converts
            if k == kind and any(w < at <= w + window for w in walls_by_user.get(user, ()))
        }
        if kind == "trial":
            outcome.trials_started = len(converted)
        else:
            outcome.subscriptions_started = len(converted)
    return outcome


def _rolling_walls(
    *, publication_id: int, rule: SimRule, limit: int, users: list[int], params: dict[str, Any]
) -> list[tuple[int, datetime]]:
    """Rolling: the walls the rule shows converting users in the period, their reader
    keys' whole history of the title decided again as the rollup decides it."""
    fields = ("reader_key", "at", "user_id", "article_id", "entitlement", "reason")
    meter = "all" if rule.level == "metered" else "ovr"
    events = ReadEvent.objects.filter(publication_id=publication_id, at__lt=params["until"])
    walls: list[tuple[int, datetime]] = []
    for chunk in range(0, len(users), 500):
        some = users[chunk : chunk + 500]
        keys = set(
            events.filter(user_id__in=some, at__gte=params["since"]).values_list(
                "reader_key", flat=True
            )
        )
        history = list(
            events.filter(reader_key__in=keys)
            .order_by("reader_key", "at", "id")
            .values_list(*fields, "article__access_level")
        )
        for _, reads in itertools.groupby(history, key=lambda r: r[0]):
            walls += _walls_of(
                list(reads),
                rule=rule,
                limit=limit,
                meter=meter,
                users=set(some),
                since=params["since"],
            )
    return walls


def _walls_of(
    reads: list[tuple[Any, ...]],
    *,
    rule: SimRule,
    limit: int,
    meter: str,
    users: set[int],
    since: datetime,
) -> list[tuple[int, datetime]]:
    entitlement = [e or (reason if reason in ENTITLED else "") for *_, e, reason, _ in reads]
    ranks = read_rollup.meter_ranks(
        [(r[1], r[3], ent, r[6]) for r, ent in zip(reads, entitlement, strict=True)]
    )[meter]
    walls = []
    for i, (key, at, user_id, _, _, _, access) in enumerate(reads):
        if user_id not in users or at < since or entitlement[i]:
            continue
        level = rule.level if access == "inherit" else access
        authed = user_id is not None or key.startswith("u:")
        if (
            level == "premium"
            or (level == "registered" and not authed)
            or (level == "metered" and not read_rollup.granted_with(ranks.get(i, 0), limit))
        ):
            walls.append((int(user_id), at))
    return walls


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite answers text for an aggregate over a datetime
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value
