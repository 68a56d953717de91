"""Reads for the operations team: find a subscriber, and everything that happened to
them as one ordered list (sign-up, trial, walls, checkout, invoices and payments,
state changes, webhook events, emails, staff actions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from config.parsers import storable_text

from .billing.stripe_client import billing_is_test_mode
from .models import (
    AuditEntry,
    BillingCustomer,
    Conversion,
    Notification,
    Payment,
    ReadEvent,
    StaffAction,
    StripeEvent,
    StripeEventStatus,
    Subscription,
)
from .money import format_money

SEARCH_LIMIT = 50
WALLS_SHOWN = 100


@dataclass(frozen=True)
class Found:
    """One search hit: a subscription (possibly of a deleted account) or an account
    that never had a subscription row."""

    subscription_id: int | None
    email: str | None
    status: str
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    matched: str

    exact: bool = True


def subscriber_search(*, query: str, readers: dict[int, tuple[str, bool]]) -> list[Found]:
    """By Stripe customer id (`cus_…`) or subscription id (`sub_…`), or the accounts an
    email search found (`readers`: {user id: (how it matched, exactly or not)}; the
    accounts app reads emails and identities, which this app does not import)."""
    q = query.strip()[:254]
    if not q:
        return []
    hits: dict[int, tuple[str, bool]] = {}  # user id -> (how it matched, exact)
    subs: dict[int, str] = {}  # subscription id -> how it matched (deleted accounts)
    if q.startswith("cus_"):
        for user_id in BillingCustomer.objects.filter(
            stripe_customer_id=q, user__isnull=False
        ).values_list("user_id", flat=True):
            hits[user_id] = ("Stripe customer", True)
    elif q.startswith("sub_"):
        for sub_id in Subscription.objects.filter(stripe_subscription_id=q).values_list(
            "pk", flat=True
        ):
            subs[sub_id] = "Stripe subscription"
    else:
        hits = dict(readers)
    users = {
        u.pk: u
        for u in get_user_model()
        .objects.filter(pk__in=list(hits)[:SEARCH_LIMIT])
        .select_related("subscription", "billing_customer")
    }
    found = []
    for pk, (how, exact) in hits.items():
        user = users.get(pk)
        if user is None:
            continue
        sub: Subscription | None = getattr(user, "subscription", None)
        customer: BillingCustomer | None = getattr(user, "billing_customer", None)
        found.append(
            Found(
                subscription_id=sub.pk if sub else None,
                email=user.email,
                status=sub.status if sub else "none",
                stripe_customer_id=customer.stripe_customer_id if customer else None,
                stripe_subscription_id=sub.stripe_subscription_id if sub else None,
                matched=how,
                exact=exact,
            )
        )
    for sub in Subscription.objects.filter(pk__in=list(subs)).select_related("user"):
        if any(f.subscription_id == sub.pk for f in found):
            continue
        holder = (
            BillingCustomer.objects.filter(user_id=sub.user_id).first() if sub.user_id else None
        )
        found.append(
            Found(
                subscription_id=sub.pk,
                email=sub.user.email if sub.user else None,
                status=sub.status,
                stripe_customer_id=holder.stripe_customer_id if holder else None,
                stripe_subscription_id=sub.stripe_subscription_id,
                matched=subs[sub.pk],
            )
        )
    return found[:SEARCH_LIMIT]


def stripe_url(object_id: str | None) -> str | None:
    """The Stripe dashboard's page of an object, by its id prefix."""
    if not object_id:
        return None
    kinds = {
        "cus_": "customers",
        "sub_": "subscriptions",
        "in_": "invoices",
        "evt_": "events",
        "pi_": "payments",
        "ch_": "payments",
        "re_": "refunds",
    }
    for prefix, kind in kinds.items():
        if object_id.startswith(prefix):
            mode = "test/" if billing_is_test_mode() else ""
            return f"https://dashboard.stripe.com/{mode}{kind}/{object_id}"
    return None


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # signup, trial, wall, checkout, payment, state, webhook, email, ops
    title: str
    detail: str = ""
    actor: str = ""
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Subscriber:
    subscription: Subscription
    user: Any  # the reader's account (None once deleted)
    customer: BillingCustomer | None
    claim: Any  # their trial claim (accounts.TrialClaim), when there is one
    conversions: list[Conversion]  # each start and the wall it is credited to, oldest first
    walls_total: int
    payments_left_to_refund: int  # minor units of the last payment not refunded yet
    payment_currency: str  # the last payment's currency ("" when none)
    emails_owed: int
    items: list[TimelineItem]
    stripe_links: dict[str, str | None]


