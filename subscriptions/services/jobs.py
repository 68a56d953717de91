"""The clock's work. Each job is idempotent (a rerun changes and sends nothing twice),
batched (a constant number of queries per chunk of JOB_CHUNK_SIZE rows) and killable
(each chunk commits on its own; a rerun finishes what a killed run left)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from config.exceptions import ApplicationError

from ..models import (
    DriftReport,
    JobRun,
    MeterEntry,
    PlanInterval,
    Subscription,
    SubscriptionStatus,
)
from ..money import format_money
from ..vocabulary import AuditAction, AuditSource, NotificationKind
from . import notifications, statements
from .transitions import transition_many

S = SubscriptionStatus


@dataclass(frozen=True)
class JobResult:
    name: str
    processed: int
    detail: dict[str, Any]

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.name}: {self.processed} processed" + (f" ({extra})" if extra else "")


def _chunks(qs: QuerySet[Any], fields: tuple[str, ...], size: int) -> Iterator[list[tuple]]:
    """Keyset pagination by primary key: one query per chunk, safe while rows change."""
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:size])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def date_text(field: str) -> Cast:
    """A datetime column as its "YYYY-MM-DD" date, computed by the database."""
    return Cast(TruncDate(field), output_field=CharField())


def _size(chunk_size: int | None) -> int:
    return chunk_size or settings.JOB_CHUNK_SIZE


def expire_trials(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """Local trials past their end (no Stripe subscription) become `expired`; each
    reader is told once. Stripe trials end through Stripe's own events."""
    now = now or timezone.now()
    due = Subscription.objects.local_trials().filter(trial_ends_at__lte=now)
    expired = 0
    while True:
        with transaction.atomic():
            moved = transition_many(
                candidates=due,
                limit=_size(chunk_size),
                from_status=S.TRIALING,
                to=S.EXPIRED,
                source=AuditSource.JOB,
                action=AuditAction.TRIAL_EXPIRED,
                now=now,
            )
            if not moved:
                break
            notifications.owe_from(
                kind=NotificationKind.TRIAL_EXPIRED,
                subscriptions=Subscription.objects.filter(pk__in=[pk for pk, _ in moved]),
                period=date_text("trial_ends_at"),
                now=now,
            )
            notifications.enqueue(
                kind=NotificationKind.TRIAL_EXPIRED, user_ids=[user for _, user in moved if user]
            )
        expired += len(moved)
    return JobResult("expire_trials", expired, {})


def _remind(
    *,
    name: str,
    kind: NotificationKind,
    due: QuerySet[Subscription],
    fields: tuple[str, ...],
    period: Callable[[tuple], str],
    context: Callable[[tuple], dict[str, Any]],
    now: datetime,
    chunk_size: int | None,
) -> JobResult:
    owed_total = 0
    for rows in _chunks(due, ("user_id", *fields), _size(chunk_size)):
        owed = [(row[1], period(row), context(row)) for row in rows if row[1]]
        with transaction.atomic():
            notifications.owe(kind=kind, entries=owed, now=now)
            notifications.enqueue(kind=kind, user_ids=[u for u, _, _ in owed])
        owed_total += len(owed)
    return JobResult(name, owed_total, {})


def send_trial_reminders(
    *, now: datetime | None = None, chunk_size: int | None = None
) -> JobResult:
    """TRIAL_REMINDER_DAYS before a local trial ends (Stripe trials: trial_will_end)."""
    now = now or timezone.now()
    due = Subscription.objects.local_trials().filter(
        trial_ends_at__gt=now,
        trial_ends_at__lte=now + timedelta(days=settings.TRIAL_REMINDER_DAYS),
    )
    return _remind(
        name="send_trial_reminders",
        kind=NotificationKind.TRIAL_ENDING,
        due=due,
        fields=("trial_ends_at",),
        period=lambda row: f"{row[2]:%Y-%m-%d}",
        context=lambda row: {},
        now=now,
        chunk_size=chunk_size,
    )


def send_renewal_reminders(
    *, now: datetime | None = None, chunk_size: int | None = None
) -> JobResult:
    """RENEWAL_REMINDER_DAYS before a yearly plan renews by itself (auto-renewal notice)."""
    now = now or timezone.now()
    due = Subscription.objects.filter(
        status=S.ACTIVE,
        plan__interval=PlanInterval.YEAR,
        cancel_at_period_end=False,
        current_period_end__gt=now,
        current_period_end__lte=now + timedelta(days=settings.RENEWAL_REMINDER_DAYS),
    )
    return _remind(
        name="send_renewal_reminders",
        kind=NotificationKind.RENEWAL_NOTICE,
        due=due,
        fields=("current_period_end", "plan__amount", "plan__currency"),
        period=lambda row: f"{row[2]:%Y-%m-%d}",
        context=lambda row: {"amount": format_money(amount=row[3], currency=str(row[4]))},
        now=now,
        chunk_size=chunk_size,
    )


def send_dunning_reminders(
    *, now: datetime | None = None, chunk_size: int | None = None
) -> JobResult:
    """Reminders while a failed payment is inside its grace period, once per step."""
    now = now or timezone.now()
    grace = timedelta(days=settings.GRACE_PERIOD_DAYS)
    total = 0
    for day in settings.DUNNING_REMINDER_DAYS:
        due = Subscription.objects.filter(
            status=S.PAST_DUE,
            past_due_since__lte=now - timedelta(days=day),
            past_due_since__gt=now - grace,
        )
        result = _remind(
            name="send_dunning_reminders",
            kind=NotificationKind.DUNNING,
            due=due,
            fields=("past_due_since",),
            period=functools.partial(_dunning_period, day=day),
            context=lambda row: {"grace_ends": f"{row[2] + grace:%Y-%m-%d}"},
            now=now,
            chunk_size=chunk_size,
        )
        total += result.processed
    return JobResult("send_dunning_reminders", total, {})


