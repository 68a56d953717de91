"""The simulator's SQL against an independent replay that calls the real `decide()` on
every event in time order, over random read histories and every kind of rule."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from articles.models import Article
from publishers import simulator
from subscriptions.models import (
    Conversion,
    ReadEvent,
    ReadRollupCount,
    ReadRollupDay,
    ReadRollupDirty,
    ReadRollupReader,
    ReadRollupState,
    Subscription,
)
from subscriptions.paywall import Meter, Reader, Rule, decide
from subscriptions.paywall import events as read_events
from subscriptions.paywall.levels import WALL_REASONS
from subscriptions.services import jobs, read_rollup
from tests.factories import ArticleFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # the 30 days straddle February and March
ENTITLED = ("subscriber", "trial", "complimentary")


def replay(events, rule: simulator.SimRule, now: datetime) -> dict:
    """Decide each event with decide(), keeping each reader's meter as metering.py does
    for the site's window: per calendar month from the start of the month in which the
    30 days begin, or (METER_WINDOW=rolling) the articles counted in the last
    METER_ROLLING_DAYS before each read, over the reader's whole history; count those in
    the 30 days."""
    since, until = simulator.period(now)
    rolling = settings.METER_WINDOW == "rolling"
    span = timedelta(days=settings.METER_ROLLING_DAYS)
    start = datetime.min.replace(tzinfo=UTC) if rolling else since.replace(day=1)
    counted: dict[tuple, set] = defaultdict(set)
    entries: dict[str, list[tuple[datetime, int]]] = defaultdict(list)  # rolling
    reasons: Counter = Counter()
    readers, walled = set(), set()
    walls_by_user: dict[int, list[datetime]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.at, e.id)):
        if not start <= e.at < until:
            continue
        override = e.article.access_level
        level = rule.level if override == "inherit" else override
        entitlement = e.entitlement or (e.reason if e.reason in ENTITLED else None)
        reader = Reader(
            authenticated=e.user_id is not None or e.reader_key.startswith("u:"),
            entitlement=entitlement,
        )
        if rolling:
            in_window = {a for at, a in entries[e.reader_key] if at > e.at - span}
        else:
            in_window = counted[(e.reader_key, e.at.year, e.at.month)]
        meter = Meter(
            limit=settings.METER_FREE_ARTICLES,
            used=len(in_window),
            used_in_title=len(in_window),
            title_cap=rule.free_articles_cap,
            already_counted=e.article_id in in_window,
        )
        decision = decide(
            reader=reader,
            rule=Rule(level=level, free_articles_cap=rule.free_articles_cap),
            meter=meter,
        )
        if decision.count_read:
            if rolling:
                entries[e.reader_key].append((e.at, e.article_id))
            else:
                in_window.add(e.article_id)
        if e.at < since:
            continue  # it counted on the meter, but it is not replayed
        reasons[decision.reason] += 1
        readers.add(e.reader_key)
        if not decision.granted:
            walled.add(e.reader_key)
            if e.user_id:
                walls_by_user[e.user_id].append(e.at)
    conversions = simulator.conversions(since=since, until=until)
    converted: dict[str, set[int]] = {"trial": set(), "subscription": set()}
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


def trial_started(user, at: datetime) -> None:
    """A trial started at `at`, kept as attribution keeps every start (a Conversion)."""
    sub = Subscription.objects.create(
        user=user, status="trialing", trial_started_at=at, trial_ends_at=at + timedelta(days=14)
    )
    Conversion.objects.create(subscription=sub, kind="trial", started_at=at)


def history(seed: int, now: datetime = NOW, write=None):
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
    if write is None:
        # Loaded in bulk (the simulator rebuilds the title's rollup): ids follow time.
        ReadEvent.objects.bulk_create(sorted(rows, key=lambda e: e.at))
    else:
        write(rows, rng)
    for user in users[:5]:
        started = now - timedelta(days=rng.uniform(0, 29))
        trial_started(user, started)
    # The first converts to a paid subscription.
    Conversion.objects.create(
        subscription=Subscription.objects.get(user=users[0]),
        kind="subscription",
        started_at=now - timedelta(days=2),
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
        trial_started(user, NOW - timedelta(days=1))
    premium = simulator.simulate(
        publication_id=title.pk, rule=simulator.SimRule("premium", None), now=NOW
    )
    assert premium.trials_started == 1
    assert premium.readers_walled == 2
    free = simulator.simulate(
        publication_id=title.pk, rule=simulator.SimRule("free", None), now=NOW
    )
    assert free.trials_started == 0 and free.walls_total == 0


FIELDS = ("at", "reader_key", "user_id", "article_id", "publication_id", "granted", "reason")


def as_event(row: ReadEvent) -> dict:
    return {
        **{f: getattr(row, f) for f in FIELDS},
        "level": row.level,
        "entitlement": row.entitlement,
    }


def through_the_pipeline(batches: int, *, shuffle: bool):
    """Write the reads as the read-event pipeline does, in batches; `shuffle`: in no
    order at all, so later batches hold reads older than those already folded (late
    events) and ids do not follow time."""

    def write(rows, rng):
        rows = sorted(rows, key=lambda e: e.at)
        if shuffle:
            rng.shuffle(rows)
        size = len(rows) // batches + 1
        for start in range(0, len(rows), size):
            for row in rows[start : start + size]:
                read_events.record(as_event(row))
            read_events.flush()

    return write


def rollup_snapshot(publication_id: int) -> dict:
    def rows(model, *fields):
        found = model.objects.filter(publication_id=publication_id).values_list(*fields)
        # Rolling: several rows of one reader, day and article, some without a rank.
        return sorted(found, key=lambda row: [(v is None, v or 0) for v in row])

    counts = ("signed_in", "anonymous", "subscriber", "trial", "complimentary")
    return {
        "days": rows(
            ReadRollupDay, "reader_key", "day", "article_id", "rank_all", "rank_ovr", *counts
        ),
        "counts": [
            r
            for r in rows(ReadRollupCount, "day", "article_id", "rank_all", "rank_ovr", *counts)
            if any(r[4:])
        ],
        "readers": rows(
            ReadRollupReader,
            "reader_key",
            "last_day",
            "premium_day",
            "registered_day",
            "inherit_day",
            "inherit_anonymous_day",
            "meter_all",
            "meter_ovr",
        ),
    }


def assert_agrees(title, now):
    events = list(ReadEvent.objects.select_related("article").filter(publication_id=title.pk))
    for rule in RULES:
        sql = simulator.simulate(publication_id=title.pk, rule=rule, now=now).as_dict()
        assert sql == replay(events, rule, now), rule


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_folded_as_written_equal_a_rebuild_and_the_replay(shuffle, settings):
    """The rollup kept batch by batch (in time order, or with late and out-of-order
    events that re-rank a month) is the rollup a rebuild makes, and agrees with decide()."""
    settings.METER_FREE_ARTICLES = 4
    settings.READ_EVENTS_SINK = "memory"
    now = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # three calendar months
    title = PublicationFactory()
    read_rollup.rebuild(publication_id=title.pk)  # built before any read: kept from now on
    title, _ = history(4, now, write=through_the_pipeline(7, shuffle=shuffle))
    assert not ReadRollupDirty.objects.exists()  # folded in the batches that wrote them
    kept = rollup_snapshot(title.pk)
    assert kept["days"]
    assert_agrees(title, now)
    assert ReadRollupState.objects.get(publication_id=title.pk).signature == (
        read_rollup.signature(title.pk)
    )
    read_rollup.rebuild(publication_id=title.pk)
    assert rollup_snapshot(title.pk) == kept


def metered_read(article, *, reader_key: str, at: datetime) -> dict:
    """A granted metered read event of an anonymous reader, as the paywall records it."""
    return {
        "at": at,
        "reader_key": reader_key,
        "user_id": None,
        "article_id": article.pk,
        "publication_id": article.publication_id,
        "granted": True,
        "reason": "metered",
        "level": "metered",
        "entitlement": "",
    }


def test_a_late_read_re_ranks_the_month(settings):
    """A read arriving after later ones were folded moves its article up the meter."""
    settings.METER_FREE_ARTICLES = 2
    settings.READ_EVENTS_SINK = "memory"
    title = PublicationFactory()
    first, second, third = ArticleFactory.create_batch(3, publication=title)
    read_rollup.rebuild(publication_id=title.pk)

    def read(article, hours):
        read_events.record(
            metered_read(article, reader_key="a:late", at=NOW - timedelta(hours=hours))
        )
        read_events.flush()

    metered = simulator.SimRule("metered", None)
    read(second, 3)
    read(third, 2)
    before = simulator.simulate(publication_id=title.pk, rule=metered, now=NOW)
    assert (before.granted, before.walls_total) == (2, 0)
    read(first, 4)  # late: it happened before the two others
    after = simulator.simulate(publication_id=title.pk, rule=metered, now=NOW)
    assert (after.granted, after.walls["meter_exhausted"], after.readers_walled) == (2, 1, 1)
    ranks = dict(
        ReadRollupDay.objects.filter(publication_id=title.pk).values_list("article_id", "rank_all")
    )
    assert ranks == {first.pk: 1, second.pk: 2, third.pk: 3}
    assert_agrees(title, NOW)


def test_a_changed_override_rebuilds_the_title(settings):
    settings.METER_FREE_ARTICLES = 4
    title, _ = history(5)
    assert_agrees(title, NOW)
    built = ReadRollupState.objects.get(publication_id=title.pk).signature
    articles = list(Article.objects.filter(publication=title).order_by("pk"))
    Article.objects.filter(pk=articles[0].pk).update(access_level="metered")
    Article.objects.filter(pk=articles[1].pk).update(access_level="premium")
    Article.objects.filter(pk__in=[a.pk for a in articles[2:5]]).update(access_level="inherit")
    assert read_rollup.signature(title.pk) != built
    assert_agrees(title, NOW)
    assert ReadRollupState.objects.get(publication_id=title.pk).signature != built


def test_a_changed_meter_limit_rebuilds_the_title(settings):
    settings.METER_FREE_ARTICLES = 4
    title, _ = history(6)
    assert_agrees(title, NOW)
    settings.METER_FREE_ARTICLES = 2
    assert_agrees(title, NOW)


def test_the_direct_sink_leaves_batches_for_the_job_or_the_simulator(settings):
    """One event per view: the view only records what to fold."""
    settings.METER_FREE_ARTICLES = 4
    settings.READ_EVENTS_SINK = "direct"
    title = PublicationFactory()
    read_rollup.rebuild(publication_id=title.pk)
    title, _ = history(7, write=through_the_pipeline(3, shuffle=True))
    assert ReadRollupDirty.objects.exists()
    assert not ReadRollupDay.objects.filter(publication_id=title.pk).exists()
    jobs.run("flush_read_events")
    assert not ReadRollupDirty.objects.exists()
    assert_agrees(title, NOW)


def test_the_job_rebuilds_titles_loaded_in_bulk_or_changed(settings):
    settings.METER_FREE_ARTICLES = 4
    title, _ = history(8)  # bulk-loaded: never built (nor the other title read in it)
    quiet = PublicationFactory()  # no reads: nothing to build
    read = set(ReadEvent.objects.values_list("publication_id", flat=True))
    assert title.pk in read and len(read) == 2
    result = jobs.run("rollup_read_events")
    assert result.processed == 2
    assert ReadRollupState.objects.filter(publication_id=title.pk).exists()
    assert not ReadRollupState.objects.filter(publication_id=quiet.pk).exists()
    assert jobs.run("rollup_read_events").processed == 0  # nothing changed since
    Article.objects.filter(publication=title).update(access_level="premium")
    assert jobs.run("rollup_read_events").processed == 1
    assert_agrees(title, NOW)


def test_the_period_is_today_and_the_29_days_before():
    since, until = simulator.period(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    assert since == datetime(2026, 2, 9, tzinfo=UTC)
    assert until == datetime(2026, 3, 11, tzinfo=UTC)


def test_a_write_does_not_wait_while_the_rollup_is_busy(settings):
    """A flush never blocks on a rebuild (its time limit would kill it mid-write): it
    leaves its batch recorded, and the next fold (here the simulator's) takes it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the rollup lock is PostgreSQL's; SQLite has one writer anyway")
    settings.READ_EVENTS_SINK = "memory"
    title = PublicationFactory()
    article = ArticleFactory(publication=title)
    ReadRollupState.objects.create(
        publication=title, signature=read_rollup.signature(title.pk), built_at=NOW
    )
    other = connection.copy()
    try:
        with other.cursor() as cursor:  # a rebuild in another process
            cursor.execute("SELECT pg_advisory_lock(%s)", [read_rollup.LOCK_KEY])
        read_events.record(metered_read(article, reader_key="a:busy", at=NOW - timedelta(hours=1)))
        read_events.flush()
        assert ReadEvent.objects.filter(publication_id=title.pk).count() == 1
        assert ReadRollupDirty.objects.filter(publication_id=title.pk).exists()
        assert not ReadRollupDay.objects.filter(publication_id=title.pk).exists()
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [read_rollup.LOCK_KEY])
        other.close()
    outcome = simulator.simulate(
        publication_id=title.pk, rule=simulator.SimRule("metered", None), now=NOW
    )
    assert (outcome.reads, outcome.granted, outcome.readers) == (1, 1, 1)
    assert not ReadRollupDirty.objects.exists()


