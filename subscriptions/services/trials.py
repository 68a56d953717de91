"""The free trial: start it and cancel it.

Status changes go through `transitions.transition()`. One trial per *person* is the
accounts app's rule (`accounts.services.reader_trial_start` claims the person's identity,
then calls `trial_start`); this module knows subscriptions only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status as http

from config.exceptions import ApplicationError

from ..models import Subscription, SubscriptionStatus
from ..readers import Reader
from ..vocabulary import AuditAction, AuditSource
from .attribution import ReaderHint
from .transitions import subscription_for_user, transition

S = SubscriptionStatus
MAX_TRIAL_EXTENSION_DAYS = 90


class TrialAlreadyUsed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "This email address has already had a free trial.", code="trial_already_used"
        )


def trial_start(
    *,
    user: Reader,
    from_article_slug: str | None = None,
    reader_key: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Start the subscription's free trial: `trialing` from now for settings.TRIAL_DAYS
    days. `from_article_slug` (the wall the reader came from) goes into the audit entry;
    with `reader_key` (the anonymous meter the reader signs up from) it helps find the
    wall the trial is credited to. Raises TrialAlreadyUsed when this subscription had a
    trial before."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = subscription_for_user(user_id=user.pk)
        if sub.status != S.NONE or sub.trial_started_at is not None:
            raise TrialAlreadyUsed()
        return transition(
            subscription_id=sub.pk,
            to=S.TRIALING,
            source=AuditSource.TRIAL,
            action=AuditAction.TRIAL_STARTED,
            actor_id=user.pk,
            detail={"from_article": from_article_slug[:200]} if from_article_slug else {},
            now=now,
            reader=ReaderHint(reader_key=reader_key, from_article_slug=from_article_slug),
            trial_started_at=now,
            trial_ends_at=now + timedelta(days=settings.TRIAL_DAYS),
        )


def trial_cancel(
    *,
    user: Reader,
    now: datetime | None = None,
    source: AuditSource = AuditSource.READER,
    actor_id: int | None = None,
) -> Subscription:
    """End a trial at once (a trial without Stripe has no period to run out): `canceled`.
    The one path for the reader's account page, the billing API and staff alike.

    A trial already converted in Stripe is the billing service's to cancel.
    """
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(user_id=user.pk).first()
        if sub is None or sub.status != S.TRIALING:
            # The same refusal as the billing API's cancel (which ends local trials here).
            raise ApplicationError(
                "There is no free trial to cancel.",
                code="nothing_to_cancel",
                status_code=http.HTTP_409_CONFLICT,
            )
        if sub.billed_by_stripe:
            raise ApplicationError(
                "This trial is billed through Stripe: cancel it from Manage billing.",
                code="billed_trial",
            )
        return transition(
            subscription_id=sub.pk,
            to=S.CANCELED,
            source=source,
            action=AuditAction.TRIAL_CANCELED,
            actor_id=user.pk if actor_id is None else actor_id,
            now=now,
        )


def trial_extend(
    *, subscription_id: int, days: int, actor_id: int | None, now: datetime | None = None
) -> Subscription:
    """Staff: give a local trial `days` more (counted from its end, or from now when it
    has already run out). A trial Stripe bills is extended in Stripe, not here."""
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ApplicationError(
            f"A trial is extended by 1 to {MAX_TRIAL_EXTENSION_DAYS} days.", code="bad_days"
        )
    now = now or timezone.now()
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if sub.status != S.TRIALING or sub.trial_ends_at is None:
            raise ApplicationError("There is no free trial to extend.", code="no_trial")
        if sub.billed_by_stripe:
            raise ApplicationError(
                "This trial is billed through Stripe: extend it in Stripe.", code="billed_trial"
            )
        return transition(
            subscription_id=sub.pk,
            to=S.TRIALING,
            source=AuditSource.OPS,
            action=AuditAction.TRIAL_EXTENDED,
            actor_id=actor_id,
            detail={"days": days},
            now=now,
            trial_ends_at=max(sub.trial_ends_at, now) + timedelta(days=days),
        )
