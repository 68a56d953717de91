from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One audited change: a line of a subscription's timeline (every status change and
    ops action) or a publisher's change (rules, article overrides, staff)."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    publisher = models.ForeignKey(
        "articles.Publisher",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=20, help_text="trial, stripe, ops, job, reader, publisher")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.from_status}->{self.to_status}"


class DriftReport(models.Model):
    """One run of the Stripe reconciliation: what it checked and what it had to repair."""

    ran_at = models.DateTimeField(db_index=True)
    checked = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M}: {self.repaired} repaired of {self.checked}"
