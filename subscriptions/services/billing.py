"""Billing services: Checkout, the Customer Portal, cancel/resume, and converging our
subscription rows on Stripe's state. Status changes go through `transition()` only."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status as http

from accounts.models import User
from config.exceptions import ApplicationError

from ..billing.stripe_client import (
    StripeClient,
    stripe_client,
    stripe_client_or_none,
    subscription_period,
    subscription_price_id,
)
from ..models import (
    AuditEntry,
    BillingCustomer,
    BillingNotice,
    CardFingerprint,
    Payment,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from .transitions import subscription_for_user, transition

S = SubscriptionStatus
logger = logging.getLogger(__name__)

# Stripe's subscription status -> ours. Anything else (incomplete, paused) changes nothing.
STRIPE_STATUS_MAP: dict[str, str] = {
    "trialing": S.TRIALING,
    "active": S.ACTIVE,
    "past_due": S.PAST_DUE,
    "unpaid": S.PAST_DUE,
    "canceled": S.CANCELED,
    "incomplete_expired": S.CANCELED,
}
# Stripe wants a Checkout trial to end at least 48 hours ahead; closer than that we defer
# the first charge with the billing-cycle anchor instead.
CHECKOUT_MIN_TRIAL = timedelta(hours=48)
LIVE_STATUSES = {S.TRIALING, S.ACTIVE, S.PAST_DUE}


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _unix(value: datetime) -> int:
    return int(value.timestamp())


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- customers ---------------------------------------------------------------------------
def billing_customer_ensure(*, user: User, client: StripeClient) -> BillingCustomer:
    """The reader's Stripe Customer, created once (a retry reuses the idempotency key)."""
    existing = BillingCustomer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    customer_id = client.customer_create(
        email=user.email, user_id=user.pk, idempotency_key=f"customer:{user.pk}"
    )
    try:
        with transaction.atomic():
            return BillingCustomer.objects.create(user=user, stripe_customer_id=customer_id)
    except IntegrityError:
        return BillingCustomer.objects.get(stripe_customer_id=customer_id)


# --- checkout, portal, cancel, resume ------------------------------------------------------
def checkout_start(*, user: User, plan_code: str, now: datetime | None = None) -> str:
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
    if sub.stripe_subscription_id and sub.status in LIVE_STATUSES:
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
            subscription_data["trial_end"] = _unix(sub.trial_ends_at)
        else:
            subscription_data["billing_cycle_anchor"] = _unix(sub.trial_ends_at)
            subscription_data["proration_behavior"] = "none"
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.stripe_customer_id,
        "client_reference_id": str(user.pk),
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "subscription_data": subscription_data,
        "metadata": {"user_id": str(user.pk), "plan": plan.code},
        "success_url": site_url("/billing/success/") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": site_url("/billing/cancel/"),
    }
    # The same request within the hour is the same session (Stripe replays the answer).
    fingerprint = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:16]
    attempt = f"{_unix(now) // 3600}:{fingerprint}"
    session = client.checkout_session_create(
        params=params, idempotency_key=f"checkout:{user.pk}:{attempt}"
    )
    return str(session["url"])


def portal_start(*, user: User) -> str:
    client = stripe_client()
    customer = BillingCustomer.objects.filter(user=user).first()
    if customer is None:
        raise ApplicationError(
            "You have no billing account yet: choose a plan first.",
            code="no_billing_account",
            status_code=http.HTTP_409_CONFLICT,
        )
    return client.portal_session_create(
        customer_id=customer.stripe_customer_id,
        return_url=site_url("/account/"),
        # A portal session lives a few minutes: the same minute, the same session.
        idempotency_key=f"portal:{user.pk}:{int(timezone.now().timestamp()) // 60}",
    )


