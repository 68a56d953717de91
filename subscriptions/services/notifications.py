"""Emails we owe readers: recorded once, sent at most once.

Jobs call `owe()` inside the transaction that makes the change (so a killed job leaves
either both or neither), then `enqueue()` after commit: one task per chunk of readers,
never one per reader. `send()` claims rows atomically (pending -> sending) before it
sends, so two workers, a rerun or a duplicated task never send the same email twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection, send_mail
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, JSONField, Q, QuerySet, Value
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from config.links import absolute_url

from ..billing.stripe_client import from_stripe_time
from ..models import (
    BillingNotice,
    Notification,
    NotificationStatus,
    Subscription,
    SubscriptionStatus,
)
from .bulk import insert_from_select

S = SubscriptionStatus

KINDS = {
    "trial_ending": "Your free trial ends soon",
    "trial_expired": "Your free trial has ended",
    "renewal_notice": "Your yearly subscription renews soon",
    "dunning": "We couldn't take your payment",
}


def owe(*, kind: str, entries: Iterable[tuple[int, str, dict[str, Any]]], now: datetime) -> None:
    """Record (user_id, period, context) notifications; ones already owed are kept as
    they are. One query."""
    if kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}")
    Notification.objects.bulk_create(
        [
            Notification(user_id=user_id, kind=kind, period=period, context=context, created_at=now)
            for user_id, period, context in entries
        ],
        ignore_conflicts=True,
    )


def owe_from(*, kind: str, subscriptions: QuerySet[Any], period: Any, now: datetime) -> int:
    """Record one notification per subscription's reader, made by the database from the
    rows (INSERT ... SELECT): one statement per chunk. `period` is an expression over
    the subscription (e.g. its trial's end date as text)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}")
    return insert_from_select(
        model=Notification,
        columns={
            "user": F("user_id"),
            "kind": Value(kind),
            "period": period,
            "status": Value(NotificationStatus.PENDING),
            "context": Value({}, output_field=JSONField()),
            "created_at": Value(now, output_field=DateTimeField()),
            "claim": Value(""),
            "error": Value(""),
        },
        source=subscriptions.filter(user__isnull=False),
        ignore_conflicts=True,
    )


def enqueue(*, kind: str, user_ids: list[int]) -> None:
    """After commit, one send task for this chunk of readers."""
    if not user_ids:
        return
    from ..tasks import send_notifications

    transaction.on_commit(lambda: send_notifications.delay(kind, user_ids))


def _claimable(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(status=NotificationStatus.PENDING) | Q(
        status=NotificationStatus.SENDING, claimed_at__lt=stale
    )


def send(*, kind: str | None = None, user_ids: list[int] | None = None, limit: int = 1000) -> int:
    """Claim and send owed notifications (of a kind, for some readers, or all)."""
    now = timezone.now()
    candidates = Notification.objects.filter(_claimable(now))
    if kind:
        candidates = candidates.filter(kind=kind)
    if user_ids is not None:
        candidates = candidates.filter(user_id__in=user_ids)
    token = uuid.uuid4().hex
    ids = list(candidates.order_by("id").values_list("id", flat=True)[:limit])
    # The claim: only rows still claimable become ours, whoever else is trying.
    Notification.objects.filter(_claimable(now), pk__in=ids).update(
        status=NotificationStatus.SENDING, claimed_at=now, claim=token
    )
    claimed = list(
        Notification.objects.filter(claim=token, status=NotificationStatus.SENDING)
        .select_related("user")
        .order_by("id")
    )
    sent = 0
    with get_connection() as connection:
        for notification in claimed:
            try:
                _message(notification, connection).send()
            except Exception as exc:  # SMTP and template errors alike: keep it for ops
                Notification.objects.filter(pk=notification.pk).update(
                    status=NotificationStatus.FAILED, error=str(exc)[:2000]
                )
                continue
            Notification.objects.filter(pk=notification.pk).update(
                status=NotificationStatus.SENT, sent_at=timezone.now()
            )
            sent += 1
    return sent


def _message(notification: Notification, connection: Any) -> EmailMultiAlternatives:
    context = {
        **notification.context,
        "user": notification.user,
        "site_url": settings.SITE_URL,
        "site_name": settings.SITE_NAME,
        "period": notification.period,
    }
    base = f"subscriptions/email/{notification.kind}"
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(
        subject=f"{settings.SITE_NAME}: {KINDS[notification.kind]}",
        body=text,
        to=[notification.user.email],
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


# --- billing emails sent at once (webhooks) --------------------------------------------
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
    manage = absolute_url("subscriptions:billing-manage")
    billing_notice_send(
        user=sub.user,
        kind="payment_failed",
        key=f"{invoice_id}:{attempt}",
        subject=f"{settings.SITE_NAME}: your payment did not go through",
        body=(
            "We could not take your subscription payment. You keep full access for "
            f"{days} days while you update your card:\n\n{manage}\n"
        ),
    )


def notify_payment_action_required(*, stripe_subscription_id: str, invoice_id: str) -> None:
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id).first()
    if sub is None or sub.user is None:
        return
    manage = absolute_url("subscriptions:billing-manage")
    billing_notice_send(
        user=sub.user,
        kind="payment_action_required",
        key=invoice_id,
        subject=f"{settings.SITE_NAME}: please confirm your payment",
        body=(
            "Your bank asks you to confirm your subscription payment. Confirm it here:\n\n"
            f"{manage}\n"
        ),
    )


def notify_trial_will_end(*, stripe_subscription: Mapping[str, Any]) -> None:
    stripe_id = str(stripe_subscription.get("id") or "")
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_id).first()
    if sub is None or sub.user is None or sub.status != S.TRIALING:
        return
    ends = from_stripe_time(stripe_subscription.get("trial_end"))
    manage = absolute_url("subscriptions:billing-manage")
    billing_notice_send(
        user=sub.user,
        kind="trial_will_end",
        key=f"{stripe_id}:{stripe_subscription.get('trial_end')}",
        subject=f"{settings.SITE_NAME}: your free trial ends soon",
        body=(
            f"Your free trial ends on {ends:%d %B %Y}. Your plan starts then; manage or "
            f"cancel it here:\n\n{manage}\n"
            if ends
            else f"Your free trial ends soon. Manage it here: {manage}\n"
        ),
    )
