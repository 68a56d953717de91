"""Thin Celery tasks: take names or ids, call one service, retry only transient errors."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import jobs, notifications

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


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
    name="notifications.send",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def send_notifications(kind: str, user_ids: list[int]) -> int:
    return notifications.send(kind=kind, user_ids=user_ids)