def test_an_override_set_in_the_portal_rebuilds_the_title_in_the_background(
    settings, django_capture_on_commit_callbacks
):
    from publishers.services import article_override_set

    settings.METER_FREE_ARTICLES = 4
    title, _ = history(9)
    jobs.run("rollup_read_events")
    built = ReadRollupState.objects.get(publication_id=title.pk).signature
    inheriting = Article.objects.filter(publication=title, access_level="inherit")
    with django_capture_on_commit_callbacks(execute=True):
        changed = article_override_set(
            actor=UserFactory(),
            publisher=title.publisher,
            article_ids=list(inheriting.values_list("pk", flat=True)[:2]),
            access_level="premium",
        )
    assert changed == 2
    state = ReadRollupState.objects.get(publication_id=title.pk)
    assert state.signature == read_rollup.signature(title.pk) != built  # no simulation yet
    assert_agrees(title, NOW)


@pytest.mark.parametrize(
    "seed, now, days",
    [
        (1, NOW, 7),
        (2, NOW, 3),
        (3, datetime(2026, 3, 1, 0, 30, tzinfo=UTC), 30),
        (9, NOW, 1),
    ],
)
def test_sql_equals_a_replay_through_decide_under_a_rolling_window(seed, now, days, settings):
    """METER_WINDOW=rolling: each read is decided against the articles counted in the
    METER_ROLLING_DAYS before it (re-reads inside the window free, an article counted
    again once it has left it), as metering.py and decide() do."""
    settings.METER_FREE_ARTICLES = 4
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = days
    title, events = history(seed, now)
    for rule in RULES:
        sql = simulator.simulate(publication_id=title.pk, rule=rule, now=now).as_dict()
        assert sql == replay(events, rule, now), rule