def _state_item(entry: AuditEntry) -> TimelineItem:
    detail: dict[str, Any] = entry.detail or {}
    kind = "ops" if entry.source == "ops" else "trial" if entry.source == "trial" else "state"
    parts = []
    if entry.from_status != entry.to_status:
        parts.append(f"{entry.from_status or 'none'} → {entry.to_status}")
    if detail.get("reason"):
        parts.append(f"reason: {detail['reason']}")
    for name in ("before", "after"):
        if detail.get(name):
            parts.append(f"{name}: {_brief(detail[name])}")
    if detail.get("changed"):
        parts.append("changed " + ", ".join(detail["changed"]))
    links = []
    if detail.get("stripe_event"):
        event_id = str(detail["stripe_event"])
        links.append((event_id, stripe_url(event_id) or ""))
    return TimelineItem(
        at=entry.at,
        kind=kind,
        title=entry.action,
        detail="; ".join(parts),
        actor=(entry.actor.email if entry.actor else entry.source),
        links=tuple((label, url) for label, url in links if url),
    )


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _event_item(event: StripeEvent) -> TimelineItem:
    obj = (event.payload.get("data") or {}).get("object") or {}
    obj_id = str(obj.get("id") or "")
    kind = "checkout" if event.type.startswith("checkout.") else "webhook"
    if event.type.startswith("invoice."):
        kind = "payment"
        amount = obj.get("amount_paid") or obj.get("amount_due")
        currency = str(obj.get("currency") or settings.CURRENCY)
        shown = format_money(amount=amount, currency=currency) if isinstance(amount, int) else ""
        detail = f"invoice {obj_id}, {shown}".rstrip(", ")
    else:
        detail = f"{obj.get('object', 'object')} {obj_id}"
    detail += f"; processing {event.status}"
    if event.error:
        detail += f": {event.error[:200]}"
    links = [(event.stripe_id, stripe_url(event.stripe_id)), (obj_id, stripe_url(obj_id))]
    return TimelineItem(
        at=event.created,
        kind=kind,
        title=f"Stripe: {event.type}",
        detail=detail,
        actor="stripe",
        links=tuple((label, url) for label, url in links if url),
    )


def _staff_item(done: StaffAction) -> TimelineItem:
    changes = [
        f"{name}: {done.before.get(name)} → {value}"
        for name, value in done.after.items()
        if done.before.get(name) != value
    ]
    return TimelineItem(
        at=done.at,
        kind="ops",
        title=f"Staff: {done.action}",
        detail=f"reason: {done.reason}" + (f"; {'; '.join(changes)}" if changes else ""),
        actor=done.actor.email if done.actor else "deleted staff account",
    )


def _events_of(*, customer_id: str | None, stripe_sub_ids: set[str]) -> list[StripeEvent]:
    """Webhook events about this customer or subscription (by the payload's object)."""
    match = Q()
    if customer_id:
        match |= Q(payload__data__object__customer=customer_id)
    for sub_id in stripe_sub_ids:
        match |= Q(payload__data__object__id=sub_id) | Q(payload__data__object__subscription=sub_id)
    if not match:
        return []
    return list(StripeEvent.objects.filter(match).order_by("created", "id")[:500])


