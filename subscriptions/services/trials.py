"""The free trial: start it (once per person) and cancel it.

Status changes go through `transitions.transition()`; the one-trial-per-person rule is a
unique `accounts.TrialClaim` row keyed by the hash of the normalised email.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from ..models import Subscription, SubscriptionStatus
from .transitions import subscription_for_user, transition

if TYPE_CHECKING:
    from accounts.models import User

S = SubscriptionStatus


class EmailAlreadyRegistered(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "An account already exists for this email address. Sign in instead.",
            code="email_taken",
        )


class TrialAlreadyUsed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "This email address has already had a free trial.", code="trial_already_used"
        )


def _claim(*, user: User, from_article_slug: str | None, now: datetime) -> None:
    """Insert the person's TrialClaim or refuse: EmailAlreadyRegistered when a live
    account holds the claim, TrialAlreadyUsed when only a deleted account's claim is left.
    A claim that no longer binds (unverified, its account gone from the address) is taken
    over instead, so an address's owner is never locked out by a squatter."""
    from accounts.identity import identity_hash
    from accounts.models import TrialClaim

    digest = identity_hash(user.email)
    article = None
    slug = (from_article_slug or "").strip()
    if slug:
        article = apps.get_model("articles", "Article").objects.filter(slug=slug[:200]).first()
    try:
        with transaction.atomic():
            TrialClaim.objects.create(
                identity_hash=digest,
                user=user,
                claimed_at=now,
                article=article,
                article_slug=article.slug if article else "",
            )
    except IntegrityError:
        holder = (
            TrialClaim.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(identity_hash=digest)
            .first()
        )
        if holder is not None and not holder.binds() and holder.user_id != user.pk:
            # An unverified claim whose account left the address: it gives way.
            holder.user = user
            holder.claimed_at = now
            holder.article = article
            holder.article_slug = article.slug if article else ""
            holder.verified_at = None
            holder.save()
            return
        if holder is not None and holder.user_id not in (None, user.pk):
            raise EmailAlreadyRegistered() from None
        raise TrialAlreadyUsed() from None


def trial_start(
    *, user: User, from_article_slug: str | None = None, now: datetime | None = None
) -> Subscription:
    """Start the reader's free trial: `trialing` from now for settings.TRIAL_DAYS days.

    `from_article_slug` is the article whose wall sent the reader (attribution; ignored
    when no such article exists). Raises TrialAlreadyUsed / EmailAlreadyRegistered when
    this person (by normalised email) had a trial before.
    """
    now = now or timezone.now()
    with transaction.atomic():
        sub = subscription_for_user(user_id=user.pk)
        if sub.status != S.NONE or sub.trial_started_at is not None:
            raise TrialAlreadyUsed()
        _claim(user=user, from_article_slug=from_article_slug, now=now)
        return transition(
            subscription_id=sub.pk,
            to=S.TRIALING,
            source="trial",
            action="trial:start",
            actor_id=user.pk,
            detail={"from_article": from_article_slug[:200]} if from_article_slug else {},
            now=now,
            trial_started_at=now,
            trial_ends_at=now + timedelta(days=settings.TRIAL_DAYS),
        )


def trial_cancel(*, user: User, now: datetime | None = None) -> Subscription:
    """End a trial at once (a trial without Stripe has no period to run out): `canceled`.

    A trial already converted in Stripe is the billing service's to cancel.
    """
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(user_id=user.pk).first()
        if sub is None or sub.status != S.TRIALING:
            raise ApplicationError("There is no free trial to cancel.", code="no_trial")
        if sub.stripe_subscription_id:
            raise ApplicationError(
                "This trial is billed through Stripe: cancel it from Manage billing.",
                code="billed_trial",
            )
        return transition(
            subscription_id=sub.pk,
            to=S.CANCELED,
            source="reader",
            action="trial:cancel",
            actor_id=user.pk,
            now=now,
        )
