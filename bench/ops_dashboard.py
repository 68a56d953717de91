"""Benchmark: the operations dashboard with 100,000 subscriptions on PostgreSQL.

Builds a year of history for BENCH_OPS_TOTAL readers in SQL (trials, conversions,
failures, churn; audit entries and MRR changes as the services write them), writes the
daily snapshots of the whole history with the snapshot_metrics service,
then times the dashboard, a search and a subscriber page in-process (Django's test
client, signed in as ops; median of BENCH_OPS_RUNS warm runs). Goal: under 1 s.
Prints one Markdown section; `make bench` runs it when PostgreSQL is available.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpResponseBase

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

TOTAL = int(os.environ.get("BENCH_OPS_TOTAL", "100000"))
RUNS = int(os.environ.get("BENCH_OPS_RUNS", "5"))

# n % 10 decides the reader's story; every story starts with a trial n % 365 days ago.
HISTORY_SQL = [
    "DELETE FROM subscriptions_mrrchange",
    "DELETE FROM subscriptions_auditentry",
    "DELETE FROM subscriptions_metricsnapshot",
    """DELETE FROM subscriptions_subscription WHERE user_id IN
       (SELECT id FROM accounts_user WHERE email LIKE 'ob%%@bench.local')""",
    "DELETE FROM accounts_user WHERE email LIKE 'ob%%@bench.local'",
    """INSERT INTO accounts_user (password, is_superuser, first_name, last_name, is_staff,
           is_active, date_joined, email)
       SELECT '!', false, '', '', false, true, now() - (n %% 365) * interval '1 day',
              'ob' || n || '@bench.local'
       FROM generate_series(1, %(total)s) AS n""",
    """CREATE TEMP TABLE story AS
       SELECT u.id AS user_id, substr(u.email, 3, strpos(u.email, '@') - 3)::int AS n,
              u.date_joined AS t0
       FROM accounts_user u WHERE u.email LIKE 'ob%%@bench.local'""",
    """INSERT INTO subscriptions_subscription (user_id, status, plan_id, trial_started_at,
           trial_ends_at, current_period_end, cancel_at_period_end, past_due_since,
           complimentary_until, created_at, updated_at, stripe_synced_event)
       SELECT user_id,
              CASE WHEN t0 + interval '14 days' > now() THEN 'trialing'
                   ELSE (ARRAY['trialing','active','active','active','active','past_due',
                               'canceled','expired','expired','complimentary'])[n %% 10 + 1]
              END,
              CASE WHEN n %% 2 = 0 THEN %(monthly)s ELSE %(yearly)s END,
              t0, t0 + interval '14 days', now() + interval '20 days', false,
              CASE WHEN n %% 10 = 5 THEN now() - (n %% 9) * interval '1 day' END,
              NULL, t0, now(), ''
       FROM story""",
    # Every trial's start; then what followed it (at most now).
    """INSERT INTO subscriptions_auditentry (subscription_id, at, action, from_status,
           to_status, source, detail)
       SELECT s.id, s.trial_started_at, 'trial:start', 'none', 'trialing', 'trial', '{}'
       FROM subscriptions_subscription s JOIN story ON story.user_id = s.user_id""",
    """INSERT INTO subscriptions_auditentry (subscription_id, at, action, from_status,
           to_status, source, detail)
       SELECT s.id, s.trial_ends_at,
              CASE WHEN s.status IN ('active','past_due','canceled') THEN 'stripe:active'
                   ELSE 'status:' || s.status END,
              'trialing',
              CASE WHEN s.status IN ('active','past_due','canceled') THEN 'active'
                   ELSE s.status END,
              'stripe', '{}'
       FROM subscriptions_subscription s JOIN story ON story.user_id = s.user_id
       WHERE s.status <> 'trialing'""",
    """INSERT INTO subscriptions_auditentry (subscription_id, at, action, from_status,
           to_status, source, detail)
       SELECT s.id, LEAST(s.trial_ends_at + interval '40 days', now() - interval '1 hour'),
              'stripe:' || s.status, 'active', s.status, 'stripe', '{}'
       FROM subscriptions_subscription s JOIN story ON story.user_id = s.user_id
       WHERE s.status IN ('past_due', 'canceled')""",
    # MRR: revenue from the trial's end for those who paid; churn when they canceled.
    """INSERT INTO subscriptions_mrrchange (subscription_id, at, before, after, currency,
           movement)
       SELECT s.id, s.trial_ends_at, 0, CASE WHEN p.interval = 'year' THEN p.amount / 12
              ELSE p.amount END, 'gbp', 'new'
       FROM subscriptions_subscription s JOIN story ON story.user_id = s.user_id
       JOIN subscriptions_plan p ON p.id = s.plan_id
       WHERE s.status IN ('active', 'past_due', 'canceled')""",
    """INSERT INTO subscriptions_mrrchange (subscription_id, at, before, after, currency,
           movement)
       SELECT s.id, LEAST(s.trial_ends_at + interval '40 days', now() - interval '1 hour'),
              CASE WHEN p.interval = 'year' THEN p.amount / 12 ELSE p.amount END, 0, 'gbp',
              'churned'
       FROM subscriptions_subscription s JOIN story ON story.user_id = s.user_id
       JOIN subscriptions_plan p ON p.id = s.plan_id
       WHERE s.status = 'canceled'""",
    "ANALYZE",
]


def median_seconds(fetch: Callable[[], HttpResponseBase]) -> tuple[float, int, int]:
    from django.db import connection
    from django.http import HttpResponse
    from django.test.utils import CaptureQueriesContext

    fetch()  # warm
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = fetch()
            times.append(time.perf_counter() - started)
    assert response.status_code == 200, response.status_code
    assert isinstance(response, HttpResponse), type(response)  # a page, not a stream
    return statistics.median(times), len(queries.captured_queries), len(response.content)


def main() -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from subscriptions.models import Plan, Subscription
    from subscriptions.services.snapshots import snapshots_catch_up

    if connection.vendor != "postgresql":
        print("ops dashboard benchmark skipped: needs PostgreSQL")
        return
    monthly = Plan.objects.get(code="monthly").pk
    yearly = Plan.objects.get(code="yearly").pk
    started = time.perf_counter()
    with connection.cursor() as cur:
        for statement in HISTORY_SQL:
            cur.execute(statement, {"total": TOTAL, "monthly": monthly, "yearly": yearly})
        cur.execute("DROP TABLE story")
    built = time.perf_counter() - started

    started = time.perf_counter()
    days = snapshots_catch_up()  # the whole year, as the nightly job back-fills it
    snapshot_seconds = time.perf_counter() - started

    ops, _ = User.objects.get_or_create(email="ops-bench@bench.local", defaults={"is_staff": True})
    ops.groups.add(Group.objects.get(name="ops"))
    client = Client()
    client.force_login(ops)
    sample = Subscription.objects.filter(user__email="ob4242@bench.local").get()
    rows = [
        ("dashboard `/ops/` (last 12 weeks)", lambda: client.get("/ops/")),
        (
            "dashboard, a year",
            lambda: client.get(
                "/ops/",
                {
                    "from": (timezone.now().date() - timedelta(days=364)).isoformat(),
                    "to": timezone.now().date().isoformat(),
                },
            ),
        ),
        ("search by part of an email", lambda: client.get("/ops/search/", {"q": "ob4242"})),
        ("subscriber page", lambda: client.get(f"/ops/subscribers/{sample.pk}/")),
    ]
    table = []
    for name, fetch in rows:
        seconds, queries, size = median_seconds(fetch)
        table.append(f"| {name} | {seconds * 1000:.0f} | {queries} | {size // 1024} |")
    count = Subscription.objects.count()
    body = "\n".join(table)
    print(f"""
## Operations dashboard with {count:,} subscriptions (PostgreSQL)

Command: `make bench` (bench/ops_dashboard.py): a year of history built in SQL in
{built:.1f} s; `snapshot_metrics` back-filled {days} days in {snapshot_seconds:.1f} s. Times
are the median of {RUNS} warm in-process requests (Django test client), signed in as ops.
Goal: the dashboard under 1 s.

| page | ms | SQL queries | KiB |
|---|---:|---:|---:|
{body}
""")


if __name__ == "__main__":
    main()
