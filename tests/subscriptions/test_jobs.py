"""Every job: exactly its work, once; batched; safe to rerun."""

import importlib
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.models import (
    AuditEntry,
    MeterEntry,
    Notification,
    Payment,
    PublisherStatement,
    ReadEvent,
    Subscription,
)
from subscriptions.money import format_money
from subscriptions.services import jobs, statements
from subscriptions.vocabulary import AuditAction
from tests.factories import ArticleFactory, PlanFactory, PublisherFactory, UserFactory
from tests.mailbox import alternatives

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


_emails = itertools.count()


def make_subscriptions(count, **fields):
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(email=f"bulk{next(_emails)}@example.com") for _ in range(count)]
    )
    return Subscription.objects.bulk_create([Subscription(user=u, **fields) for u in users])


def run(name, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return jobs.run(name, **kwargs)


def test_expire_trials_expires_due_local_trials_once_and_tells_each_reader_once(
    django_capture_on_commit_callbacks,
):
    due = make_subscriptions(3, status="trialing", trial_ends_at=NOW - timedelta(minutes=1))
    (not_due,) = make_subscriptions(1, status="trialing", trial_ends_at=NOW + timedelta(days=1))
    stripe_trial = UserFactory()
    Subscription.objects.create(
        user=stripe_trial,
        status="trialing",
        trial_ends_at=NOW - timedelta(days=1),
        stripe_subscription_id="sub_123",
    )

    result = run("expire_trials", django_capture_on_commit_callbacks)

    assert result.processed == 3
    assert set(Subscription.objects.filter(status="expired").values_list("pk", flat=True)) == {
        s.pk for s in due
    }
    not_due.refresh_from_db()
    assert not_due.status == "trialing"
    assert AuditEntry.objects.filter(action=AuditAction.TRIAL_EXPIRED).count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.user.email for s in due)
    assert all("trial has ended" in m.subject for m in mail.outbox)

    again = run("expire_trials", django_capture_on_commit_callbacks)
    assert again.processed == 0
    assert len(mail.outbox) == 3
    assert AuditEntry.objects.count() == 3


def test_expire_trials_audits_each_changed_subscription_once_with_the_whole_entry(
    django_capture_on_commit_callbacks,
):
    due = make_subscriptions(3, status="trialing", trial_ends_at=NOW - timedelta(minutes=1))
    (already,) = make_subscriptions(1, status="expired", trial_ends_at=NOW - timedelta(days=1))

    run("expire_trials", django_capture_on_commit_callbacks, chunk_size=2)

    entries = list(AuditEntry.objects.order_by("subscription_id"))
    assert [e.subscription_id for e in entries] == sorted(s.pk for s in due)
    assert {
        (e.at, e.action, e.from_status, e.to_status, e.source, e.actor_id, str(e.detail))
        for e in entries
    } == {(NOW, AuditAction.TRIAL_EXPIRED, "trialing", "expired", "job", None, "{'changed': []}")}
    assert not AuditEntry.objects.filter(subscription=already).exists()


def queries_for(job, n, *, ends, chunk_size):
    Subscription.objects.all().delete()
    make_subscriptions(n, status="trialing", trial_ends_at=ends)
    with CaptureQueriesContext(connection) as ctx:
        assert jobs.run(job, chunk_size=chunk_size).processed == n
    return len(ctx.captured_queries)


def ends_for(job):
    return NOW - timedelta(hours=1) if job == "expire_trials" else NOW + timedelta(days=2)


@pytest.mark.parametrize("job", ["expire_trials", "send_trial_reminders"])
def test_same_query_count_for_10_and_50_due_rows(job):
    assert queries_for(job, 10, ends=ends_for(job), chunk_size=1000) == queries_for(
        job, 50, ends=ends_for(job), chunk_size=1000
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite binds at most 999 parameters, so Django splits large bulk inserts",
)
@pytest.mark.parametrize("job", ["expire_trials", "send_trial_reminders"])
def test_same_query_count_for_10_and_1000_due_rows(job):
    assert queries_for(job, 10, ends=ends_for(job), chunk_size=1000) == queries_for(
        job, 1000, ends=ends_for(job), chunk_size=1000
    )


