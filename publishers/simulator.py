"""The rule simulator: what a rule would have done to a title's last 30 days of reads.

Each recorded read of the title is decided again under the rule, with `decide()`'s table
written as one SQL statement (tests/publishers/test_simulator.py checks it against a
replay that calls `decide()` on every event):

- the level is the article's own override, else the rule's level;
- `free` grants; an entitled reader (the entitlement recorded with the read) is granted
  as `subscriber`/`trial`/`complimentary`; `registered` grants signed-in readers and
  walls the rest with `registration_required`; `premium` walls with `subscribers_only`;
- `metered`: per reader and calendar-month window, the reader's distinct articles are
  ranked by their first read (time, then event id: ids follow time, as events are
  appended when they happen); the k-th is counted and granted when
  k <= min(site limit, the rule's cap), re-reads of a counted article are free, and every
  read of an article that was not counted is `meter_exhausted`.

Model limits (documented in docs/publishers.md): the meter starts empty at the start of
the 30 days and counts only this title's reads (reads of other titles are not replayed),
and the current article overrides apply to the whole period.

Conversions: readers (signed in at the time of the read) who started a trial or a paid
subscription within 24 h after a wall this rule shows them on this title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from subscriptions.models import AuditEntry, ReadEvent, Subscription

WINDOW_DAYS = 30
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


def _binary(column: str) -> str:
    """Group and sort reader keys bytewise: PostgreSQL's locale collation is several times
    slower and only equality matters here."""
    return f'{column} COLLATE "C"' if connection.vendor == "postgresql" else column


def month_starts(since: datetime, until: datetime) -> list[datetime]:
    """The calendar-month boundaries inside (since, until]: at most two for 30 days."""
    starts: list[datetime] = []
    cursor = since.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while True:
        cursor = (cursor + timedelta(days=32)).replace(day=1)
        if cursor > until:
            return starts
        starts.append(cursor)


def _sql(*, boundaries: int) -> str:
    events = ReadEvent._meta.db_table
    articles = apps.get_model("articles", "Article")._meta.db_table
    subscriptions = Subscription._meta.db_table
    audit = AuditEntry._meta.db_table
    entitled = ", ".join(f"'{r}'" for r in ENTITLED)
    walls = ", ".join(f"'{r}'" for r in WALLS)
    # The meter's window: how many month boundaries precede the read.
    window = " + ".join(
        [f"CASE WHEN e.at >= %(month{n})s THEN 1 ELSE 0 END" for n in range(boundaries)] or ["0"]
    )
    reader = _binary("reader_key")
    return f"""
    WITH converted AS (
        SELECT user_id AS id FROM {subscriptions}
        WHERE user_id IS NOT NULL AND trial_started_at >= %(since)s
          AND trial_started_at < %(until)s
        UNION
        SELECT s.user_id FROM {audit} a JOIN {subscriptions} s ON s.id = a.subscription_id
        WHERE s.user_id IS NOT NULL AND a.to_status = 'active'
          AND a.from_status NOT IN ('active', 'past_due')
          AND a.at >= %(since)s AND a.at < %(until)s
    ),
    ev AS (
        SELECT *, (lvl = 'metered' AND ent IS NULL) AS on_meter FROM (
        SELECT e.id, e.at, e.reader_key, e.user_id, e.article_id, {window} AS win,
               CASE WHEN e.entitlement <> '' THEN e.entitlement
                    WHEN e.reason IN ({entitled}) THEN e.reason END AS ent,
               CASE WHEN a.access_level <> 'inherit' THEN a.access_level
                    ELSE %(level)s END AS lvl,
               (e.user_id IS NOT NULL OR e.reader_key LIKE 'u:%%') AS authed
        FROM {events} e JOIN {articles} a ON a.id = e.article_id
        WHERE e.publication_id = %(publication)s AND e.at >= %(since)s AND e.at < %(until)s
        ) read
    ),
    metered AS (
        -- One row per reader, window and article on the meter: its first read and reads.
        SELECT {reader} AS reader_key, win, article_id,
               MIN(at) AS first_at, MIN(id) AS first_id, COUNT(*) AS n
        FROM ev WHERE on_meter
        GROUP BY {reader}, win, article_id
    ),
    counted AS (
        -- The k-th article a reader opens in a window is counted while k <= the limit.
        SELECT reader_key, win, article_id, n,
               ROW_NUMBER() OVER (PARTITION BY reader_key, win ORDER BY first_at, first_id)
                   <= %(limit)s AS ok
        FROM metered
    ),
    other AS (
        SELECT {reader} AS reader_key, user_id, at,
          CASE
            WHEN lvl = 'free' THEN 'free'
            WHEN ent IS NOT NULL THEN ent
            WHEN lvl = 'registered' THEN
                CASE WHEN authed THEN 'registered' ELSE 'registration_required' END
            ELSE 'subscribers_only'
          END AS reason
        FROM ev WHERE NOT on_meter
    ),
    by_reader AS (
        SELECT reader_key, reason, SUM(n) AS n FROM (
            SELECT reader_key, CASE WHEN ok THEN 'metered' ELSE 'meter_exhausted' END
                       AS reason, n
            FROM counted
            UNION ALL
            SELECT reader_key, reason, 1 FROM other
        ) decided GROUP BY reader_key, reason
    )
    SELECT 'wall', NULL, user_id, at FROM other
        WHERE reason IN ({walls}) AND user_id IN (SELECT id FROM converted)
    UNION ALL
    SELECT 'wall', NULL, ev.user_id, ev.at FROM ev JOIN counted c
        ON {_binary("ev.reader_key")} = c.reader_key AND c.win = ev.win
           AND c.article_id = ev.article_id
        WHERE NOT c.ok AND ev.on_meter
          AND ev.user_id IN (SELECT id FROM converted)
    UNION ALL
    SELECT 'reason', reason, SUM(n), NULL FROM by_reader GROUP BY reason
    UNION ALL
    SELECT 'readers', NULL, COUNT(*), NULL FROM (
        SELECT reader_key FROM by_reader GROUP BY reader_key) r
    UNION ALL
    SELECT 'walled', NULL, COUNT(*), NULL FROM (
        SELECT reader_key FROM by_reader WHERE reason IN ({walls}) GROUP BY reader_key) w
    """


def conversions(
    *, since: datetime, until: datetime, user_ids: list[int] | None = None
) -> list[tuple[int, datetime, str]]:
    """(user id, when, "trial" | "subscription") started in [since, until)."""
    trials = Subscription.objects.filter(
        user__isnull=False, trial_started_at__gte=since, trial_started_at__lt=until
    )
    paid = AuditEntry.objects.filter(
        subscription__user__isnull=False, to_status="active", at__gte=since, at__lt=until
    )
    if user_ids is not None:
        trials = trials.filter(user_id__in=user_ids)
        paid = paid.filter(subscription__user_id__in=user_ids)
    rows: list[tuple[int, datetime, str]] = [
        (int(u), started, "trial")
        for u, started in trials.values_list("user_id", "trial_started_at")
        if started is not None
    ]
    rows += [
        (int(u), started, "subscription")
        for u, started in paid.exclude(from_status__in=["active", "past_due"]).values_list(
            "subscription__user_id", "at"
        )
    ]
    return rows


def simulate(*, publication_id: int, rule: SimRule, now: datetime | None = None) -> Outcome:
    """Decide every read of the title in the last 30 days again under `rule`."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    limit = settings.METER_FREE_ARTICLES
    if rule.free_articles_cap is not None:
        limit = min(limit, rule.free_articles_cap)
    boundaries = month_starts(since, now)
    sql = _sql(boundaries=len(boundaries))
    params: dict[str, Any] = {
        "level": rule.level,
        "publication": publication_id,
        "since": since,
        "until": now,
        "limit": limit,
        **{f"month{n}": start for n, start in enumerate(boundaries)},
    }
    outcome = Outcome()
    walls_by_user: dict[int, list[datetime]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Sort and hash the grouped reads in memory rather than in temp files.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # Row counts of the intermediate results are unknown to the planner; a nested
            # loop over two of them is quadratic, hashing them is linear.
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql, params)
        for kind, reason, number, at in cursor.fetchall():
            count = int(number)
            if kind == "reason":
                outcome.reads += count
                if reason in WALLS:
                    outcome.walls[reason] = count
                else:
                    outcome.granted += count
                    outcome.granted_by_reason[reason] = count
            elif kind == "readers":
                outcome.readers = count
            elif kind == "walled":
                outcome.readers_walled = count
            else:
                walls_by_user.setdefault(int(count), []).append(_aware(at))
    window = timedelta(hours=CONVERSION_HOURS)
    converts = conversions(since=since, until=now, user_ids=sorted(walls_by_user))
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


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite answers text for an aggregate over a datetime
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value  # type: ignore[no-any-return]