def test_a_rolling_verdict_is_not_monotone_in_the_limit(settings):
    """With 2 free articles a re-read inside the window renews nothing, so the article
    leaves the window sooner and meets a full meter; with 1 it was counted again. The
    rollup keeps a verdict per limit, not a rank."""
    settings.METER_FREE_ARTICLES = 2
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = 7
    title = PublicationFactory()
    a1, a2, a3, a4 = ArticleFactory.create_batch(4, publication=title)
    start = NOW - timedelta(days=20)
    reads = [(0.56, a2), (3.88, a1), (4.37, a2), (8.83, a1), (13.64, a4), (13.74, a3)]
    reads += [(14.12, a2), (14.49, a1)]
    ReadEvent.objects.bulk_create(
        ReadEvent(
            at=start + timedelta(days=day),
            reader_key="a:mono",
            article=article,
            publication_id=title.pk,
            granted=True,
            reason="metered",
            level="metered",
        )
        for day, article in reads
    )
    events = list(ReadEvent.objects.select_related("article").filter(publication_id=title.pk))
    outcomes = {}
    for cap in (1, 2):
        rule = simulator.SimRule("metered", cap)
        outcomes[cap] = simulator.simulate(publication_id=title.pk, rule=rule, now=NOW)
        assert outcomes[cap].as_dict() == replay(events, rule, NOW)
    # With 1: walled on days 3.88, 13.64, 13.74, 14.12; the last read (a1, a re-read of
    # the article counted again on day 8.83) granted. With 2: only the last two walled.
    assert (outcomes[1].granted, outcomes[1].walls["meter_exhausted"]) == (4, 4)
    assert (outcomes[2].granted, outcomes[2].walls["meter_exhausted"]) == (6, 2)


