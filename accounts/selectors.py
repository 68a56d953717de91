"""Reads about a reader's account: is an email taken, and the `user` shape of the API."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.utils import timezone

from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors import entitlement_of

from .identity import identity_hash
from .models import TrialClaim, User


def email_in_use(*, email: str) -> bool:
    """True when a live account has this address, or a live account's trial claim on one
    of its normalised variants (case, Gmail dots, `+tag`, quoting, IDN) still binds — an
    unverified claim whose account left the address does not (`TrialClaim.binds`)."""
    if User.objects.filter(email__iexact=email.strip()).exists():
        return True
    claim = (
        TrialClaim.objects.filter(identity_hash=identity_hash(email), user__isnull=False)
        .select_related("user")
        .first()
    )
    return claim is not None and claim.binds()


def trial_days_left(sub: Subscription | None, *, now: datetime) -> int | None:
    """Whole days (rounded up) until the trial ends; None when not in a trial."""
    if sub is None or sub.status != SubscriptionStatus.TRIALING or sub.trial_ends_at is None:
        return None
    seconds = (sub.trial_ends_at - now).total_seconds()
    return max(math.ceil(seconds / 86400), 0)


def account_summary(*, user: User, now: datetime | None = None) -> dict[str, Any]:
    """The API's `user`: email, subscription state and entitlement (two queries at most)."""
    now = now or timezone.now()
    sub = Subscription.objects.filter(user_id=user.pk).select_related("plan").first()
    entitlement = entitlement_of(sub, now=now)
    return {
        "email": user.email,
        "subscription": {
            "status": sub.status if sub else SubscriptionStatus.NONE.value,
            "status_display": _status_in_words(sub, entitled=entitlement.entitled),
            "plan": sub.plan.code if sub and sub.plan else None,
            "trial_ends_at": sub.trial_ends_at if sub else None,
            "trial_days_left": trial_days_left(sub, now=now),
            "current_period_end": sub.current_period_end if sub else None,
            "cancel_at_period_end": sub.cancel_at_period_end if sub else False,
            "billed_by_stripe": bool(sub and sub.stripe_subscription_id),
            "can_subscribe": _can_subscribe(sub),
        },
        "entitled": entitlement.entitled,
        "entitlement_reason": entitlement.reason,
        "email_verified": _email_verified(user),
    }


def _can_subscribe(sub: Subscription | None) -> bool:
    """Offer the plans unless the reader already has a live Stripe subscription or
    complimentary access."""
    if sub is None:
        return True
    return sub.status != SubscriptionStatus.COMPLIMENTARY and not sub.billed_by_stripe


def _status_in_words(sub: Subscription | None, *, entitled: bool) -> str:
    if sub is None:
        return str(SubscriptionStatus.NONE.label)
    if sub.status == SubscriptionStatus.TRIALING and not entitled:
        return str(SubscriptionStatus.EXPIRED.label)  # past its end, before the expiry job
    return str(sub.get_status_display())


def _email_verified(user: User) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(
        user_id=user.pk, email__iexact=user.email, verified=True
    ).exists()
