"""The simulator's SQL against an independent replay that calls the real `decide()` on
every event in time order, over random read histories and every kind of rule."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from publishers import simulator
from subscriptions.models import AuditEntry, ReadEvent, Subscription
from subscriptions.paywall import Meter, Reader, Rule, decide
from subscriptions.paywall.levels import WALL_REASONS
from tests.factories import ArticleFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # the 30 days straddle February and March
ENTITLED = ("subscriber", "trial", "complimentary")


def replay(events, rule: simulator.SimRule, now: datetime) -> dict:
    """Decide each event with decide(), keeping each reader's meter per calendar month
    from the start of the month in which the 30 days begin; count those in the 30 days."""
    since, until = simulator.period(now)
    month_start = since.replace(day=1)
    counted: dict[tuple, set] = defaultdict(set)
    reasons: Counter = Counter()
    readers, walled = set(), set()
    walls_by_user: dict[int, list[datetime]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.at, e.id)):
        if not month_start <= e.at < until:
            continue
        override = e.article.access_level
        level = rule.level if override == "inherit" else override
        entitlement = e.entitlement or (e.reason if e.reason in ENTITLED else None)
        reader = Reader(
            authenticated=e.user_id is not None or e.reader_key.startswith("u:"),
            entitlement=entitlement,
        )
        window = (e.reader_key, e.at.year, e.at.month)
        meter = Meter(
            limit=settings.METER_FREE_ARTICLES,
            used=len(counted[window]),
            used_in_title=len(counted[window]),
            title_cap=rule.free_articles_cap,
            already_counted=e.article_id in counted[window],
        )
        decision = decide(
            reader=reader,
            rule=Rule(level=level, free_articles_cap=rule.free_articles_cap),
            meter=meter,
        )
        if decision.count_read:
            counted[window].add(e.article_id)
        if e.at < since:
            continue  # it counted on the meter, but it is not replayed
        reasons[decision.reason] += 1
        readers.add(e.reader_key)
        if not decision.granted:
            walled.add(e.reader_key)
            if e.user_id:
                walls_by_user[e.user_id].append(e.at)
    conversions = simulator.conversions(since=since, until=until)
    converted = {"trial": set(), "subscription": set()}
    for user, at, kind in conversions:
        if any(w < at <= w + timedelta(hours=24) for w in walls_by_user.get(user, ())):
            converted[kind].add(user)
    return {
        "reads": sum(reasons.values()),
        "granted": sum(n for r, n in reasons.items() if r not in WALL_REASONS),
        "granted_by_reason": {r: n for r, n in reasons.items() if r not in WALL_REASONS},
        "walls": {r: reasons.get(r, 0) for r in simulator.WALLS},
        "walls_total": sum(reasons.get(r, 0) for r in simulator.WALLS),
        "readers": len(readers),
        "readers_walled": len(walled),
        "trials_started": len(converted["trial"]),
        "subscriptions_started": len(converted["subscription"]),
    }


def history(seed: int, now: datetime = NOW):
    """A title with overridden and inheriting articles, anonymous and signed-in readers
    (some entitled on some reads), re-reads, reads before the 30 days, another title's
    reads, and readers who convert after a wall."""
    rng = random.Random(seed)
    end_of_today = simulator.period(now)[1] - timedelta(microseconds=1)
    title = PublicationFactory()
    other = ArticleFactory()
    levels = ["inherit"] * 6 + ["free", "metered", "registered", "premium"]
    articles = [
        ArticleFactory(publication=title, access_level=rng.choice(levels)) for _ in range(12)
    ]
    users = UserFactory.create_batch(8)
    readers = [(f"a:anon{i}", None) for i in range(10)] + [(f"u:{u.pk}", u.pk) for u in users]
    rows = []
    for _ in range(600):
        key, user_id = rng.choice(readers)
        # Some too old, none after today (reads are recorded as they happen).
        at = min(now - timedelta(days=rng.uniform(-1, 33)), end_of_today)
        at = at.replace(microsecond=0) if rng.random() < 0.3 else at  # ties on time
        entitlement = rng.choice(["", "", "", "trial", "subscriber"]) if user_id else ""
        reason = entitlement or rng.choice(["metered", "free", "meter_exhausted", "registered"])
        article = rng.choice(articles)
        rows.append(
            ReadEvent(
                at=at,
                reader_key=key,
                user_id=user_id,
                article=article,
                publication_id=title.pk,
                granted=True,
                reason=reason,
                level="metered",
                entitlement=entitlement if rng.random() < 0.7 else "",
            )
        )
        if rng.random() < 0.05:
            rows.append(
                ReadEvent(
                    at=at,
                    reader_key=key,
                    user_id=user_id,
                    article=other,
                    publication_id=other.publication_id,
                    granted=False,
                    reason="subscribers_only",
                    level="premium",
                )
            )
    # Events are appended as they happen: ids follow time.
    ReadEvent.objects.bulk_create(sorted(rows, key=lambda e: e.at))
    for user in users[:5]:
        started = now - timedelta(days=rng.uniform(0, 29))
        Subscription.objects.create(
            user=user,
            status="trialing",
            trial_started_at=started,
            trial_ends_at=started + timedelta(days=14),
        )
    sub = Subscription.objects.get(user=users[0])
    AuditEntry.objects.create(
        subscription=sub,
        at=now - timedelta(days=2),
        action="stripe.sync",
        from_status="trialing",
        to_status="active",
        source="stripe",
    )
    return title, list(ReadEvent.objects.select_related("article").filter(publication_id=title.pk))


RULES = [
    simulator.SimRule(level, cap)
    for level in ("free", "metered", "registered", "premium")
    for cap in (None, 0, 1, 3)
]


@pytest.mark.parametrize(
    "seed, now",
    [
        (1, NOW),
        (2, NOW),
        # 30 days across three calendar months: 30 Jan -> 1 Mar.
        (3, datetime(2026, 3, 1, 0, 30, tzinfo=UTC)),
    ],
)
def test_sql_equals_a_replay_through_decide(seed, now, settings):
    settings.METER_FREE_ARTICLES = 4
    title, events = history(seed, now)
    for rule in RULES:
        sql = simulator.simulate(publication_id=title.pk, rule=rule, now=now).as_dict()
        assert sql == replay(events, rule, now), rule


def test_conversions_follow_a_wall_within_24_hours():
    title = PublicationFactory()
    article = ArticleFactory(publication=title)
    walled, late, elsewhere = UserFactory.create_batch(3)
    for user, hours_before in ((walled, 3), (late, 30), (elsewhere, 3)):
        ReadEvent.objects.create(
            at=NOW - timedelta(days=1, hours=hours_before),
            reader_key=f"u:{user.pk}",
            user=user,
            article=article if user != elsewhere else ArticleFactory(),
            publication_id=title.pk if user != elsewhere else ArticleFactory().publication_id,
            granted=True,
            reason="registered",
            level="registered",
        )
        Subscription.objects.create(
            user=user,
            status="trialing",
            trial_started_at=NOW - timedelta(days=1),
            trial_ends_at=NOW + timedelta(days=13),
        )
    premium = simulator.simulate(
        publication_id=title.pk, rule=simulator.SimRule("premium", None), now=NOW
    )
    assert premium.trials_started == 1
    assert premium.readers_walled == 2
    free = simulator.simulate(
        publication_id=title.pk, rule=simulator.SimRule("free", None), now=NOW
    )
    assert free.trials_started == 0 and free.walls_total == 0
