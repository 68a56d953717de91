"""Complimentary access, granted and ended by staff (press, partners, goodwill)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from ..models import Subscription, SubscriptionStatus
from ..vocabulary import AuditAction, AuditSource
from .transitions import transition

S = SubscriptionStatus


def complimentary_grant(
    *,
    subscription_id: int,
    days: int | None,
    actor_id: int | None,
    now: datetime | None = None,
    until: datetime | None = None,
) -> Subscription:
    """Full access for `days`, or until `until` (neither: until ended). Refused while
    Stripe bills the reader, who would otherwise pay for what they are given."""
    if days is not None and days < 1:
        raise ApplicationError("Complimentary access lasts at least a day.", code="bad_days")
    now = now or timezone.now()
    if until is not None and until <= now:
        raise ApplicationError("Complimentary access must end in the future.", code="bad_date")
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if sub.billed_by_stripe:
            raise ApplicationError(
                "Stripe bills this reader: cancel the Stripe subscription first.",
                code="billed_by_stripe",
                status_code=409,
            )
        return transition(
            subscription_id=sub.pk,
            to=S.COMPLIMENTARY,
            source=AuditSource.OPS,
            action=AuditAction.SUBSCRIPTION_COMPLIMENTARY_GRANTED,
            actor_id=actor_id,
            detail={"days": days},
            now=now,
            complimentary_until=until or (now + timedelta(days=days) if days else None),
        )


def complimentary_end(
    *, subscription_id: int, actor_id: int | None, now: datetime | None = None
) -> Subscription:
    """End complimentary access now: `canceled`."""
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if sub.status != S.COMPLIMENTARY:
            raise ApplicationError(
                "This reader has no complimentary access.", code="not_complimentary"
            )
        return transition(
            subscription_id=sub.pk,
            to=S.CANCELED,
            source=AuditSource.OPS,
            action=AuditAction.SUBSCRIPTION_CANCELED,
            actor_id=actor_id,
            now=now,
            complimentary_until=None,
        )
