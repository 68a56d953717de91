"""The rule simulator: what a rule would have done to a title's last 30 days of reads.

Each recorded read of the title is decided again under the rule, with `decide()`'s table
written as one SQL statement (tests/publishers/test_simulator.py checks it against a
replay that calls `decide()` on every event):

- the level is the article's own override, else the rule's level;
- `free` grants; an entitled reader (the entitlement recorded with the read) is granted
  as `subscriber`/`trial`/`complimentary`; `registered` grants signed-in readers and
  walls the rest with `registration_required`; `premium` walls with `subscribers_only`;
- `metered`: per reader and calendar-month window, the reader's distinct articles are
  ranked by their first read (time, then event id); the k-th is counted and granted when
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
from django.db import connection
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


def _month(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_trunc('month', {column})"
    return f"strftime('%%Y-%%m', {column})"


def _sql() -> str:
    events = ReadEvent._meta.db_table
    articles = apps.get_model("articles", "Article")._meta.db_table
    subscriptions = Subscription._meta.db_table
    audit = AuditEntry._meta.db_table
    entitled = ", ".join(f"'{r}'" for r in ENTITLED)
    walls = ", ".join(f"'{r}'" for r in WALLS)
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
        SELECT e.id, e.at, e.reader_key, e.user_id, e.article_id,
               (e.user_id IS NOT NULL OR e.reader_key LIKE 'u:%%') AS authed,
               CASE WHEN e.entitlement <> '' THEN e.entitlement
                    WHEN e.reason IN ({entitled}) THEN e.reason END AS ent,
               CASE WHEN a.access_level <> 'inherit' THEN a.access_level
                    ELSE %(level)s END AS lvl,
               {_month("e.at")} AS win
        FROM {events} e JOIN {articles} a ON a.id = e.article_id
        WHERE e.publication_id = %(publication)s AND e.at >= %(since)s AND e.at < %(until)s
    ),
    metered AS (
        SELECT id, reader_key, win, article_id, at,
               ROW_NUMBER() OVER (PARTITION BY reader_key, win, article_id
                                  ORDER BY at, id) AS nth
        FROM ev WHERE lvl = 'metered' AND ent IS NULL
    ),
    ranked AS (
        SELECT reader_key, win, article_id,
               ROW_NUMBER() OVER (PARTITION BY reader_key, win ORDER BY at, id) AS k
        FROM metered WHERE nth = 1
    ),
    decided AS (
        SELECT ev.reader_key, ev.user_id, ev.at,
          CASE
            WHEN ev.lvl = 'free' THEN 'free'
            WHEN ev.ent IS NOT NULL THEN ev.ent
            WHEN ev.lvl = 'registered' THEN
                CASE WHEN ev.authed THEN 'registered' ELSE 'registration_required' END
            WHEN ev.lvl = 'metered' THEN
                CASE WHEN r.k <= %(limit)s THEN 'metered' ELSE 'meter_exhausted' END
            ELSE 'subscribers_only'
          END AS reason
        FROM ev LEFT JOIN ranked r
          ON ev.lvl = 'metered' AND ev.ent IS NULL AND r.reader_key = ev.reader_key
             AND r.win = ev.win AND r.article_id = ev.article_id
    )
    SELECT 'wall', NULL, user_id, at FROM decided
        WHERE reason IN ({walls}) AND user_id IN (SELECT id FROM converted)
    UNION ALL
    SELECT 'reason', reason, COUNT(*), NULL FROM decided GROUP BY reason
    UNION ALL
    SELECT 'readers', NULL, COUNT(DISTINCT reader_key), NULL FROM decided
    UNION ALL
    SELECT 'walled', NULL, COUNT(DISTINCT reader_key), NULL FROM decided
        WHERE reason IN ({walls})
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
    trials = trials.values_list("user_id", "trial_started_at")
    paid = paid.exclude(from_status__in=["active", "past_due"]).values_list(
        "subscription__user_id", "at"
    )
    rows = [(int(u), at, "trial") for u, at in trials if at is not None]
    rows += [(int(u), at, "subscription") for u, at in paid]
    return rows


def simulate(*, publication_id: int, rule: SimRule, now: datetime | None = None) -> Outcome:
    """Decide every read of the title in the last 30 days again under `rule`."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    limit = settings.METER_FREE_ARTICLES
    if rule.free_articles_cap is not None:
        limit = min(limit, rule.free_articles_cap)
    sql = _sql()
    params: dict[str, Any] = {
        "level": rule.level,
        "publication": publication_id,
        "since": since,
        "until": now,
        "limit": limit,
    }
    outcome = Outcome()
    walls_by_user: dict[int, list[datetime]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, reason, count, at in cursor.fetchall():
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
