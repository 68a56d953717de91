"""Thin Celery tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from .billing.stripe_client import TemporaryBillingError
from .services.billing import stripe_reconcile
from .services.stripe_events import stripe_event_process, stripe_events_requeue


@shared_task(
    autoretry_for=(TemporaryBillingError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def process_stripe_event(event_pk: int) -> None:
    stripe_event_process(event_pk=event_pk)


@shared_task
def requeue_stripe_events() -> int:
    """Beat: pick up webhook events whose processing was never enqueued."""
    return stripe_events_requeue()


@shared_task(
    autoretry_for=(TemporaryBillingError,), retry_backoff=60, retry_backoff_max=3600, max_retries=5
)
def reconcile_stripe() -> dict[str, int]:
    """Nightly: repair drift from Stripe (missed webhooks) and report it."""
    report = stripe_reconcile()
    return {"checked": report.checked, "repaired": report.repaired, "unknown": report.unknown}
