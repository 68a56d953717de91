"""Benchmark: expiring 100,000 due trials (of 1,000,000 subscriptions) on PostgreSQL.

Compares the expire_trials job (state change, audit entries, owed emails, one send task
per chunk) with a bare SQL UPDATE of the same rows: seconds and queries, as a ratio.
Run by bench/run.sh when PostgreSQL is available; prints one Markdown section.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, cast
from unittest import mock

from kombu.transport.virtual import Channel as VirtualChannel

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

TOTAL = int(os.environ.get("BENCH_JOBS_TOTAL", "1000000"))
DUE = int(os.environ.get("BENCH_JOBS_DUE", "100000"))
CHUNK = int(os.environ.get("BENCH_JOBS_CHUNK", "5000"))


def main() -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import DateTimeField, F, JSONField, Value
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from config.celery_app import app
    from subscriptions.models import AuditEntry, Subscription, SubscriptionStatus
    from subscriptions.services import jobs
    from subscriptions.services.bulk import insert_from_select, update_returning
    from subscriptions.vocabulary import AuditAction, AuditSource

    if connection.vendor != "postgresql":
        print("jobs benchmark skipped: needs PostgreSQL")
        return

    with connection.cursor() as cur:
        cur.execute("DELETE FROM subscriptions_notification")
        cur.execute("DELETE FROM subscriptions_auditentry")
        cur.execute(
            "DELETE FROM subscriptions_subscription WHERE user_id IN "
            "(SELECT id FROM accounts_user WHERE email LIKE 'jb%%@bench.local')"
        )
        cur.execute("SELECT count(*) FROM accounts_user WHERE email LIKE 'jb%%@bench.local'")
        (readers,) = cur.fetchone()
    # A rerun keeps the previous run's readers: deleting a million users (every table
    # that refers to them is checked) takes far longer than the benchmark.
    if readers != TOTAL:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM accounts_user WHERE email LIKE 'jb%%@bench.local'")
            cur.execute(
                """INSERT INTO accounts_user (password, is_superuser, first_name, last_name,
                       is_staff, is_active, date_joined, email)
                   SELECT '!', false, '', '', false, true, now(), 'jb' || n || '@bench.local'
                   FROM generate_series(1, %s) AS n""",
                [TOTAL],
            )
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO subscriptions_subscription (user_id, status, trial_started_at,
                   trial_ends_at, cancel_at_period_end, created_at, updated_at,
                   stripe_synced_event)
               SELECT id, 'trialing', now() - interval '15 days',
                   CASE WHEN row_number() OVER (ORDER BY id) <= %s
                        THEN now() - interval '1 hour' ELSE now() + interval '10 days' END,
                   false, now(), now(), ''
               FROM accounts_user WHERE email LIKE 'jb%%@bench.local'""",
            [DUE],
        )
        cur.execute("ANALYZE subscriptions_subscription")

    def settle() -> None:
        """Flush the setup's dirty pages first, so a checkpoint does not land inside
        whichever run happens to come next."""
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE subscriptions_subscription")
            cur.execute("CHECKPOINT")

    # The bare UPDATE of the same rows, committed like the job's chunks are; then the rows
    # are put back so the job finds them due.
    settle()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """UPDATE subscriptions_subscription SET status = 'expired',
                   updated_at = now()
               WHERE status = 'trialing' AND trial_ends_at <= now()
                 AND stripe_subscription_id IS NULL"""
        )
        updated = cur.rowcount
        bare_statement = time.perf_counter() - started
    bare = time.perf_counter() - started

    def put_back() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE subscriptions_subscription SET status = 'trialing' WHERE status = 'expired'"
            )
            cur.execute("DELETE FROM subscriptions_auditentry")
            cur.execute("VACUUM ANALYZE subscriptions_subscription")
            cur.execute("VACUUM ANALYZE subscriptions_auditentry")

    # The state change as it was before the audit entries joined the UPDATE's statement
    # (lock + update, then INSERT ... SELECT of the entries from the moved rows), so one
    # run compares both ways.
    put_back()
    two_statements = 0.0
    due = Subscription.objects.local_trials().filter(trial_ends_at__lte=timezone.now())
    while True:
        with transaction.atomic():
            started = time.perf_counter()
            moved = update_returning(
                candidates=due.filter(status=SubscriptionStatus.TRIALING),
                limit=CHUNK,
                values={"status": SubscriptionStatus.EXPIRED, "updated_at": timezone.now()},
                returning=("id",),
            )
            if moved:
                insert_from_select(
                    model=AuditEntry,
                    columns={
                        "subscription": F("pk"),
                        "at": Value(timezone.now(), output_field=DateTimeField()),
                        "action": Value(AuditAction.TRIAL_EXPIRED),
                        "from_status": Value(SubscriptionStatus.TRIALING),
                        "to_status": Value(SubscriptionStatus.EXPIRED),
                        "source": Value(AuditSource.JOB),
                        "detail": Value({"changed": []}, output_field=JSONField()),
                    },
                    source=Subscription.objects.filter(pk__in=[pk for (pk,) in moved]),
                )
            two_statements += time.perf_counter() - started
        if not moved:
            break
    put_back()

    # Time the state change (lock, update, audit) apart from the owed emails.
    state_change = {"seconds": 0.0}
    original = jobs.transition_many

    def timed(**kwargs: Any) -> list[tuple[int, int | None]]:
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            state_change["seconds"] += time.perf_counter() - started

    with (
        mock.patch.object(jobs, "transition_many", timed),
        CaptureQueriesContext(connection) as job_q,
    ):
        started = time.perf_counter()
        result = jobs.expire_trials(chunk_size=CHUNK)
        job = time.perf_counter() - started
    with app.connection_for_write() as conn:  # nobody consumes the bench's send tasks
        cast(VirtualChannel, conn.default_channel).queue_purge("celery")

    assert updated == DUE and result.processed == DUE, (updated, result.processed)
    print(f"""
## Jobs: expiring {DUE:,} due trials of {TOTAL:,} subscriptions (PostgreSQL)

Command: `make bench` (bench/jobs_bench.py, chunk size {CHUNK:,}).

| run | seconds | SQL queries | notification tasks enqueued |
|---|---:|---:|---:|
| bare `UPDATE` of the same rows: the statement | {bare_statement:.2f} | 1 | 0 |
| bare `UPDATE` of the same rows: with its commit | {bare:.2f} | 1 | 0 |
| before: lock + update, then the audit entries by INSERT ... SELECT (statements) | {two_statements:.2f} | | |
| `expire_trials`: the state change (lock + update + audit entry per row in one statement) | {state_change["seconds"]:.2f} | | |
| `expire_trials`: the whole job (+ an owed email per reader, send tasks, commits) | {job:.2f} | {len(job_q.captured_queries)} | {-(-DUE // CHUNK)} |

Ratios: the state change's statements to the bare statement **{state_change["seconds"] / bare_statement:.2f}x**
(goal: at most 2x; the two-statement way before it: **{two_statements / bare_statement:.2f}x**);
the whole job to the committed bare UPDATE **{job / bare:.2f}x**.
""")


if __name__ == "__main__":
    main()