def subscription_cancel(*, user: User, now: datetime | None = None) -> Subscription:
    """Cancel at period end through Stripe; a local trial without Stripe ends at once."""
    now = now or timezone.now()
    sub = subscription_for_user(user_id=user.pk)
    if sub.stripe_subscription_id and sub.status in LIVE_STATUSES:
        client = stripe_client()
        stripe_sub = client.subscription_update(
            sub.stripe_subscription_id,
            params={"cancel_at_period_end": True},
            idempotency_key=f"cancel:{sub.stripe_subscription_id}:{_unix(now) // 60}",
        )
        return subscription_sync_from_stripe(stripe_subscription=stripe_sub, source="reader")
    if sub.status == S.TRIALING:
        return transition(
            subscription_id=sub.pk,
            to=S.CANCELED,
            source="reader",
            action="trial_canceled",
            actor_id=user.pk,
            now=now,
        )
    raise ApplicationError(
        "There is no subscription to cancel.",
        code="nothing_to_cancel",
        status_code=http.HTTP_409_CONFLICT,
    )


def subscription_resume(*, user: User, now: datetime | None = None) -> Subscription:
    """Undo a cancel-at-period-end before the period ends."""
    now = now or timezone.now()
    sub = subscription_for_user(user_id=user.pk)
    if not (
        sub.stripe_subscription_id and sub.cancel_at_period_end and sub.status in LIVE_STATUSES
    ):
        raise ApplicationError(
            "There is no cancellation to undo.",
            code="nothing_to_resume",
            status_code=http.HTTP_409_CONFLICT,
        )
    client = stripe_client()
    stripe_sub = client.subscription_update(
        sub.stripe_subscription_id,
        params={"cancel_at_period_end": False},
        idempotency_key=f"resume:{sub.stripe_subscription_id}:{_unix(now) // 60}",
    )
    return subscription_sync_from_stripe(stripe_subscription=stripe_sub, source="reader")


# --- converging on Stripe ------------------------------------------------------------------
def _subscription_for_stripe(
    *, stripe_subscription_id: str | None, customer_id: str | None, user_id: str | None
) -> Subscription | None:
    if stripe_subscription_id:
        found = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
        if found is not None:
            return found
    if customer_id:
        customer = BillingCustomer.objects.filter(stripe_customer_id=customer_id).first()
        if customer is not None and customer.user_id is not None:
            return subscription_for_user(user_id=customer.user_id)
    if user_id and user_id.isdigit() and User.objects.filter(pk=int(user_id)).exists():
        return subscription_for_user(user_id=int(user_id))
    return None


class SubscriptionNotLinked(Exception):
    """A Stripe subscription we cannot tie to a reader (yet)."""


def _is_newer(sub: Subscription, *, at: datetime, event_id: str) -> bool:
    """Order events by (Stripe created, event id): deterministic, whatever the arrival."""
    if sub.stripe_synced_at is None:
        return True
    return (at, event_id) > (sub.stripe_synced_at, sub.stripe_synced_event)


