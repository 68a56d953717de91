"""What the operations team can do to a subscription, each with a reason, once.

Every action takes the confirmation form's `key`: it inserts the `StaffAction` audit row
first, in the action's transaction, so a second submit of the same form finds the key
taken and does nothing (`AlreadyDone`). Stripe is called inside that transaction: when
Stripe refuses or cannot be reached, the error is raised, the transaction rolls back and
nothing changes locally. Bad input raises `ApplicationError` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from ..billing.stripe_client import BillingError, stripe_client
from ..models import (
    Notification,
    NotificationStatus,
    StaffAction,
    StripeEvent,
    StripeEventStatus,
    Subscription,
    SubscriptionStatus,
)
from ..money import format_money
from ..vocabulary import AuditSource, StaffActionKind
from . import cancellation, complimentary, notifications, payments, trials
from .stripe_events import stripe_event_replay
from .stripe_sync import subscription_sync_from_stripe

S = SubscriptionStatus
K = StaffActionKind
MAX_TRIAL_EXTENSION_DAYS = trials.MAX_TRIAL_EXTENSION_DAYS
MAX_COMPLIMENTARY_DAYS = 3 * 366


class AlreadyDone(ApplicationError):
    def __init__(self, done: StaffAction) -> None:
        super().__init__(
            f"This form was already submitted ({done.action} at {done.at:%Y-%m-%d %H:%M} UTC); "
            "nothing was done twice.",
            code="already_done",
            status_code=409,
        )
        self.done = done


class StripeRefused(ApplicationError):
    def __init__(self, exc: BillingError) -> None:
        super().__init__(
            f"Stripe did not accept the change, so nothing was changed here: {exc}",
            code="stripe_error",
            status_code=502,
        )


def _refuse(message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, status_code=400)


@dataclass(frozen=True)
class Done:
    action: StaffAction
    message: str


def _state(sub: Subscription) -> dict[str, Any]:
    """What the audit keeps of a subscription before and after an action."""
    return {
        "status": sub.status,
        "plan": sub.plan.code if sub.plan else None,
        "trial_ends_at": sub.trial_ends_at.isoformat() if sub.trial_ends_at else None,
        "current_period_end": sub.current_period_end.isoformat()
        if sub.current_period_end
        else None,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "complimentary_until": sub.complimentary_until.isoformat()
        if sub.complimentary_until
        else None,
    }


def _perform(
    *,
    key: str,
    action: str,
    actor_id: int,
    reason: str,
    subscription_id: int | None,
    target: str = "",
    work: Callable[[Subscription | None], tuple[str, dict[str, Any]]],
) -> Done:
    """The shared frame: validate, take the key, lock the row, do the work, audit."""
    reason = (reason or "").strip()
    if not reason:
        raise _refuse("Give a reason: it is kept in the audit log.", "reason_required")
    key = (key or "").strip()
    if not key or len(key) > 64:
        raise _refuse("This form has expired: open it again.", "bad_key")
    done = StaffAction.objects.filter(key=key).first()
    if done is not None:
        raise AlreadyDone(done)
    now = timezone.now()
    try:
        with transaction.atomic():
            record = StaffAction.objects.create(
                key=key,
                action=action,
                actor_id=actor_id,
                at=now,
                reason=reason[:2000],
                subscription_id=subscription_id,
                target=target,
            )
            sub = None
            if subscription_id is not None:
                sub = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
                if sub is None:
                    raise _refuse("There is no such subscription.", "not_found")
                if sub.user_id is None:
                    raise _refuse(
                        "This reader deleted their account: nothing can be changed.",
                        "account_deleted",
                    )
                record.before = _state(sub)
            try:
                message, extra = work(sub)
            except BillingError as exc:
                raise StripeRefused(exc) from exc
            if sub is not None:
                sub = Subscription.objects.select_related("plan").get(pk=sub.pk)
                record.after = _state(sub)
            record.before.update(extra.get("before", {}))
            record.after.update(extra.get("after", {}))
            record.save(update_fields=["before", "after"])
    except IntegrityError:
        # The same form, submitted twice at once: the other submit holds the key.
        done = StaffAction.objects.filter(key=key).first()
        if done is None:
            raise
        raise AlreadyDone(done) from None
    return Done(action=record, message=message)


def reader_id_of(sub: Subscription) -> int:
    """The reader's id (`_perform` has already refused deleted accounts)."""
    assert sub.user_id is not None
    return sub.user_id


