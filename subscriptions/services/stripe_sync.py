"""Converging our subscription rows on Stripe's state: every webhook, the reader's own
cancel/resume and the nightly reconciliation end here. Status changes go through
`transition()` only; events apply in Stripe's order whatever their arrival order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..billing.stripe_client import (
    from_stripe_time,
    stripe_client_or_none,
    subscription_period,
    subscription_price_id,
)
from ..models import LIVE_STATUSES, BillingCustomer, Plan, Subscription, SubscriptionStatus
from ..selectors import reader_by_reference
from ..vocabulary import AuditAction, AuditSource
from .transitions import subscription_for_user, transition

S = SubscriptionStatus

# Stripe's subscription status -> ours. Anything else (incomplete, paused) changes nothing.
STRIPE_STATUS_MAP: dict[str, str] = {
    "trialing": S.TRIALING,
    "active": S.ACTIVE,
    "past_due": S.PAST_DUE,
    "unpaid": S.PAST_DUE,
    "canceled": S.CANCELED,
    "incomplete_expired": S.CANCELED,
}


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
    reader = reader_by_reference(reference=user_id)
    if reader is not None:
        return subscription_for_user(user_id=reader.pk)
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
    source: AuditSource,
    action: AuditAction,
    stripe_status: str,
    started_at: datetime | None,
) -> Subscription:
    """Apply Stripe-derived state under the transition lock, unless it is stale.
    `started_at`: when a start this state shows happened at Stripe (attribution)."""
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
                    action=AuditAction.STRIPE_PAST_DUE_DATED,
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
            detail={"stripe_event": event_id, "stripe_status": stripe_status},
            started_at=started_at,
            **changes,
        )


def start_time(
    stripe_subscription: Mapping[str, Any], *, to: str | None, event_at: datetime | None
) -> datetime | None:
    """When a start this Stripe subscription shows happened: a trial at its own
    `trial_start`; anything else at the `created` of the event that told us (None: no
    event, the start is now). Stripe's times are whole seconds, cut down: the start is
    taken at the end of its second, so a wall met within that second still precedes it."""
    at = event_at
    if to == S.TRIALING:
        at = from_stripe_time(stripe_subscription.get("trial_start")) or event_at
    if at is None:
        return None
    return at.replace(microsecond=0) + timedelta(seconds=1, microseconds=-1)


def subscription_sync_from_stripe(
    *,
    stripe_subscription: Mapping[str, Any],
    event_created: datetime | None = None,
    event_id: str = "",
    source: AuditSource = AuditSource.STRIPE,
    event_at: datetime | None = None,
) -> Subscription:
    """Make our row say what this Stripe subscription says (if it is not older than what
    we already applied). Without an event, the object is fresh from the API: now.
    `event_at`: the `created` of the event that led to a fresh re-read (a start it shows
    is dated from it, not from our processing); defaults to `event_created`."""
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
        fields["current_period_end"] = from_stripe_time(period.end)
    # Stripe keeps `trial_end` after the trial: every event carries it, so the order in
    # which they arrive does not matter. (An early end — card already used — shows too.)
    trial_end = from_stripe_time(stripe_subscription.get("trial_end"))
    if trial_end is not None:
        fields["trial_ends_at"] = trial_end
    price_id = subscription_price_id(stripe_subscription)
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None
    if plan is not None:
        fields["plan"] = plan
    if sub.billed_by_stripe and sub.stripe_subscription_id != stripe_id and to not in LIVE_STATUSES:
        # News of another (older, ended or abandoned) Stripe subscription of this reader:
        # it must not take over the row of the live one.
        return sub
    if sub.status == S.COMPLIMENTARY and to not in LIVE_STATUSES:
        # Complimentary access granted after Stripe stopped billing: an ended Stripe
        # subscription has nothing to say about it (a resync, a late or replayed event).
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
        action=AuditAction.STRIPE_SUBSCRIPTION_SYNCED,
        stripe_status=stripe_status,
        started_at=start_time(stripe_subscription, to=to, event_at=event_at or event_created),
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
        # Fresh from the API (as of now), but the timeline still names the event, and a
        # start it shows happened no later than the event.
        return subscription_sync_from_stripe(
            stripe_subscription=fresh, event_id=event_id, event_at=event_created
        )
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
    if sub.billed_by_stripe and sub.stripe_subscription_id != stripe_subscription_id:
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
        source=AuditSource.STRIPE,
        action=AuditAction.STRIPE_INVOICE_APPLIED,
        stripe_status=f"invoice:{to}",
        started_at=event_created,
    )
