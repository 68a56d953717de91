"""Thin Celery tasks: take names or ids, call one service, retry only transient errors."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .billing.stripe_client import TemporaryBillingError
from .services import jobs, notifications
from .services.dispatch import PROCESS_STRIPE_EVENT, SEND_NOTIFICATIONS
from .services.stripe_events import stripe_event_process

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, TemporaryBillingError)


@shared_task(
    name="jobs.run",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
    ignore_result=True,
)
def run_job(name: str) -> str:
    """Beat schedules this with a job's name (see the seeded PeriodicTasks)."""
    return str(jobs.run(name))


@shared_task(
    name=SEND_NOTIFICATIONS,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def send_notifications(kind: str, user_ids: list[int]) -> int:
    return notifications.send(kind=kind, user_ids=user_ids)


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
