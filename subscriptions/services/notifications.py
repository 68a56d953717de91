"""The one email outbox: every email to a reader is a `Notification`, owed once per
(reader, kind, period) and sent by one task after commit.

`notify()` is the entry point for one email (sign-up's welcome, a webhook's payment
failure). Jobs use the batch forms: `owe()` / `owe_from()` inside the transaction that
makes the change (so a killed job leaves either both or neither), then `enqueue()`: one
task per chunk of readers, never one per reader. `send()` claims rows atomically
(pending -> sending) before it sends, so two workers, a rerun or a duplicated task never
send the same email twice. Every email is rendered from templates
`subscriptions/email/<kind>_subject.txt`, `<kind>.txt` and `<kind>.html`; links come
from `reverse()` + SITE_URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, JSONField, Q, QuerySet, Value
from django.template.loader import render_to_string
from django.utils import timezone

from config.links import absolute_url

from ..models import Notification, NotificationStatus
from ..vocabulary import NotificationKind
from .bulk import insert_from_select
from .dispatch import SEND_NOTIFICATIONS, after_commit

# The period of an email sent once per account (the welcome).
WELCOME_PERIOD = "account"


def notify(
    *,
    kind: NotificationKind,
    period: str,
    user_id: int | None = None,
    email: str = "",
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Owe this reader (or, for someone who may have no account yet, this `email`
    address) this email for `period` (what it is about: a date, an invoice, or "account"
    for once ever) and send it after commit. False when it was owed already."""
    if (user_id is None) == (not email):
        raise ValueError("An email is owed to one account or to one address.")
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                user_id=user_id,
                email="" if user_id is not None else email,
                kind=kind,
                period=period,
                context=context or {},
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return False
    if user_id is not None:
        enqueue(kind=kind, user_ids=[user_id])
    else:
        after_commit(SEND_NOTIFICATIONS, str(kind), None, [note.pk], robust=True)
    return True


def owe(
    *,
    kind: NotificationKind,
    entries: Iterable[tuple[int, str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Record (user_id, period, context) notifications; ones already owed are kept as
    they are. One query."""
    Notification.objects.bulk_create(
        [
            Notification(user_id=user_id, kind=kind, period=period, context=context, created_at=now)
            for user_id, period, context in entries
        ],
        ignore_conflicts=True,
    )


def owe_from(
    *, kind: NotificationKind, subscriptions: QuerySet[Any], period: Any, now: datetime
) -> int:
    """Record one notification per subscription's reader, made by the database from the
    rows (INSERT ... SELECT): one statement per chunk. `period` is an expression over
    the subscription (e.g. its trial's end date as text)."""
    return insert_from_select(
        model=Notification,
        columns={
            "user": F("user_id"),
            "email": Value(""),
            "kind": Value(str(kind)),
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


def enqueue(*, kind: NotificationKind, user_ids: list[int]) -> None:
    """After commit, one send task for this chunk of readers."""
    if user_ids:
        # robust: with the broker down the change stands; the send_notifications sweep
        # sends what is owed.
        after_commit(SEND_NOTIFICATIONS, str(kind), user_ids, robust=True)


def _claimable(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(status=NotificationStatus.PENDING) | Q(
        status=NotificationStatus.SENDING, claimed_at__lt=stale
    )


def send(
    *,
    kind: str | None = None,
    user_ids: list[int] | None = None,
    notification_ids: list[int] | None = None,
    limit: int = 1000,
) -> int:
    """Claim and send owed notifications (of a kind, for some readers, these ones, or
    all)."""
    now = timezone.now()
    candidates = Notification.objects.filter(_claimable(now))
    if kind:
        candidates = candidates.filter(kind=kind)
    if user_ids is not None:
        candidates = candidates.filter(user_id__in=user_ids)
    if notification_ids is not None:
        candidates = candidates.filter(pk__in=notification_ids)
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
            # Renew the claim message by message: a batch that outlasts the claim timeout
            # skips what another run has reclaimed meanwhile instead of sending it again.
            if not Notification.objects.filter(
                pk=notification.pk, claim=token, status=NotificationStatus.SENDING
            ).update(claimed_at=timezone.now()):
                continue
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
        "site_name": settings.SITE_NAME,
        "period": notification.period,
        "account_url": absolute_url("accounts:account"),
        "home_url": absolute_url("articles:home"),
        "manage_url": absolute_url("subscriptions:billing-manage"),
    }
    base = f"subscriptions/email/{notification.kind}"
    subject = render_to_string(f"{base}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"{base}.txt", context),
        to=[notification.recipient],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    return message
