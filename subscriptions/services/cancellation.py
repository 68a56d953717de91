"""The reader cancels or resumes: through Stripe when Stripe bills them, else the local
trial ends at once (the one path: `trials.trial_cancel`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework import status as http

from config.exceptions import ApplicationError

from ..billing.stripe_client import stripe_client, to_stripe_time
from ..models import Subscription, SubscriptionStatus
from ..readers import Reader
from ..vocabulary import AuditSource
from .stripe_sync import subscription_sync_from_stripe
from .transitions import subscription_for_user
from .trials import trial_cancel

S = SubscriptionStatus


def subscription_cancel(
    *,
    user: Reader,
    now: datetime | None = None,
    source: AuditSource = AuditSource.READER,
    actor_id: int | None = None,
) -> Subscription:
    """Cancel at period end through Stripe; a local trial without Stripe ends at once.
    (Staff call it too, with their own source and id.)"""
    now = now or timezone.now()
    sub = subscription_for_user(user_id=user.pk)
    stripe_id = sub.stripe_subscription_id
    if sub.billed_by_stripe and stripe_id:
        stripe_sub = stripe_client().subscription_update(
            stripe_id,
            params={"cancel_at_period_end": True},
            idempotency_key=f"cancel:{stripe_id}:{to_stripe_time(now) // 60}",
        )
        return subscription_sync_from_stripe(stripe_subscription=stripe_sub, source=source)
    if sub.status == S.TRIALING:
        return trial_cancel(user=user, now=now, source=source, actor_id=actor_id)
    raise ApplicationError(
        "There is no subscription to cancel.",
        code="nothing_to_cancel",
        status_code=http.HTTP_409_CONFLICT,
    )


def subscription_resume(*, user: Reader, now: datetime | None = None) -> Subscription:
    """Undo a cancel-at-period-end before the period ends."""
    now = now or timezone.now()
    sub = subscription_for_user(user_id=user.pk)
    stripe_id = sub.stripe_subscription_id
    if not (sub.billed_by_stripe and stripe_id and sub.cancel_at_period_end):
        raise ApplicationError(
            "There is no cancellation to undo.",
            code="nothing_to_resume",
            status_code=http.HTTP_409_CONFLICT,
        )
    stripe_sub = stripe_client().subscription_update(
        stripe_id,
        params={"cancel_at_period_end": False},
        idempotency_key=f"resume:{stripe_id}:{to_stripe_time(now) // 60}",
    )
    return subscription_sync_from_stripe(stripe_subscription=stripe_sub, source=AuditSource.READER)
