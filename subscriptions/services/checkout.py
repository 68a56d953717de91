"""Stripe Checkout: start a session for a plan, and link what a completed one made."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import status as http

from config.exceptions import ApplicationError
from config.links import absolute_url

from ..billing.stripe_client import (
    BillingObjectMissing,
    TemporaryBillingError,
    stripe_client,
    stripe_client_or_none,
    to_stripe_time,
)
from ..models import BillingCustomer, Plan, Subscription, SubscriptionStatus
from ..readers import Reader
from ..selectors import reader_by_reference
from ..vocabulary import AuditAction, AuditSource, CheckoutReturn
from .card_trials import trial_abuse_check
from .customers import billing_customer_ensure
from .stripe_sync import STRIPE_STATUS_MAP, SubscriptionNotLinked, subscription_sync_from_stripe
from .transitions import subscription_for_user, transition

S = SubscriptionStatus

# Stripe wants a Checkout trial to end at least 48 hours ahead; closer than that we defer
# the first charge with the billing-cycle anchor instead.
CHECKOUT_MIN_TRIAL = timedelta(hours=48)
# A Checkout Session id as Stripe makes them ("cs_test_…", "cs_live_…").
CHECKOUT_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{4,250}$")


def checkout_start(*, user: Reader, plan_code: str, now: datetime | None = None) -> str:
    """A Stripe Checkout session (subscription mode) for this reader and plan; its URL.

    A reader still in the local trial gets a Stripe trial ending with it, so nothing is
    charged before the trial's end.
    """
    plan = Plan.objects.filter(
        code=plan_code or "", is_active=True, stripe_price_id__isnull=False
    ).first()
    if plan is None or not plan.stripe_price_id:
        raise ApplicationError("Unknown plan.", code="unknown_plan")
    client = stripe_client()
    now = now or timezone.now()
    sub = subscription_for_user(user_id=user.pk)
    if sub.billed_by_stripe:
        raise ApplicationError(
            "You already have a subscription: manage it in the billing portal.",
            code="already_subscribed",
            status_code=http.HTTP_409_CONFLICT,
        )
    customer = billing_customer_ensure(user=user, client=client)
    subscription_data: dict[str, Any] = {"metadata": {"user_id": str(user.pk)}}
    if sub.status == S.NONE and settings.TRIAL_REQUIRES_CARD:
        # Ops require a card for trials: the trial starts through Checkout (once per
        # reader; a card already used for a trial is refused when checkout completes).
        subscription_data["trial_period_days"] = settings.TRIAL_DAYS
    elif sub.status == S.TRIALING and sub.trial_ends_at and sub.trial_ends_at > now:
        if sub.trial_ends_at - now >= CHECKOUT_MIN_TRIAL:
            subscription_data["trial_end"] = to_stripe_time(sub.trial_ends_at)
        else:
            subscription_data["billing_cycle_anchor"] = to_stripe_time(sub.trial_ends_at)
            subscription_data["proration_behavior"] = "none"
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.stripe_customer_id,
        "client_reference_id": str(user.pk),
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "subscription_data": subscription_data,
        "metadata": {"user_id": str(user.pk), "plan": plan.code},
        "success_url": absolute_url(
            "subscriptions:checkout-success", query="session_id={CHECKOUT_SESSION_ID}"
        ),
        "cancel_url": absolute_url("subscriptions:checkout-cancel"),
    }
    # The same request within the hour is the same session (Stripe replays the answer).
    fingerprint = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:16]
    attempt = f"{to_stripe_time(now) // 3600}:{fingerprint}"
    session = client.checkout_session_create(
        params=params, idempotency_key=f"checkout:{user.pk}:{attempt}"
    )
    return str(session["url"])


def checkout_completed(
    *, session: Mapping[str, Any], event_created: datetime, event_id: str
) -> Subscription | None:
    """Link the Customer and the Stripe subscription to the reader of
    `client_reference_id`; then converge and refuse a second trial on a known card."""
    user_id = str(session.get("client_reference_id") or "")
    user = reader_by_reference(reference=user_id)
    if user is None:
        raise SubscriptionNotLinked(f"checkout session {session.get('id')} names no reader")
    customer_id = session.get("customer")
    if isinstance(customer_id, str) and customer_id:
        BillingCustomer.objects.get_or_create(
            stripe_customer_id=customer_id, defaults={"user": user}
        )
    stripe_sub_id = session.get("subscription")
    if not isinstance(stripe_sub_id, str) or not stripe_sub_id:
        return None
    sub = subscription_for_user(user_id=user.pk)
    client = stripe_client_or_none()
    if client is None:
        if sub.stripe_subscription_id == stripe_sub_id or sub.billed_by_stripe:
            return sub  # linked already, or (old news) another live subscription is
        # Another reader's row holding this id fails on the unique column: kept for ops.
        return transition(
            subscription_id=sub.pk,
            to=sub.status,
            source=AuditSource.STRIPE,
            action=AuditAction.STRIPE_LINKED,
            detail={"stripe_event": event_id},
            stripe_subscription_id=stripe_sub_id,
        )
    fresh: Mapping[str, Any] = client.subscription_retrieve(stripe_sub_id)
    if STRIPE_STATUS_MAP.get(str(fresh.get("status"))) == S.TRIALING:
        fresh = trial_abuse_check(user=user, stripe_subscription=fresh, client=client)
    return subscription_sync_from_stripe(stripe_subscription=fresh, event_at=event_created)


def checkout_return(*, user: Reader, session_id: str) -> CheckoutReturn:
    """What the reader's return from Checkout (`success_url`, with Stripe's session id)
    means, as Stripe says of the session: paid, a trial started (nothing to pay), still
    being confirmed (not complete yet, an asynchronous payment, or Stripe unreachable
    just now), or expired unpaid. Reads only: the webhooks make the subscription.

    Raises ApplicationError: 400 `checkout_session_invalid` (no or a malformed id), 404
    `checkout_session_unknown` (Stripe knows no such session, or it is another reader's:
    the same answer, so ids cannot be probed), 503 when billing is not configured."""
    if not CHECKOUT_SESSION_ID.match(session_id or ""):
        raise ApplicationError(
            "This link is incomplete: it does not say which checkout it returns from.",
            code="checkout_session_invalid",
            status_code=http.HTTP_400_BAD_REQUEST,
        )
    unknown = ApplicationError(
        "We could not find that checkout for your account.",
        code="checkout_session_unknown",
        status_code=http.HTTP_404_NOT_FOUND,
    )
    client = stripe_client()
    try:
        session = client.checkout_session_retrieve(session_id)
    except BillingObjectMissing:
        raise unknown from None
    except TemporaryBillingError:
        return CheckoutReturn.CONFIRMING
    if str(session.get("client_reference_id") or "") != str(user.pk):
        raise unknown
    if session.get("status") == "expired":
        return CheckoutReturn.EXPIRED
    if session.get("status") != "complete":
        return CheckoutReturn.CONFIRMING
    if session.get("payment_status") == "paid":
        return CheckoutReturn.PAID
    if session.get("payment_status") == "no_payment_required":
        return CheckoutReturn.TRIAL
    return CheckoutReturn.CONFIRMING
