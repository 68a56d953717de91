from django.conf import settings
from django.db import models

from ..vocabulary import NotificationKind


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Notification(models.Model):
    """An email we owe a reader, recorded once per (reader, kind, period) in the same
    transaction as the change that calls for it, and sent afterwards by one task. The
    unique key is what makes every rerun (a job's, a webhook's) send nothing twice.

    An email to someone who may have no account yet (a staff invitation) names the
    address instead of the user, and is owed once per (address, kind, period)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    email = models.EmailField(
        max_length=254, blank=True, help_text="The address, when the email names no account"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    period = models.CharField(
        max_length=200,
        help_text="What the email is about (a date, an invoice, 'account'): the dedupe key",
    )
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, help_text="The sender holding it")
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "period"], name="notification_once_per_period"
            ),
            models.UniqueConstraint(
                fields=["email", "kind", "period"],
                condition=models.Q(user__isnull=True),
                name="notification_address_once_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""),
                name="notification_has_recipient",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id or self.email} ({self.period}): {self.status}"

    @property
    def recipient(self) -> str:
        return self.user.email if self.user is not None else self.email
