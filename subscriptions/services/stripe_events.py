"""The webhook event log: store each Stripe event once, process it, replay it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from ..billing.stripe_client import TemporaryBillingError
from ..models import StripeEvent, StripeEventStatus
from .bulk import insert_unless_exists
from .dispatch import PROCESS_STRIPE_EVENT, after_commit
from .stripe_handlers import HANDLERS

logger = logging.getLogger(__name__)
E = StripeEventStatus


def stripe_event_store(*, event: dict[str, Any]) -> StripeEvent | None:
    """Insert a verified event by its Stripe id. None when it was already stored.

    One statement that commits by itself (the unique Stripe id decides, also between
    concurrent deliveries). A type we do not handle is kept, status `ignored`. The caller
    enqueues processing.
    """
    stored = StripeEvent(
        stripe_id=event["id"],
        type=event["type"],
        payload=event,
        created=datetime.fromtimestamp(event["created"], tz=UTC),
        status=E.PENDING if event["type"] in HANDLERS else E.IGNORED,
    )
    return stored if insert_unless_exists(instance=stored, unique="stripe_id") else None


def stripe_event_process(*, event_pk: int) -> StripeEvent:
    """Run the handler of one stored event. Processed and ignored events are left alone.

    A failure is kept on the row (status `failed`, the error, attempts) for ops to replay;
    a temporary one is raised again so that the task retries with backoff.
    """
    event = StripeEvent.objects.get(pk=event_pk)
    if event.status in (E.PROCESSED, E.IGNORED):
        return event
    handler = HANDLERS.get(event.type)
    if handler is None:
        StripeEvent.objects.filter(pk=event.pk).update(status=E.IGNORED)
        event.status = E.IGNORED
        return event
    try:
        handler(event)
    except Exception as exc:
        StripeEvent.objects.filter(pk=event.pk).update(
            status=E.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            attempts=event.attempts + 1,
        )
        event.refresh_from_db()
        if isinstance(exc, TemporaryBillingError):
            raise
        logger.exception("stripe event %s (%s) failed", event.stripe_id, event.type)
        return event
    StripeEvent.objects.filter(pk=event.pk).update(
        status=E.PROCESSED, error="", processed_at=timezone.now(), attempts=event.attempts + 1
    )
    event.refresh_from_db()
    return event


def stripe_event_replay(*, event_id: str) -> StripeEvent:
    """Ops: process one stored event again (by Stripe's event id), whatever its status.
    Handlers converge, so replaying a processed event changes nothing that is current."""
    event = StripeEvent.objects.get(stripe_id=event_id)
    StripeEvent.objects.filter(pk=event.pk).update(status=E.PENDING)
    return stripe_event_process(event_pk=event.pk)


def stripe_events_requeue(
    *, older_than: timedelta = timedelta(minutes=10), limit: int = 500
) -> int:
    """Re-enqueue events still pending long after they arrived (their enqueue was lost,
    e.g. the broker was down at intake). Failed events wait for ops (replay). One query
    to find them; each is processed by the usual task after commit."""
    cutoff = timezone.now() - older_than
    pks = list(
        StripeEvent.objects.filter(status=E.PENDING, received_at__lt=cutoff)
        .order_by("created", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        after_commit(PROCESS_STRIPE_EVENT, pk, robust=True)
    return len(pks)
