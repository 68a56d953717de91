"""Our small mirror of Stripe: the reader's Customer, every webhook event received, the
card fingerprints that already had a trial."""

from django.conf import settings
from django.db import models


class BillingCustomer(models.Model):
    """The Stripe Customer of one reader (kept when the reader is deleted)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billing_customer",
    )
    stripe_customer_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class StripeEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"


class StripeEvent(models.Model):
    """One webhook event, stored once by Stripe's id: the replayable event log."""

    stripe_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    created = models.DateTimeField(help_text="Stripe's `created` of the event.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=StripeEventStatus.choices, default=StripeEventStatus.PENDING
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A drain is processing this pending event until then; after it, a crashed "
        "drain's claim has lapsed and any drain takes the event again.",
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="stripe_event_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=StripeEventStatus.values),
                name="stripe_event_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"


class CardFingerprint(models.Model):
    """A card (Stripe fingerprint) that already had a trial, and the first reader who had it."""

    fingerprint = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.fingerprint