def _dunning_period(row: tuple, *, day: int) -> str:
    return f"{row[2]:%Y-%m-%d}:day{day}"


def prune_meter(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """Drop meter rows from windows long past (the current and the previous windows stay),
    and the read rollup's rows of days older than the rule simulator's 30 days."""
    from . import read_rollup

    now = now or timezone.now()
    if settings.METER_WINDOW == "rolling":
        cutoff = now - timedelta(days=settings.METER_ROLLING_DAYS * settings.METER_KEEP_WINDOWS)
        old = MeterEntry.objects.filter(created_at__lt=cutoff)
    else:
        month = date(now.year, now.month, 1)
        for _ in range(settings.METER_KEEP_WINDOWS - 1):
            month = (month - timedelta(days=1)).replace(day=1)
        old = MeterEntry.objects.filter(window_start__lt=month)
    deleted = 0
    for rows in _chunks(old, (), _size(chunk_size)):
        deleted += MeterEntry.objects.filter(pk__in=[row[0] for row in rows]).delete()[0]
    rollup = read_rollup.prune(now=now, chunk_size=_size(chunk_size))
    return JobResult("prune_meter", deleted + sum(rollup.values()), {"meter": deleted, **rollup})


def flush_read_events(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    from ..paywall import events, rollup

    written = events.flush()
    rollup.apply_pending()  # the direct sink records events one view at a time
    return JobResult("flush_read_events", written, {})


def rollup_read_events(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """Bring the read rollup up to date: apply pending batches, rebuild changed titles."""
    from . import read_rollup

    detail = read_rollup.rollup_stale_titles()
    return JobResult("rollup_read_events", detail["rebuilt"], detail)


def send_notifications(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """A sweep for owed emails whose send task was lost (e.g. a worker killed between
    commit and enqueue)."""
    return JobResult("send_notifications", notifications.send(limit=_size(chunk_size)), {})


def publisher_statements(
    *, now: datetime | None = None, chunk_size: int | None = None
) -> JobResult:
    """Last month's statements (a rerun leaves written statements as they are)."""
    now = now or timezone.now()
    first_of_this_month = date(now.year, now.month, 1)
    month = (first_of_this_month - timedelta(days=1)).replace(day=1)
    written = statements.write_month(month=month, now=now)
    return JobResult("publisher_statements", written, {"month": f"{month:%Y-%m}"})


def reconcile_stripe(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """Compare every Stripe subscription with ours, repair drift, keep a report for ops."""
    from ..billing.stripe_client import PermanentBillingError
    from .reconcile import stripe_reconcile

    ran_at = now or timezone.now()
    try:
        report = stripe_reconcile(page_size=min(_size(chunk_size), 100))
    except (PermanentBillingError, ApplicationError) as exc:  # temporary ones: retried
        DriftReport.objects.create(ran_at=ran_at, error=str(exc))
        return JobResult("reconcile_stripe", 0, {"error": str(exc)})
    DriftReport.objects.create(
        ran_at=ran_at,
        checked=report.checked,
        repaired=report.repaired,
        unknown=report.unknown,
        drift=report.drift,
    )
    return JobResult(
        "reconcile_stripe",
        report.checked,
        {"repaired": report.repaired, "unknown": report.unknown},
    )


def requeue_stripe_events(
    *, now: datetime | None = None, chunk_size: int | None = None
) -> JobResult:
    """Drain webhook events left pending: their wake was lost (the sweep)."""
    from .stripe_events import stripe_events_requeue

    return JobResult("requeue_stripe_events", stripe_events_requeue(), {})


def snapshot_metrics(*, now: datetime | None = None, chunk_size: int | None = None) -> JobResult:
    """Daily metric snapshots up to yesterday, back-filling missing days from the history."""
    from .snapshots import snapshots_catch_up

    return JobResult("snapshot_metrics", snapshots_catch_up(now=now), {})


JOBS: dict[str, Callable[..., JobResult]] = {
    "expire_trials": expire_trials,
    "send_trial_reminders": send_trial_reminders,
    "send_renewal_reminders": send_renewal_reminders,
    "send_dunning_reminders": send_dunning_reminders,
    "publisher_statements": publisher_statements,
    "prune_meter": prune_meter,
    "flush_read_events": flush_read_events,
    "rollup_read_events": rollup_read_events,
    "send_notifications": send_notifications,
    "reconcile_stripe": reconcile_stripe,
    "requeue_stripe_events": requeue_stripe_events,
    "snapshot_metrics": snapshot_metrics,
}


JOB_RUNS_KEPT = timedelta(days=7)


def run(name: str, **kwargs: Any) -> JobResult:
    """Run a job by name and record the run (start, end, result) for the dashboard."""
    try:
        job = JOBS[name]
    except KeyError:
        raise ValueError(f"Unknown job {name!r}; known: {', '.join(sorted(JOBS))}") from None
    record = JobRun.objects.create(name=name, started_at=timezone.now())
    try:
        result = job(**kwargs)
    except Exception as exc:
        JobRun.objects.filter(pk=record.pk).update(
            finished_at=timezone.now(), ok=False, result=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    JobRun.objects.filter(pk=record.pk).update(
        finished_at=timezone.now(), ok=True, result=str(result)[:2000]
    )
    # Keep a week of runs: flush_read_events alone runs every ten seconds.
    JobRun.objects.filter(name=name, started_at__lt=record.started_at - JOB_RUNS_KEPT).delete()
    return result