def subscriber_timeline(
    *, subscription_id: int, claim_of: Callable[[int], Any] | None = None
) -> Subscriber | None:
    """The subscriber's whole story, oldest first. None for an unknown subscription.
    `claim_of(user_id)` gives the reader's trial claim (the accounts app's to read)."""
    sub = Subscription.objects.filter(pk=subscription_id).select_related("user", "plan").first()
    if sub is None:
        return None
    user = sub.user
    customer = BillingCustomer.objects.filter(user=user).first() if user else None
    claim = claim_of(user.pk) if user is not None and claim_of is not None else None
    items: list[TimelineItem] = []
    if user is not None:
        items.append(
            TimelineItem(at=user.date_joined, kind="signup", title="Signed up", actor=user.email)
        )
    if claim is not None:
        source = claim.article.title if claim.article else claim.article_slug
        items.append(
            TimelineItem(
                at=claim.claimed_at,
                kind="signup",
                title="Trial claimed",
                detail=f"from the wall of “{source}”" if source else "not from a wall",
            )
        )
    for entry in AuditEntry.objects.filter(subscription=sub).select_related("actor"):
        items.append(_state_item(entry))
    conversions = list(
        Conversion.objects.filter(subscription=sub)
        .select_related("article", "publication")
        .order_by("started_at", "pk")
    )
    walls_total = 0
    last_payment_left = 0
    last_payment_currency = ""
    if user is not None:
        walls = ReadEvent.objects.filter(user=user, granted=False)
        walls_total = walls.count()
        for wall in walls.select_related("article").order_by("-at")[:WALLS_SHOWN]:
            items.append(
                TimelineItem(
                    at=wall.at,
                    kind="wall",
                    title=f"Wall: {wall.reason}",
                    detail=f"“{wall.article.title}” ({wall.level}, {wall.channel})",
                )
            )
        payments = list(Payment.objects.filter(user=user).order_by("paid_at", "id"))
        if payments:
            last_payment_left = payments[-1].amount - payments[-1].refunded
            last_payment_currency = payments[-1].currency
        for payment in payments:
            money = partial(format_money, currency=payment.currency)
            refunded = f", {money(amount=payment.refunded)} refunded" if payment.refunded else ""
            items.append(
                TimelineItem(
                    at=payment.paid_at,
                    kind="payment",
                    title="Payment received",
                    detail=f"{money(amount=payment.amount)}{refunded}",
                    links=tuple(
                        (payment.stripe_invoice_id, url)
                        for url in [stripe_url(payment.stripe_invoice_id)]
                        if url
                    ),
                )
            )
        for note in Notification.objects.filter(user=user):
            items.append(
                TimelineItem(
                    at=note.sent_at or note.created_at,
                    kind="email",
                    title=f"Email: {note.kind}",
                    detail=f"{note.status} ({note.period})"
                    + (f": {note.error}" if note.error else ""),
                )
            )
    for done in StaffAction.objects.filter(subscription=sub).select_related("actor"):
        items.append(_staff_item(done))
    stripe_sub_ids = {sub.stripe_subscription_id} if sub.stripe_subscription_id else set()
    for event in _events_of(
        customer_id=customer.stripe_customer_id if customer else None,
        stripe_sub_ids=stripe_sub_ids,
    ):
        items.append(_event_item(event))
    items.sort(key=lambda item: item.at)
    return Subscriber(
        subscription=sub,
        user=user,
        customer=customer,
        claim=claim,
        conversions=conversions,
        walls_total=walls_total,
        payments_left_to_refund=last_payment_left,
        payment_currency=last_payment_currency,
        emails_owed=len(owed_emails(user_id=user.pk if user else None)),
        items=items,
        stripe_links={
            "customer": stripe_url(customer.stripe_customer_id if customer else None),
            "subscription": stripe_url(sub.stripe_subscription_id),
        },
    )


def owed_emails(*, user_id: int | None) -> list[tuple[int, str]]:
    """The reader's emails not sent yet (pending, stuck sending, failed): (id, label)."""
    if user_id is None:
        return []
    return [
        (note.pk, f"{note.kind} ({note.period}) — {note.status}")
        for note in Notification.objects.filter(user_id=user_id)
        .exclude(status="sent")
        .order_by("created_at", "id")
    ]


def webhook_events_needing_care(*, limit: int = 200) -> list[StripeEvent]:
    """Failed events first, then pending ones, oldest first within each."""
    rows = StripeEvent.objects.filter(
        status__in=[StripeEventStatus.FAILED, StripeEventStatus.PENDING]
    ).order_by("status", "received_at", "id")
    return list(rows.defer("payload")[:limit])


def webhook_event(*, event_id: str) -> StripeEvent | None:
    if not storable_text(event_id):  # no stored id holds a NUL (PostgreSQL refuses one)
        return None
    return StripeEvent.objects.filter(stripe_id=event_id[:100]).first()