def _apply(
    *,
    sub: Subscription,
    to: str | None,
    fields: dict[str, Any],
    at: datetime,
    event_id: str,
    source: str,
    action: str,
) -> Subscription:
    """Apply Stripe-derived state under the transition lock, unless it is stale."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=sub.pk)
        target = to or locked.status
        if not _is_newer(locked, at=at, event_id=event_id):
            # Stale: never roll back. A stale past-due hint may still date the episode
            # earlier (the grace period counts from the first failure we know of).
            if (
                target == S.PAST_DUE
                and locked.status == S.PAST_DUE
                and locked.past_due_since
                and at < locked.past_due_since
            ):
                return transition(
                    subscription_id=locked.pk,
                    to=S.PAST_DUE,
                    source=source,
                    action="past_due_dated",
                    past_due_since=at,
                )
            return locked
        changes = dict(fields)
        if target == S.PAST_DUE:
            if locked.status == S.PAST_DUE and locked.past_due_since:
                changes["past_due_since"] = min(locked.past_due_since, at)
            else:
                changes["past_due_since"] = at
        else:
            changes["past_due_since"] = None
        changes["stripe_synced_at"] = at
        changes["stripe_synced_event"] = event_id
        return transition(
            subscription_id=locked.pk,
            to=target,
            source=source,
            action=action,
            detail={"stripe_event": event_id},
            **changes,
        )


def subscription_sync_from_stripe(
    *,
    stripe_subscription: Mapping[str, Any],
    event_created: datetime | None = None,
    event_id: str = "",
    source: str = "stripe",
) -> Subscription:
    """Make our row say what this Stripe subscription says (if it is not older than what
    we already applied). Without an event, the object is fresh from the API: now."""
    stripe_id = str(stripe_subscription["id"])
    metadata = stripe_subscription.get("metadata") or {}
    customer = stripe_subscription.get("customer")
    sub = _subscription_for_stripe(
        stripe_subscription_id=stripe_id,
        customer_id=customer if isinstance(customer, str) else None,
        user_id=str(metadata.get("user_id") or ""),
    )
    if sub is None:
        raise SubscriptionNotLinked(f"no reader for Stripe subscription {stripe_id}")
    stripe_status = str(stripe_subscription.get("status") or "")
    to = STRIPE_STATUS_MAP.get(stripe_status)
    period = subscription_period(stripe_subscription)
    fields: dict[str, Any] = {
        "stripe_subscription_id": stripe_id,
        "cancel_at_period_end": bool(stripe_subscription.get("cancel_at_period_end")),
    }
    if period.end:
        fields["current_period_end"] = _ts(period.end)
    # Stripe keeps `trial_end` after the trial: every event carries it, so the order in
    # which they arrive does not matter. (An early end — card already used — shows too.)
    trial_end = _ts(stripe_subscription.get("trial_end"))
    if trial_end is not None:
        fields["trial_ends_at"] = trial_end
    price_id = subscription_price_id(stripe_subscription)
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None
    if plan is not None:
        fields["plan"] = plan
    if (
        sub.stripe_subscription_id
        and sub.stripe_subscription_id != stripe_id
        and sub.status in LIVE_STATUSES
        and to not in LIVE_STATUSES
    ):
        # News of another (older, ended or abandoned) Stripe subscription of this reader:
        # it must not take over the row of the live one.
        return sub
    if to is None:
        to = sub.status  # incomplete/paused: link it, change no status
    return _apply(
        sub=sub,
        to=to,
        fields=fields,
        at=event_created or timezone.now(),
        event_id=event_id,
        source=source,
        action=f"stripe:{stripe_status or 'sync'}",
    )


def subscription_refresh(
    *,
    stripe_subscription_id: str,
    hint: Mapping[str, Any] | None,
    event_created: datetime,
    event_id: str,
) -> Subscription:
    """Converge: re-read from Stripe when a client is configured, else trust the hint
    as of the event's time (older than what we applied → ignored)."""
    client = stripe_client_or_none()
    if client is not None:
        fresh = client.subscription_retrieve(stripe_subscription_id)
        # Fresh from the API (as of now), but the timeline still names the event.
        return subscription_sync_from_stripe(stripe_subscription=fresh, event_id=event_id)
    if hint is None:
        sub = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
        if sub is None:
            raise SubscriptionNotLinked(f"unknown Stripe subscription {stripe_subscription_id}")
        return sub
    return subscription_sync_from_stripe(
        stripe_subscription=hint, event_created=event_created, event_id=event_id
    )


def subscription_status_hint(
    *,
    stripe_subscription_id: str,
    customer_id: str | None,
    to: str,
    event_created: datetime,
    event_id: str,
    current_period_end: datetime | None = None,
    price_id: str | None = None,
) -> Subscription | None:
    """An invoice event's word on status (paid → active, failed → past_due), applied only
    if newer than what we know; with a client configured, re-read instead."""
    if stripe_client_or_none() is not None:
        return subscription_refresh(
            stripe_subscription_id=stripe_subscription_id,
            hint=None,
            event_created=event_created,
            event_id=event_id,
        )
    sub = _subscription_for_stripe(
        stripe_subscription_id=stripe_subscription_id, customer_id=customer_id, user_id=None
    )
    if sub is None:
        raise SubscriptionNotLinked(f"unknown Stripe subscription {stripe_subscription_id}")
    if (
        sub.stripe_subscription_id
        and sub.stripe_subscription_id != stripe_subscription_id
        and sub.status in LIVE_STATUSES
    ):
        return sub  # an invoice of another Stripe subscription than the live one
    fields: dict[str, Any] = {"stripe_subscription_id": stripe_subscription_id}
    if current_period_end and (
        sub.current_period_end is None or current_period_end > sub.current_period_end
    ):
        fields["current_period_end"] = current_period_end
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None
    if plan is not None:
        fields["plan"] = plan
    return _apply(
        sub=sub,
        to=to,
        fields=fields,
        at=event_created,
        event_id=event_id,
        source="stripe",
        action=f"stripe:invoice:{to}",
    )