def test_each_chunk_costs_the_same_few_queries():
    one_chunk = queries_for("expire_trials", 50, ends=ends_for("expire_trials"), chunk_size=50)
    three_chunks = queries_for("expire_trials", 150, ends=ends_for("expire_trials"), chunk_size=50)
    per_chunk = (three_chunks - one_chunk) / 2
    assert per_chunk == int(per_chunk) and per_chunk <= 10


def test_trial_reminder_three_days_before_and_only_once(django_capture_on_commit_callbacks):
    (sub,) = make_subscriptions(1, status="trialing", trial_ends_at=NOW + timedelta(days=5))
    assert run("send_trial_reminders", django_capture_on_commit_callbacks).processed == 0
    with time_machine.travel(NOW + timedelta(days=2, minutes=1), tick=False):
        run("send_trial_reminders", django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        run("send_trial_reminders", django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[sub.user.email]]
    assert "ends soon" in mail.outbox[0].subject
    assert alternatives(mail.outbox[0])[0][1] == "text/html"


def test_renewal_reminder_for_yearly_plans_seven_days_before(django_capture_on_commit_callbacks):
    yearly = PlanFactory(code="yearly", interval="year", amount=9900)
    monthly = PlanFactory(code="monthly", interval="month")
    (due,) = make_subscriptions(
        1, status="active", plan=yearly, current_period_end=NOW + timedelta(days=6)
    )
    make_subscriptions(1, status="active", plan=monthly, current_period_end=NOW + timedelta(days=6))
    make_subscriptions(
        1,
        status="active",
        plan=yearly,
        cancel_at_period_end=True,
        current_period_end=NOW + timedelta(days=6),
    )
    make_subscriptions(1, status="active", plan=yearly, current_period_end=NOW + timedelta(days=20))
    run("send_renewal_reminders", django_capture_on_commit_callbacks)
    run("send_renewal_reminders", django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[due.user.email]]
    assert "99.00 GBP" in mail.outbox[0].body


def test_dunning_reminders_once_per_step_inside_the_grace_period(
    settings, django_capture_on_commit_callbacks
):
    settings.GRACE_PERIOD_DAYS = 7
    (sub,) = make_subscriptions(1, status="past_due", past_due_since=NOW)
    for day in range(0, 10):
        with time_machine.travel(NOW + timedelta(days=day, hours=1), tick=False):
            run("send_dunning_reminders", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2  # day 1 and day 4, never after the grace period
    assert Notification.objects.filter(user=sub.user, kind="dunning").count() == 2


def test_prune_meter_keeps_the_current_and_previous_month():
    article = ArticleFactory()
    for window in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
        MeterEntry.objects.create(
            reader_key="a:x",
            article=article,
            publication=article.publication,
            window_start=window,
            created_at=NOW,
        )
    assert jobs.run("prune_meter").processed == 1
    assert sorted(MeterEntry.objects.values_list("window_start", flat=True)) == [
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]
    assert jobs.run("prune_meter").processed == 0


@given(
    pool=st.integers(0, 10**9),
    weights=st.dictionaries(st.integers(1, 500), st.integers(0, 10**6), max_size=40),
)
def test_split_sums_exactly_to_the_pool(pool, weights):
    shares = statements.split(pool=pool, weights=weights)
    assert set(shares) == set(weights)
    if sum(weights.values()) and pool:
        assert sum(shares.values()) == pool
    for key, weight in weights.items():
        exact = pool * weight / sum(weights.values()) if sum(weights.values()) else 0
        assert abs(shares[key] - exact) < 1


def read(article, reader, at, reason="subscriber", granted=True):
    ReadEvent.objects.create(
        at=at,
        reader_key=reader,
        article=article,
        publication=article.publication,
        granted=granted,
        reason=reason,
        level="premium",
    )


def test_publisher_statements_split_last_months_pool_by_qualified_reads():
    a, b, c = PublisherFactory.create_batch(3)
    art_a = ArticleFactory(publication__publisher=a)
    art_b = ArticleFactory(publication__publisher=b)
    october = datetime(2026, 10, 10, 9, tzinfo=UTC)

    read(art_a, "u:1", october)
    read(art_a, "u:1", october + timedelta(hours=2))  # same reader, article, day: once
    read(art_a, "u:1", october + timedelta(days=1))  # next day: qualifies again
    read(art_a, "u:2", october, reason="trial")
    read(art_b, "u:1", october, reason="complimentary")
    read(art_b, "a:anon", october, reason="metered")  # not entitled: does not qualify
    read(art_b, "u:3", october, reason="subscribers_only", granted=False)  # a wall
    read(art_b, "u:4", datetime(2026, 11, 2, tzinfo=UTC))  # another month
    Payment.objects.create(stripe_invoice_id="in_1", amount=1000, paid_at=october)
    Payment.objects.create(stripe_invoice_id="in_2", amount=1001, refunded=1, paid_at=october)
    Payment.objects.create(stripe_invoice_id="in_3", amount=5000, paid_at=NOW)  # November

    result = jobs.run("publisher_statements")

    assert result.detail == {"month": "2026-10"}
    rows = {s.publisher_id: s for s in PublisherStatement.objects.all()}
    assert {pid: s.qualified_reads for pid, s in rows.items()} == {a.pk: 3, b.pk: 1, c.pk: 0}
    assert rows[a.pk].pool == 1000  # (1000 + 1000) x 50 %
    assert {pid: s.amount for pid, s in rows.items()} == {a.pk: 750, b.pk: 250, c.pk: 0}
    assert jobs.run("publisher_statements").processed == 0  # final once written


def test_publisher_statements_never_add_up_different_currencies():
    a, b = PublisherFactory.create_batch(2)
    art_a = ArticleFactory(publication__publisher=a)
    art_b = ArticleFactory(publication__publisher=b)
    october = datetime(2026, 10, 10, 9, tzinfo=UTC)
    for article, reader in ((art_a, "u:1"), (art_a, "u:2"), (art_a, "u:3"), (art_b, "u:1")):
        read(article, reader, october)
    Payment.objects.create(stripe_invoice_id="in_g", amount=1000, currency="gbp", paid_at=october)
    Payment.objects.create(stripe_invoice_id="in_e1", amount=900, currency="eur", paid_at=october)
    Payment.objects.create(
        stripe_invoice_id="in_e2", amount=300, refunded=100, currency="eur", paid_at=october
    )

    jobs.run("publisher_statements")

    rows = {(s.publisher_id, s.currency): s for s in PublisherStatement.objects.all()}
    assert {key: (s.pool, s.amount) for key, s in rows.items()} == {
        (a.pk, "gbp"): (500, 375),
        (b.pk, "gbp"): (500, 125),
        (a.pk, "eur"): (550, 413),  # (900 + 300 - 100) x 50 %, split 3:1 ...
        (b.pk, "eur"): (550, 137),  # ... to the minor unit, summing to the pool
    }
    assert jobs.run("publisher_statements").processed == 0


def test_a_month_without_payments_still_closes_in_the_site_currency(settings):
    settings.CURRENCY = "eur"
    publisher = PublisherFactory()
    jobs.run("publisher_statements")
    statement = PublisherStatement.objects.get()
    assert (statement.publisher_id, statement.currency, statement.pool) == (publisher.pk, "eur", 0)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (999, "gbp", "9.99 GBP"),
        (9900, "usd", "99.00 USD"),
        (5, "eur", "0.05 EUR"),
        (0, "gbp", "0.00 GBP"),
        (1200, "jpy", "1,200 JPY"),  # zero-decimal currencies have no minor unit
        (123456, "chf", "1,234.56 CHF"),
        (-250, "gbp", "-2.50 GBP"),  # a refund
    ],
)
def test_money_is_formatted_in_one_place(amount, currency, shown):
    assert format_money(amount=amount, currency=currency) == shown