@pytest.mark.parametrize("shuffle", [False, True])
def test_rolling_batches_folded_as_written_equal_a_rebuild_and_the_replay(shuffle, settings):
    """A late read changes the verdicts of the reader's later reads, in later months too:
    the fold recomputes the reader's whole history."""
    settings.METER_FREE_ARTICLES = 3
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = 10
    settings.READ_EVENTS_SINK = "memory"
    now = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    title = PublicationFactory()
    read_rollup.rebuild(publication_id=title.pk)
    title, _ = history(4, now, write=through_the_pipeline(7, shuffle=shuffle))
    assert not ReadRollupDirty.objects.exists()
    kept = rollup_snapshot(title.pk)
    assert kept["days"]
    assert_agrees(title, now)
    read_rollup.rebuild(publication_id=title.pk)
    assert rollup_snapshot(title.pk) == kept


def test_switching_the_meter_window_rebuilds_the_title(settings):
    settings.METER_FREE_ARTICLES = 4
    title, _ = history(5)
    assert_agrees(title, NOW)
    built = read_rollup.signature(title.pk)
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = 5
    assert read_rollup.signature(title.pk) != built
    assert_agrees(title, NOW)
    settings.METER_ROLLING_DAYS = 9
    assert_agrees(title, NOW)


@pytest.mark.parametrize("window, days", [("month", None), ("rolling", 7)])
def test_the_simulation_says_which_window_it_modelled(settings, window, days):
    settings.METER_WINDOW = window
    settings.METER_ROLLING_DAYS = 7
    assert simulator.meter_window() == {"window": window, "rolling_days": days}