def checkout_completed(
    *, session: Mapping[str, Any], event_created: datetime, event_id: str
) -> Subscription | None:
    """Link the Customer and the Stripe subscription to the reader of
    `client_reference_id`; then converge and refuse a second trial on a known card."""
    user_id = str(session.get("client_reference_id") or "")
    user = User.objects.filter(pk=int(user_id)).first() if user_id.isdigit() else None
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
        if sub.stripe_subscription_id == stripe_sub_id or (
            sub.stripe_subscription_id and sub.status in LIVE_STATUSES
        ):
            return sub  # linked already, or (old news) another live subscription is
        # Another reader's row holding this id fails on the unique column: kept for ops.
        return transition(
            subscription_id=sub.pk,
            to=sub.status,
            source="stripe",
            action="stripe:linked",
            detail={"stripe_event": event_id},
            stripe_subscription_id=stripe_sub_id,
        )
    fresh: Mapping[str, Any] = client.subscription_retrieve(stripe_sub_id)
    if fresh.get("status") == "trialing":
        fresh = trial_abuse_check(user=user, stripe_subscription=fresh, client=client)
    return subscription_sync_from_stripe(stripe_subscription=fresh)


def trial_abuse_check(
    *, user: User, stripe_subscription: Mapping[str, Any], client: StripeClient
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
        action="trial_refused_card_reused",
        from_status=sub.status,
        to_status=sub.status,
        source="stripe",
        detail={"stripe_subscription": stripe_id, "first_user": record.user_id},
    )
    return updated


# --- reconciliation ------------------------------------------------------------------------
@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: int = 0
    unknown: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)


def _differences(sub: Subscription, stripe_sub: Mapping[str, Any]) -> dict[str, Any]:
    status = STRIPE_STATUS_MAP.get(str(stripe_sub.get("status")))
    period_end = _ts(subscription_period(stripe_sub).end)
    theirs = {
        "status": status or sub.status,
        "current_period_end": period_end or sub.current_period_end,
        "cancel_at_period_end": bool(stripe_sub.get("cancel_at_period_end")),
    }
    return {
        name: {"ours": str(getattr(sub, name)), "stripe": str(value)}
        for name, value in theirs.items()
        if getattr(sub, name) != value
    }


def stripe_reconcile(*, page_size: int = 100) -> ReconcileReport:
    """Nightly: walk every Stripe subscription (a page per API call, one query per page),
    repair rows that drifted from Stripe (missed webhooks) and report what differed."""
    client = stripe_client()
    report = ReconcileReport()
    for page in client.subscription_pages(page_size=page_size):
        ids = [str(item["id"]) for item in page]
        local = {
            sub.stripe_subscription_id: sub
            for sub in Subscription.objects.filter(stripe_subscription_id__in=ids)
        }
        for stripe_sub in page:
            report.checked += 1
            sub = local.get(str(stripe_sub["id"]))
            if sub is None:
                if STRIPE_STATUS_MAP.get(str(stripe_sub.get("status"))) not in LIVE_STATUSES:
                    continue  # an old or abandoned subscription nobody needs
                try:
                    subscription_sync_from_stripe(stripe_subscription=stripe_sub, source="job")
                except SubscriptionNotLinked:
                    report.unknown += 1
                    continue
                report.repaired += 1
                report.drift.append({"stripe": stripe_sub["id"], "linked": True})
                continue
            differences = _differences(sub, stripe_sub)
            if differences:
                subscription_sync_from_stripe(stripe_subscription=stripe_sub, source="job")
                report.repaired += 1
                report.drift.append({"stripe": stripe_sub["id"], **differences})
    if report.drift:
        logger.warning("Stripe reconciliation repaired drift: %s", report.drift)
    return report


