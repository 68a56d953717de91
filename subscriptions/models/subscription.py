from __future__ import annotations

from django.conf import settings
from django.db import models

from ..vocabulary import LIVE_STATUSES, SubscriptionStatus

__all__ = ["LIVE_STATUSES", "Subscription", "SubscriptionQuerySet", "SubscriptionStatus"]


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def billed_by_stripe(self) -> SubscriptionQuerySet:
        """Rows linked to a live Stripe subscription (see `Subscription.billed_by_stripe`)."""
        return self.filter(stripe_subscription_id__isnull=False, status__in=LIVE_STATUSES)

    def local_trials(self) -> SubscriptionQuerySet:
        """Trials of ours alone: no Stripe subscription behind them (Stripe ends its own)."""
        return self.filter(status=SubscriptionStatus.TRIALING, stripe_subscription_id__isnull=True)


class Subscription(models.Model):
    """A reader's one subscription record. Status changes only through
    subscriptions.services.transitions; entitlement is derived from it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscription",
    )
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.NONE
    )
    plan = models.ForeignKey("subscriptions.Plan", on_delete=models.PROTECT, null=True, blank=True)
    trial_started_at = models.DateTimeField(null=True, blank=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)
    complimentary_until = models.DateTimeField(null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    # The Stripe `created` (and event id, to break ties) of the newest event applied: an
    # older event never rolls the state back.
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    stripe_synced_event = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "trial_ends_at"], name="sub_status_trial_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=SubscriptionStatus.values),
                name="subscription_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="trialing") | models.Q(trial_ends_at__isnull=False),
                name="subscription_trialing_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or 'deleted reader'}: {self.status}"

    @property
    def billed_by_stripe(self) -> bool:
        """Linked to a live Stripe subscription: Stripe bills the reader, so checkout,
        cancel and resume go through Stripe (a local trial has no Stripe id)."""
        return bool(self.stripe_subscription_id) and self.status in LIVE_STATUSES
