"""Thin Celery tasks: take names or ids, call one service, retry only transient errors."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError

from .billing.stripe_client import TemporaryBillingError
from .services import jobs, notifications
from .services.dispatch import DRAIN_STRIPE_EVENTS, PROCESS_STRIPE_EVENT, SEND_NOTIFICATIONS
from .services.stripe_events import (
    stripe_event_process,
    stripe_events_drain,
    stripe_events_retry,
)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, TemporaryBillingError)


@dataclass(frozen=True)
class JobLimits:
    """A scheduled job's task: soft and hard time limits (seconds; below the Redis
    broker's one-hour visibility timeout, past which an unacknowledged task is delivered
    again) and how often a transient failure is retried before the next scheduled run."""

    soft: int
    hard: int
    retries: int


JOB_LIMITS = {
    "flush_read_events": JobLimits(soft=30, hard=45, retries=0),  # every 10 s
    "send_notifications": JobLimits(soft=240, hard=270, retries=3),  # every 5 min
    "requeue_stripe_events": JobLimits(soft=240, hard=270, retries=3),  # every 5 min
    "expire_trials": JobLimits(soft=780, hard=840, retries=3),  # every 15 min
    "send_trial_reminders": JobLimits(soft=1500, hard=1620, retries=5),  # hourly
    "send_renewal_reminders": JobLimits(soft=1800, hard=1920, retries=5),  # daily
    "send_dunning_reminders": JobLimits(soft=1800, hard=1920, retries=5),  # daily
    "prune_meter": JobLimits(soft=1800, hard=1920, retries=5),  # daily
    "reconcile_stripe": JobLimits(soft=3300, hard=3480, retries=5),  # nightly
    "publisher_statements": JobLimits(soft=1800, hard=1920, retries=5),  # monthly
    "snapshot_metrics": JobLimits(soft=1800, hard=1920, retries=5),  # nightly
    "rollup_read_events": JobLimits(soft=3000, hard=3240, retries=3),  # nightly
}


def _job_task(name: str, limits: JobLimits) -> Task:
    """The task `jobs.<name>`: beat runs it, monitoring shows it by name."""

    def run_scheduled_job() -> str:
        return str(jobs.run(name))

    run_scheduled_job.__name__ = run_scheduled_job.__qualname__ = f"job_{name}"
    run_scheduled_job.__doc__ = jobs.JOBS[name].__doc__
    task: Task = shared_task(
        name=f"jobs.{name}",
        autoretry_for=TRANSIENT,
        retry_backoff=True,
        retry_backoff_max=600,
        max_retries=limits.retries,
        soft_time_limit=limits.soft,
        time_limit=limits.hard,
        ignore_result=True,
    )(run_scheduled_job)
    return task


# A job not listed above gets the app's defaults (config/celery_app.py).
DEFAULT_LIMITS = JobLimits(soft=540, hard=600, retries=3)
JOB_TASKS = {name: _job_task(name, JOB_LIMITS.get(name, DEFAULT_LIMITS)) for name in jobs.JOBS}


@shared_task(
    name="jobs.run",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
    ignore_result=True,
)
def run_job(name: str) -> str:
    """Any job by name. Beat runs each job's own task (`jobs.<name>`); this one still runs
    messages queued under the old single name."""
    return str(jobs.run(name))


@shared_task(
    name=SEND_NOTIFICATIONS,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def send_notifications(
    kind: str, user_ids: list[int] | None, notification_ids: list[int] | None = None
) -> int:
    return notifications.send(kind=kind, user_ids=user_ids, notification_ids=notification_ids)


@shared_task(
    name=PROCESS_STRIPE_EVENT,
    autoretry_for=(TemporaryBillingError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def process_stripe_event(event_pk: int) -> None:
    stripe_event_process(event_pk=event_pk)


@shared_task(
    bind=True,
    name=DRAIN_STRIPE_EVENTS,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
)
def drain_stripe_events(self: Task, event_pks: list[int] | None = None) -> int:
    """Process the pending webhook events (woken by intake), or, on a retry, the events
    that failed for a temporary reason: those are retried with backoff, up to 8 times."""
    result = stripe_events_retry(event_pks=event_pks) if event_pks else stripe_events_drain()
    if result.temporary:
        retries = self.request.retries
        raise self.retry(
            kwargs={"event_pks": result.temporary},
            countdown=get_exponential_backoff_interval(5, retries, 600, full_jitter=True),
            exc=TemporaryBillingError(f"{len(result.temporary)} events to retry"),
        )
    return result.processed
