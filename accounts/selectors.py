"""Reads about a reader's account: is an email taken, and the `user` shape of the API."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.utils import timezone

from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors import entitlement_of, grace_ends_at

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
            "plan_name": sub.plan.name if sub and sub.plan else None,
            "trial_ends_at": sub.trial_ends_at if sub else None,
            "trial_days_left": trial_days_left(sub, now=now),
            "current_period_end": sub.current_period_end if sub else None,
            "cancel_at_period_end": sub.cancel_at_period_end if sub else False,
            "grace_ends_at": (
                grace_ends_at(sub, now=now)
                if sub and sub.status == SubscriptionStatus.PAST_DUE
                else None
            ),
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


EMAIL_MATCH_LIMIT = 50
PARTIAL_EMAIL = "part of the email"


def readers_matching_email(*, query: str) -> dict[int, str]:
    """Accounts for an ops search, by how they matched: the address in any case, the same
    person (any Gmail dot/+tag/googlemail.com variant, through their trial claim), or a
    part of the address. {user id: how}, at most EMAIL_MATCH_LIMIT."""
    q = query.strip()[:254]
    if not q:
        return {}
    hits: dict[int, str] = {}
    for pk in User.objects.filter(email__iexact=q).values_list("pk", flat=True):
        hits[pk] = "email"
    if "@" in q:
        claim = TrialClaim.objects.filter(identity_hash=identity_hash(q)).first()
        if claim is not None and claim.user_id:
            hits.setdefault(claim.user_id, "same person (normalised email)")
    partial = User.objects.filter(email__icontains=q).order_by("pk")
    for pk in partial.values_list("pk", flat=True)[:EMAIL_MATCH_LIMIT]:
        hits.setdefault(pk, PARTIAL_EMAIL)
    return dict(list(hits.items())[:EMAIL_MATCH_LIMIT])


def trial_claim_of(*, user_id: int) -> TrialClaim | None:
    """The reader's trial claim, with the article whose wall started it."""
    return TrialClaim.objects.filter(user_id=user_id).select_related("article").first()
