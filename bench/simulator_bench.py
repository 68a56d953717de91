"""Benchmark: the rule simulator over 1,000,000 read events of one title on PostgreSQL.

Fills `subscriptions_readevent` with BENCH_SIM_EVENTS reads of one title over the last 30
days (100,000 anonymous and 20,000 signed-in readers, 500 articles with some overrides,
a tenth of the signed-in reads entitled) and 4,000 trials, then builds the read rollup the
two ways production does, each timed on its own:

- all but the last BENCH_SIM_BATCHES x 1,000 reads are loaded in bulk (SQL), so the
  rollup job (`run_job rollup_read_events`) rebuilds the title from them, as after a
  deploy, a bulk load or an article override change;
- the last batches are written by the read-event pipeline (`paywall.events`), which
  folds each batch into the rollup in the same transaction, as every flush does.

Then it times `simulate()` for the live rule and three proposals, and the pair the portal
shows (live rule + one proposal). Prints one Markdown section.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

EVENTS = int(os.environ.get("BENCH_SIM_EVENTS", "1000000"))
RUNS = int(os.environ.get("BENCH_SIM_RUNS", "3"))
BATCHES = int(os.environ.get("BENCH_SIM_BATCHES", "10"))
BATCH = 1000  # events per pipeline write: what drain_redis hands to one insert
GOAL_SECONDS = 2.0


def fill(events: int) -> int:
    from django.db import connection

    from articles.models import Article, Publication, Publisher

    publisher, _ = Publisher.objects.get_or_create(slug="sim-bench", defaults={"name": "Sim Bench"})
    title, _ = Publication.objects.get_or_create(
        slug="sim-bench-times", defaults={"publisher": publisher, "name": "Sim Bench Times"}
    )
    with connection.cursor() as cur:
        for table in (
            "readevent",
            "readrollupday",
            "readrollupcount",
            "readrollupreader",
            "readrollupstate",
            "readrollupdirty",
        ):
            cur.execute(f"DELETE FROM subscriptions_{table} WHERE publication_id = %s", [title.pk])
        cur.execute(
            "DELETE FROM subscriptions_conversion WHERE subscription_id IN "
            "(SELECT s.id FROM subscriptions_subscription s JOIN accounts_user u"
            " ON u.id = s.user_id WHERE u.email LIKE 'sim%%@bench.local')"
        )
        cur.execute(
            "DELETE FROM subscriptions_subscription WHERE user_id IN "
            "(SELECT id FROM accounts_user WHERE email LIKE 'sim%%@bench.local')"
        )
        cur.execute("DELETE FROM accounts_user WHERE email LIKE 'sim%%@bench.local'")
        cur.execute("DELETE FROM articles_article WHERE publication_id = %s", [title.pk])
        cur.execute(
            """INSERT INTO articles_article (publication_id, slug, title, standfirst, author,
                   body, published_at, access_level, news_value)
               SELECT %s, 'sim-bench-' || n, 'Story ' || n, '', '', '<p>x</p>',
                   now() - (n || ' hours')::interval,
                   CASE WHEN n %% 10 = 0 THEN 'free' WHEN n %% 25 = 0 THEN 'premium'
                        ELSE 'inherit' END, 50
               FROM generate_series(1, 500) AS n""",
            [title.pk],
        )
        first_article = Article.objects.filter(publication=title).order_by("id").first()
        assert first_article is not None
        cur.execute(
            """INSERT INTO accounts_user (password, is_superuser, first_name, last_name,
                   is_staff, is_active, date_joined, email)
               SELECT '!', false, '', '', false, true, now(), 'sim' || n || '@bench.local'
               FROM generate_series(1, 20000) AS n"""
        )
        cur.execute("SELECT MIN(id) FROM accounts_user WHERE email LIKE 'sim%%@bench.local'")
        first_user = cur.fetchone()[0]
        # Reads: reader n % 120000 (the first 20,000 signed in), article by a skewed pick.
        cur.execute(
            """INSERT INTO subscriptions_readevent (at, reader_key, user_id, article_id,
                   publication_id, granted, reason, level, channel, entitlement)
               SELECT now() - (random() * interval '30 days'),
                   CASE WHEN r < 20000 THEN 'u:' || (%(u)s + r) ELSE 'a:anon' || r END,
                   CASE WHEN r < 20000 THEN %(u)s + r END,
                   %(a)s + floor(power(random(), 2) * 500)::int,
                   %(p)s, true, 'metered', 'metered', 'web',
                   CASE WHEN r < 2000 THEN 'subscriber' ELSE '' END
               FROM (SELECT n, (random() * 120000)::int %% 120000 AS r
                     FROM generate_series(1, %(n)s) AS n) picks""",
            {"u": first_user, "a": first_article.pk, "p": title.pk, "n": events},
        )
        cur.execute(
            """INSERT INTO subscriptions_subscription (user_id, status, trial_started_at,
                   trial_ends_at, cancel_at_period_end, created_at, updated_at,
                   stripe_synced_event)
               SELECT id, 'trialing', now() - (random() * interval '29 days'),
                   now() + interval '10 days', false, now(), now(), ''
               FROM accounts_user WHERE email LIKE 'sim%%@bench.local' AND id < %s""",
            [first_user + 4000],
        )
        # Each trial's start as attribution keeps it: what the simulator counts.
        cur.execute(
            """INSERT INTO subscriptions_conversion (subscription_id, kind, started_at)
               SELECT s.id, 'trial', s.trial_started_at FROM subscriptions_subscription s
               JOIN accounts_user u ON u.id = s.user_id
               WHERE u.email LIKE 'sim%%@bench.local'"""
        )
        # After a previous run's rows were deleted: as autovacuum would leave the tables.
        for table in ("readevent", "readrollupday", "readrollupcount", "readrollupreader"):
            cur.execute(f"VACUUM ANALYZE subscriptions_{table}")
        cur.execute("ANALYZE articles_article")
        cur.execute("ANALYZE subscriptions_subscription")
    return title.pk


def pipeline_batches(title_id: int) -> list[float]:
    """BATCHES writes of BATCH reads from the last day through the read-event pipeline
    (the same readers and articles as the bulk load): seconds per write."""
    import random
    from datetime import timedelta

    from django.test.utils import override_settings
    from django.utils import timezone

    from accounts.models import User
    from articles.models import Article
    from subscriptions.paywall import events

    rng = random.Random(10)
    articles = list(
        Article.objects.filter(publication_id=title_id).order_by("pk").values_list("pk", flat=True)
    )
    first_user = (
        User.objects.filter(email__startswith="sim", email__endswith="@bench.local")
        .order_by("pk")
        .values_list("pk", flat=True)[0]
    )
    seconds = []
    for _ in range(BATCHES):
        now = timezone.now()
        batch = []
        for _ in range(BATCH):
            r = rng.randrange(120000)
            batch.append(
                {
                    "at": now - timedelta(seconds=rng.uniform(0, 86400)),
                    "reader_key": f"u:{first_user + r}" if r < 20000 else f"a:anon{r}",
                    "user_id": first_user + r if r < 20000 else None,
                    "article_id": articles[int(rng.random() ** 2 * len(articles))],
                    "publication_id": title_id,
                    "granted": True,
                    "reason": "metered",
                    "level": "metered",
                    "channel": "web",
                    "entitlement": "subscriber" if r < 2000 else "",
                }
            )
        with override_settings(READ_EVENTS_SINK="memory"):
            t0 = time.perf_counter()
            events._write(batch)
            seconds.append(time.perf_counter() - t0)
    return seconds


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    from publishers.simulator import SimRule, simulate

    if connection.vendor != "postgresql":
        print("simulator benchmark skipped: needs PostgreSQL")
        return
    from subscriptions.services import jobs

    started = time.perf_counter()
    title_id = fill(EVENTS - BATCHES * BATCH)
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    jobs.run("rollup_read_events")
    build_seconds = time.perf_counter() - started
    batch_seconds = pipeline_batches(title_id)
    with connection.cursor() as cur:
        sizes = {}
        for table in ("readrollupday", "readrollupcount", "readrollupreader"):
            cur.execute(
                f"SELECT COUNT(*) FROM subscriptions_{table} WHERE publication_id = %s", [title_id]
            )
            sizes[table] = cur.fetchone()[0]
    rules = [
        ("live: metered (site limit)", SimRule("metered", None)),
        ("metered, title cap 2", SimRule("metered", 2)),
        ("registered", SimRule("registered", None)),
        ("premium", SimRule("premium", None)),
    ]
    rows = []
    for name, rule in rules:
        times = []
        outcome = None
        for _ in range(RUNS):
            t0 = time.perf_counter()
            outcome = simulate(publication_id=title_id, rule=rule)
            times.append(time.perf_counter() - t0)
        assert outcome is not None
        rows.append((name, statistics.median(times), max(times), outcome))
    # The floor: one bare GROUP BY of the same reads per reader and article.
    floor = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM (SELECT reader_key, article_id FROM subscriptions_readevent"
                " WHERE publication_id = %s AND at >= now() - interval '30 days'"
                " GROUP BY 1, 2) g",
                [title_id],
            )
        floor.append(time.perf_counter() - t0)
    floor_seconds = statistics.median(floor)
    # What the portal and the API run: the live rule and a proposal, side by side.
    pairs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        simulate(publication_id=title_id, rule=rules[0][1])
        simulate(publication_id=title_id, rule=rules[1][1])
        pairs.append(time.perf_counter() - t0)
    pair = statistics.median(pairs)
    print()
    print(f"## Rule simulator: {EVENTS:,} read events of one title (PostgreSQL)")
    print()
    bulk = EVENTS - BATCHES * BATCH
    print(
        f"Load average {os.getloadavg()[0]:.1f} at the end. Events loaded in bulk: {bulk:,} "
        f"in {fill_seconds:.0f} s; the rollup job rebuilt the title from them in "
        f"**{build_seconds:.0f} s**; then {BATCHES} pipeline writes of {BATCH:,} reads each "
        f"(insert + fold into the rollup, one transaction): median "
        f"**{statistics.median(batch_seconds):.2f} s**, worst {max(batch_seconds):.2f} s. "
        f"Rollup rows: {sizes['readrollupday']:,} reader-day-article, "
        f"{sizes['readrollupcount']:,} day-article-rank, {sizes['readrollupreader']:,} readers."
    )
    print()
    print(f"Each rule run {RUNS} times, median and worst.")
    print()
    print(
        "| rule | median s | worst s | reads | granted | walls | readers walled | trials after a wall |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, median, worst, o in rows:
        print(
            f"| {name} | {median:.2f} | {worst:.2f} | {o.reads:,} | {o.granted:,} | "
            f"{o.walls_total:,} | {o.readers_walled:,} | {o.trials_started:,} |"
        )
    print(
        f"| floor: a bare `GROUP BY reader, article` of the same reads | {floor_seconds:.2f} | | | | | | |"
    )
    print()
    verdict = "met" if pair < GOAL_SECONDS else "NOT met"
    print(
        f"A simulation as the portal shows it (live rule and one proposal): **{pair:.2f} s** "
        f"median of {RUNS}, worst {max(pairs):.2f} s (goal < {GOAL_SECONDS:.0f} s: {verdict}); "
        f"one rule is {rows[0][1] / floor_seconds:.2f}x the bare GROUP BY of the raw reads."
    )


if __name__ == "__main__":
    main()
