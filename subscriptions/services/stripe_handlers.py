"""One handler per Stripe event type. Each treats the payload as a hint and converges
(re-read from Stripe when a client is configured, else compare Stripe's timestamps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from ..billing.stripe_client import (
    from_stripe_time,
    invoice_price_id,
    invoice_subscription_id,
)
from ..models import Subscription, SubscriptionStatus
from ..vocabulary import NotificationKind
from . import checkout, payments, stripe_sync
from .notifications import notify

if TYPE_CHECKING:
    from ..models import StripeEvent

S = SubscriptionStatus
Handler = Callable[["StripeEvent"], None]


def _object(event: StripeEvent) -> Mapping[str, Any]:
    obj: Mapping[str, Any] = event.payload["data"]["object"]
    return obj


def checkout_session_completed(event: StripeEvent) -> None:
    session = _object(event)
    if session.get("mode") not in (None, "subscription"):
        return
    checkout.checkout_completed(
        session=session, event_created=event.created, event_id=event.stripe_id
    )


def customer_subscription_changed(event: StripeEvent) -> None:
    stripe_sub = _object(event)
    stripe_sync.subscription_refresh(
        stripe_subscription_id=str(stripe_sub["id"]),
        hint=stripe_sub,
        event_created=event.created,
        event_id=event.stripe_id,
    )


def customer_subscription_trial_will_end(event: StripeEvent) -> None:
    customer_subscription_changed(event)
    notify_trial_will_end(stripe_subscription=_object(event))


def _customer_id(obj: Mapping[str, Any]) -> str | None:
    customer = obj.get("customer")
    return customer if isinstance(customer, str) and customer else None


def _invoice_period_end(invoice: Mapping[str, Any]) -> datetime | None:
    lines = (invoice.get("lines") or {}).get("data") or []
    ends = [line.get("period", {}).get("end") for line in lines if line.get("period")]
    ends = [e for e in ends if e]
    return datetime.fromtimestamp(max(ends), tz=UTC) if ends else None


def _invoice_status_hint(
    event: StripeEvent, invoice: Mapping[str, Any], stripe_sub_id: str, *, to: str
) -> None:
    """What an invoice says of its subscription: the status, and the period its lines
    start (a failed renewal still starts the new period on Stripe)."""
    stripe_sync.subscription_status_hint(
        stripe_subscription_id=stripe_sub_id,
        customer_id=_customer_id(invoice),
        to=to,
        event_created=event.created,
        event_id=event.stripe_id,
        current_period_end=_invoice_period_end(invoice),
        price_id=invoice_price_id(invoice),
    )


def invoice_paid(event: StripeEvent) -> None:
    invoice = _object(event)
    stripe_sub_id = invoice_subscription_id(invoice)
    if stripe_sub_id is None:
        return
    payments.payment_record(invoice=invoice, event_created=event.created)
    _invoice_status_hint(event, invoice, stripe_sub_id, to=S.ACTIVE)


def invoice_payment_failed(event: StripeEvent) -> None:
    invoice = _object(event)
    stripe_sub_id = invoice_subscription_id(invoice)
    if stripe_sub_id is None:
        return
    _invoice_status_hint(event, invoice, stripe_sub_id, to=S.PAST_DUE)
    notify_payment_failed(
        stripe_subscription_id=stripe_sub_id,
        invoice_id=str(invoice.get("id") or event.stripe_id),
        attempt=int(invoice.get("attempt_count") or 1),
    )


def invoice_payment_action_required(event: StripeEvent) -> None:
    invoice = _object(event)
    stripe_sub_id = invoice_subscription_id(invoice)
    if stripe_sub_id is None:
        return
    notify_payment_action_required(
        stripe_subscription_id=stripe_sub_id, invoice_id=str(invoice.get("id") or event.stripe_id)
    )


# --- the emails some events owe the reader (once each, through the outbox) ----------------
def _reader_of(stripe_subscription_id: str) -> Subscription | None:
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
    return sub if sub is not None and sub.user_id is not None else None


def notify_payment_failed(*, stripe_subscription_id: str, invoice_id: str, attempt: int) -> None:
    """Only while the reader is past due: late news of a failure already recovered from
    (or of an old subscription) sends nothing."""
    sub = _reader_of(stripe_subscription_id)
    if sub is None or sub.user_id is None or sub.status != S.PAST_DUE:
        return
    notify(
        user_id=sub.user_id,
        kind=NotificationKind.PAYMENT_FAILED,
        period=f"{invoice_id}:{attempt}",
        context={"grace_days": settings.GRACE_PERIOD_DAYS},
    )


def notify_payment_action_required(*, stripe_subscription_id: str, invoice_id: str) -> None:
    sub = _reader_of(stripe_subscription_id)
    if sub is None or sub.user_id is None:
        return
    notify(user_id=sub.user_id, kind=NotificationKind.PAYMENT_ACTION_REQUIRED, period=invoice_id)


def notify_trial_will_end(*, stripe_subscription: Mapping[str, Any]) -> None:
    stripe_id = str(stripe_subscription.get("id") or "")
    sub = _reader_of(stripe_id)
    if sub is None or sub.user_id is None or sub.status != S.TRIALING:
        return
    ends = from_stripe_time(stripe_subscription.get("trial_end"))
    notify(
        user_id=sub.user_id,
        kind=NotificationKind.TRIAL_WILL_END,
        period=f"{stripe_id}:{stripe_subscription.get('trial_end')}",
        context={"trial_ends": f"{ends:%d %B %Y}" if ends else ""},
    )


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_session_completed,
    "customer.subscription.created": customer_subscription_changed,
    "customer.subscription.updated": customer_subscription_changed,
    "customer.subscription.deleted": customer_subscription_changed,
    "customer.subscription.trial_will_end": customer_subscription_trial_will_end,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.payment_action_required": invoice_payment_action_required,
}