def test_run_job_command_lists_and_runs(capsys):
    call_command("run_job", "--list")
    listing = capsys.readouterr().out
    for name in (
        "expire_trials",
        "send_trial_reminders",
        "send_renewal_reminders",
        "publisher_statements",
        "prune_meter",
    ):
        assert name in listing
    call_command("run_job", "expire_trials")
    assert "expire_trials: 0 processed" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Unknown job"):
        call_command("run_job", "nope")


def test_the_scheduled_task_runs_the_same_job(django_capture_on_commit_callbacks):
    from subscriptions.tasks import run_job

    make_subscriptions(2, status="trialing", trial_ends_at=NOW - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_job.delay("expire_trials").get() == "expire_trials: 2 processed"
    assert len(mail.outbox) == 2


def test_a_lost_send_task_is_swept_up_and_nothing_is_sent_twice(
    django_capture_on_commit_callbacks,
):
    make_subscriptions(2, status="trialing", trial_ends_at=NOW - timedelta(hours=1))
    jobs.run("expire_trials")  # on-commit sends never run: as if the worker died
    assert len(mail.outbox) == 0
    assert jobs.run("send_notifications").processed == 2
    assert jobs.run("send_notifications").processed == 0
    assert len(mail.outbox) == 2


def test_every_job_is_its_own_task_with_its_own_limits_and_retries():
    from celery import current_app

    from config.celery_app import app

    visibility = app.conf.broker_transport_options.get("visibility_timeout", 3600)
    for name in jobs.JOBS:
        task = current_app.tasks[f"jobs.{name}"]
        assert task.soft_time_limit is not None and task.time_limit is not None, name
        assert 0 < task.soft_time_limit < task.time_limit < visibility, name
        # celery-types' Task does not declare the autoretry_for option the decorator sets.
        assert OperationalError in task.autoretry_for, name  # type: ignore[attr-defined]
        assert task.max_retries is not None, name
    # A job due every few seconds is not retried: its next run is sooner than a retry.
    assert current_app.tasks["jobs.flush_read_events"].max_retries == 0


def test_schedule_runs_each_jobs_own_task():
    from celery import current_app
    from django_celery_beat.models import PeriodicTask

    scheduled = {t.name: (t.task, t.args) for t in PeriodicTask.objects.all()}
    for name in jobs.JOBS:
        assert scheduled[f"job: {name}"] == (f"jobs.{name}", "[]")
    current_app.loader.import_default_modules()  # what a worker imports as it starts
    assert {task for task, _ in scheduled.values()} <= set(current_app.tasks)


def test_a_jobs_task_runs_the_job_like_run_job():
    from subscriptions.tasks import JOB_TASKS

    user = UserFactory()
    Subscription.objects.create(user=user, status="trialing", trial_ends_at=NOW - timedelta(1))
    assert JOB_TASKS["expire_trials"].delay().get() == "expire_trials: 1 processed"
    assert Subscription.objects.get(user=user).status == "expired"


def test_the_migration_moves_old_schedule_entries_to_the_jobs_own_tasks():
    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("subscriptions.migrations.0011_job_tasks")
    entries = PeriodicTask.objects
    entries.filter(name="job: prune_meter").update(task="jobs.run", args='["prune_meter"]')
    entries.filter(name="job: expire_trials").update(task="custom.by.ops", args="[]")

    migration.forward(apps, None)
    rows = {t.name: (t.task, t.args) for t in PeriodicTask.objects.all()}
    assert rows["job: prune_meter"] == ("jobs.prune_meter", "[]")
    assert rows["job: expire_trials"] == ("custom.by.ops", "[]")  # an ops edit is left alone

    migration.backward(apps, None)
    rows = {t.name: (t.task, t.args) for t in PeriodicTask.objects.all()}
    assert rows["job: prune_meter"] == ("jobs.run", '["prune_meter"]')
    assert rows["job: send_notifications"] == ("jobs.run", '["send_notifications"]')