# --- emails -----------------------------------------------------------------------------
def billing_notice_send(*, user: User, kind: str, key: str, subject: str, body: str) -> bool:
    """Send a billing email once per (reader, kind, key)."""
    try:
        with transaction.atomic():
            BillingNotice.objects.create(user=user, kind=kind, key=key)
    except IntegrityError:
        return False
    send_mail(subject, body, None, [user.email])
    return True


def notify_payment_failed(*, stripe_subscription_id: str, invoice_id: str, attempt: int) -> None:
    """Only while the reader is past due: late news of a failure already recovered from
    (or of an old subscription) sends nothing."""
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
    if sub is None or sub.user is None or sub.status != S.PAST_DUE:
        return
    days = settings.GRACE_PERIOD_DAYS
    billing_notice_send(
        user=sub.user,
        kind="payment_failed",
        key=f"{invoice_id}:{attempt}",
        subject=f"{settings.SITE_NAME}: your payment did not go through",
        body=(
            "We could not take your subscription payment. You keep full access for "
            f"{days} days while you update your card:\n\n{site_url('/billing/manage/')}\n"
        ),
    )


def notify_payment_action_required(*, stripe_subscription_id: str, invoice_id: str) -> None:
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
    if sub is None or sub.user is None:
        return
    billing_notice_send(
        user=sub.user,
        kind="payment_action_required",
        key=invoice_id,
        subject=f"{settings.SITE_NAME}: please confirm your payment",
        body=(
            "Your bank asks you to confirm your subscription payment. Confirm it here:\n\n"
            f"{site_url('/billing/manage/')}\n"
        ),
    )


def notify_trial_will_end(*, stripe_subscription: Mapping[str, Any]) -> None:
    stripe_id = str(stripe_subscription.get("id") or "")
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_id).first()
    if sub is None or sub.user is None or sub.status != S.TRIALING:
        return
    ends = _ts(stripe_subscription.get("trial_end"))
    billing_notice_send(
        user=sub.user,
        kind="trial_will_end",
        key=f"{stripe_id}:{stripe_subscription.get('trial_end')}",
        subject=f"{settings.SITE_NAME}: your free trial ends soon",
        body=(
            f"Your free trial ends on {ends:%d %B %Y}. Your plan starts then; manage or "
            f"cancel it here:\n\n{site_url('/billing/manage/')}\n"
            if ends
            else f"Your free trial ends soon. Manage it here: {site_url('/billing/manage/')}\n"
        ),
    )


# --- revenue ----------------------------------------------------------------------------
def payment_record(*, invoice: Mapping[str, Any], event_created: datetime) -> bool:
    """Record money received (a paid invoice) once, for the publishers' revenue pool.
    Returns False for a duplicate or a zero invoice (e.g. the trial's)."""
    amount = int(invoice.get("amount_paid") or 0)
    invoice_id = invoice.get("id")
    if amount <= 0 or not invoice_id:
        return False
    paid = (invoice.get("status_transitions") or {}).get("paid_at")
    paid_at = datetime.fromtimestamp(int(paid), tz=UTC) if paid else event_created
    customer = BillingCustomer.objects.filter(
        stripe_customer_id=str(invoice.get("customer") or "")
    ).first()
    _, created = Payment.objects.get_or_create(
        stripe_invoice_id=str(invoice_id),
        defaults={
            "user_id": customer.user_id if customer else None,
            "amount": amount,
            "currency": str(invoice.get("currency") or "gbp"),
            "paid_at": paid_at,
        },
    )
    return created
