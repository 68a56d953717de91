"""One trial per card: a card that already had a Stripe trial gets no second one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from ..billing.stripe_client import StripeClient
from ..models import AuditEntry, CardFingerprint
from ..readers import Reader
from ..vocabulary import AuditAction, AuditSource
from .transitions import subscription_for_user


def trial_abuse_check(
    *, user: Reader, stripe_subscription: Mapping[str, Any], client: StripeClient
) -> Mapping[str, Any]:
    """A card that already had a trial under another account gets no second one: the
    Stripe trial ends now. Returns the (possibly updated) Stripe subscription."""
    fingerprint = client.card_fingerprint(subscription=stripe_subscription)
    if not fingerprint:
        return stripe_subscription
    record, _ = CardFingerprint.objects.get_or_create(
        fingerprint=fingerprint, defaults={"user": user}
    )
    if record.user_id is None or record.user_id == user.pk:
        return stripe_subscription
    stripe_id = str(stripe_subscription["id"])
    updated = client.subscription_update(
        stripe_id,
        params={"trial_end": "now", "proration_behavior": "none"},
        idempotency_key=f"trial-refused:{stripe_id}",
    )
    sub = subscription_for_user(user_id=user.pk)
    AuditEntry.objects.create(
        subscription=sub,
        at=timezone.now(),
        action=AuditAction.TRIAL_REFUSED_CARD_REUSED,
        from_status=sub.status,
        to_status=sub.status,
        source=AuditSource.STRIPE,
        detail={"stripe_subscription": stripe_id, "first_user": record.user_id},
    )
    return updated