def old_rollup_rows(publication_id: int, before) -> int:
    return (
        ReadRollupDay.objects.filter(publication_id=publication_id, day__lt=before).count()
        + ReadRollupCount.objects.filter(publication_id=publication_id, day__lt=before).count()
        + ReadRollupReader.objects.filter(
            publication_id=publication_id, last_day__lt=before
        ).count()
    )


def recent_rollup(publication_id: int, since) -> dict:
    kept = rollup_snapshot(publication_id)
    return {
        "days": [r for r in kept["days"] if r[1] >= since],
        "counts": [r for r in kept["counts"] if r[0] >= since],
        "readers": [r for r in kept["readers"] if r[1] >= since],
    }


@pytest.mark.parametrize("window", ["month", "rolling"])
def test_the_meter_prune_drops_rollup_days_no_simulation_reads(settings, window):
    """The simulator is the rollup's only reader (the stats and the statements read the
    events) and reads today and the 29 days before: the daily prune drops every row of
    an older day (one day of slack: a simulation begun before midnight UTC), leaves the
    rest as it was and every simulation with it; a late read folded into a pruned month
    brings some back, and the next run takes them again; a rerun finds nothing."""
    settings.METER_FREE_ARTICLES = 4
    settings.METER_WINDOW = window
    settings.READ_EVENTS_SINK = "memory"
    title, _ = history(21)
    assert_agrees(title, NOW)  # built
    keep_from = simulator.period(NOW)[0].date() - timedelta(days=1)
    assert read_rollup.prune_before(NOW) == keep_from
    assert old_rollup_rows(title.pk, keep_from) > 0
    recent = recent_rollup(title.pk, keep_from)
    result = jobs.run("prune_meter", now=NOW)
    assert result.processed > 0 and result.detail["rollup_days"] > 0
    assert old_rollup_rows(title.pk, keep_from) == 0
    assert rollup_snapshot(title.pk) == recent
    assert_agrees(title, NOW)
    article = Article.objects.filter(publication=title, access_level="inherit").first()
    read_events.record(metered_read(article, reader_key="a:anon1", at=NOW - timedelta(days=32)))
    read_events.flush()
    assert_agrees(title, NOW)
    jobs.run("prune_meter", now=NOW)
    assert old_rollup_rows(title.pk, keep_from) == 0
    assert_agrees(title, NOW)
    assert jobs.run("prune_meter", now=NOW).processed == 0


def test_a_rollup_prune_killed_midway_leaves_the_simulations_right(settings):
    """Each chunk commits on its own: a run killed after a few chunks leaves the rollup
    answering as before, a fold in between changes nothing of that, and a rerun finishes."""
    settings.METER_FREE_ARTICLES = 4
    settings.READ_EVENTS_SINK = "memory"
    title, _ = history(22)
    assert_agrees(title, NOW)
    keep_from = read_rollup.prune_before(NOW)
    recent = recent_rollup(title.pk, keep_from)
    chunks = read_rollup.prune_chunks(now=NOW, chunk_size=3)
    for _ in range(4):  # killed after four chunks
        next(chunks)
    chunks.close()
    assert old_rollup_rows(title.pk, keep_from) > 0
    assert rollup_snapshot(title.pk) != recent
    assert_agrees(title, NOW)
    article = Article.objects.filter(publication=title, access_level="inherit").first()
    read_events.record(metered_read(article, reader_key="a:anon2", at=NOW - timedelta(days=31)))
    read_events.flush()
    assert_agrees(title, NOW)
    jobs.run("prune_meter", now=NOW, chunk_size=3)
    assert old_rollup_rows(title.pk, keep_from) == 0
    assert_agrees(title, NOW)


def test_a_rollup_prune_chunk_costs_the_same_queries_however_many_rows(settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.METER_FREE_ARTICLES = 4
    title, _ = history(23)
    assert_agrees(title, NOW)
    old = old_rollup_rows(title.pk, read_rollup.prune_before(NOW))
    assert old > 30
    with CaptureQueriesContext(connection) as queries:
        pruned = read_rollup.prune(now=NOW, chunk_size=old)  # one chunk per table
    assert sum(pruned.values()) == old
    # Per table: a chunk (lock, ids, delete) and the empty look that ends it.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 3 * (3 + 2)