def _stripe_sync(stripe_sub: dict[str, Any]) -> None:
    subscription_sync_from_stripe(stripe_subscription=stripe_sub, source=AuditSource.OPS)


# --- the actions ---------------------------------------------------------------------
def trial_extend(*, subscription_id: int, days: int, reason: str, actor_id: int, key: str) -> Done:
    """Push a running trial's end `days` later (through Stripe when it is billed there)."""
    if not isinstance(days, int) or not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise _refuse(f"Days must be a whole number from 1 to {MAX_TRIAL_EXTENSION_DAYS}.")

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        if sub.status != S.TRIALING or sub.trial_ends_at is None:
            raise _refuse(
                f"Only a running trial can be extended; this subscription is {sub.status}.",
                "not_trialing",
            )
        if sub.billed_by_stripe and sub.stripe_subscription_id:
            # Stripe's trial ends when ours does: move it there, then read it back.
            ends = max(sub.trial_ends_at, timezone.now()) + timedelta(days=days)
            _stripe_sync(
                stripe_client().subscription_update(
                    sub.stripe_subscription_id,
                    params={"trial_end": int(ends.timestamp()), "proration_behavior": "none"},
                    idempotency_key=f"ops:{key}",
                )
            )
        else:
            trials.trial_extend(subscription_id=sub.pk, days=days, actor_id=actor_id)
        now_ends = Subscription.objects.values_list("trial_ends_at", flat=True).get(pk=sub.pk)
        return f"The trial now ends on {now_ends:%d %B %Y %H:%M} UTC.", {}

    return _perform(
        key=key,
        action=K.TRIAL_EXTENDED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        work=work,
    )


def complimentary_grant(
    *, subscription_id: int, until: date, reason: str, actor_id: int, key: str
) -> Done:
    """Full access without payment through the end of `until` (UTC)."""
    today = timezone.now().date()
    if not isinstance(until, date) or until < today:
        raise _refuse("The end date must be today or later.", "bad_date")
    if until > today + timedelta(days=MAX_COMPLIMENTARY_DAYS):
        raise _refuse("Complimentary access is granted for at most three years at a time.")
    ends = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        if sub.billed_by_stripe:
            raise _refuse(
                "This reader pays through Stripe: cancel the subscription first, "
                "so they are not billed while on complimentary access.",
                "billed",
            )
        complimentary.complimentary_grant(
            subscription_id=sub.pk, days=None, until=ends, actor_id=actor_id
        )
        return f"Complimentary access until the end of {until:%d %B %Y}.", {}

    return _perform(
        key=key,
        action=K.COMPLIMENTARY_GRANTED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        work=work,
    )


def subscription_cancel_by_staff(
    *, subscription_id: int, at_period_end: bool, reason: str, actor_id: int, key: str
) -> Done:
    """Cancel now or at the period's end: through Stripe when billed there; a local
    trial or complimentary access ends now."""

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        assert sub.user is not None  # `_perform` refused deleted accounts
        if sub.billed_by_stripe and sub.stripe_subscription_id:
            if at_period_end:
                if sub.cancel_at_period_end:
                    raise _refuse("It is already set to end with its period.", "nothing_to_do")
                cancellation.subscription_cancel(
                    user=sub.user, source=AuditSource.OPS, actor_id=actor_id
                )
                return "Canceled in Stripe: it ends with the current period.", {}
            _stripe_sync(stripe_client().subscription_cancel(sub.stripe_subscription_id))
            return "Canceled in Stripe, effective now.", {}
        if sub.status not in (S.TRIALING, S.COMPLIMENTARY):
            raise _refuse(f"There is nothing to cancel: it is {sub.status}.", "nothing_to_do")
        if at_period_end:
            raise _refuse(
                "A trial or complimentary access without Stripe has no billing period: "
                "cancel it now instead.",
                "no_period",
            )
        if sub.status == S.COMPLIMENTARY:
            complimentary.complimentary_end(subscription_id=sub.pk, actor_id=actor_id)
        else:
            trials.trial_cancel(user=sub.user, source=AuditSource.OPS, actor_id=actor_id)
        return "Canceled, effective now.", {}

    return _perform(
        key=key,
        action=K.CANCELED_AT_PERIOD_END if at_period_end else K.CANCELED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        work=work,
    )


def payment_refund(
    *, subscription_id: int, amount: int | None, reason: str, actor_id: int, key: str
) -> Done:
    """Refund the reader's last payment through Stripe, all of what is left or `amount`."""
    if amount is not None and (not isinstance(amount, int) or amount <= 0):
        raise _refuse("The amount must be a positive whole number of minor units (pence).")

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        payment, refund, refund_id = payments.payment_refund(
            user_id=reader_id_of(sub), amount=amount, idempotency_key=f"ops:{key}"
        )
        return (
            f"Refunded {format_money(amount=refund, currency=payment.currency)}"
            f" of invoice {payment.stripe_invoice_id}.",
            {
                "before": {
                    "payment": payment.stripe_invoice_id,
                    "refunded": payment.refunded - refund,
                },
                "after": {"refunded": payment.refunded, "refund": refund_id},
            },
        )

    return _perform(
        key=key,
        action=K.PAYMENT_REFUNDED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        work=work,
    )


def subscription_resync(*, subscription_id: int, reason: str, actor_id: int, key: str) -> Done:
    """Read the subscription from Stripe now and make ours say the same."""

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        if not sub.stripe_subscription_id:
            raise _refuse("This subscription is not billed through Stripe.", "not_in_stripe")
        _stripe_sync(stripe_client().subscription_retrieve(sub.stripe_subscription_id))
        return "Read again from Stripe.", {}

    return _perform(
        key=key,
        action=K.RESYNCED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        work=work,
    )


def webhook_replay(*, event_id: str, reason: str, actor_id: int, key: str) -> Done:
    """Process a failed (or stuck) webhook event again."""
    event = StripeEvent.objects.filter(stripe_id=(event_id or "").strip()[:100]).first()
    if event is None:
        raise _refuse("There is no such webhook event.", "not_found")
    if event.status not in (StripeEventStatus.FAILED, StripeEventStatus.PENDING):
        raise _refuse(f"Only a failed or pending event is replayed; this one is {event.status}.")

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        before = {"status": event.status, "error": event.error}
        result = stripe_event_replay(event_id=event.stripe_id)
        return (
            f"Replayed {result.stripe_id}: {result.status}"
            + (f" ({result.error})" if result.error else "."),
            {"before": before, "after": {"status": result.status, "error": result.error}},
        )

    return _perform(
        key=key,
        action=K.WEBHOOK_REPLAYED,
        actor_id=actor_id,
        reason=reason,
        subscription_id=None,
        target=event.stripe_id,
        work=work,
    )


def email_resend(
    *, subscription_id: int, notification_id: int, reason: str, actor_id: int, key: str
) -> Done:
    """Send an owed email (pending or failed) of this reader now."""

    def work(sub: Subscription | None) -> tuple[str, dict[str, Any]]:
        assert sub is not None
        note = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, user_id=reader_id_of(sub))
            .first()
        )
        if note is None:
            raise _refuse("This reader is owed no such email.", "not_found")
        if note.status == NotificationStatus.SENT:
            raise _refuse("That email was already sent.", "already_sent")
        before = {"email": note.kind, "status": note.status}
        Notification.objects.filter(pk=note.pk).update(
            status=NotificationStatus.PENDING, claim="", error=""
        )
        notifications.send(kind=note.kind, notification_ids=[note.pk])
        note.refresh_from_db()
        return (
            f"Email {note.kind}: {note.status}" + (f" ({note.error})" if note.error else "."),
            {"before": before, "after": {"status": note.status}},
        )

    return _perform(
        key=key,
        action=K.EMAIL_RESENT,
        actor_id=actor_id,
        reason=reason,
        subscription_id=subscription_id,
        target=str(notification_id),
        work=work,
    )
