"""What happened, kept for operations: every change of a subscription's MRR, every run
of a scheduled job, the daily metric snapshots, and the receipts that make a staff
action happen once however often its form is submitted."""

from django.conf import settings
from django.db import models

from ..vocabulary import MrrMovement, StaffActionKind


class MrrChange(models.Model):
    """One change of one subscription's monthly recurring revenue, written by the
    transition service under the row lock. `before` is always the previous change's
    `after` (0 for the first), so the movements of any period add up exactly to the
    difference between its closing and opening MRR."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="mrr_changes"
    )
    at = models.DateTimeField()
    before = models.PositiveIntegerField(help_text="MRR before, minor units")
    after = models.PositiveIntegerField(help_text="MRR after, minor units")
    currency = models.CharField(max_length=3, default="gbp")
    movement = models.CharField(max_length=12, choices=MrrMovement.choices)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["at"], name="mrr_change_at"),
            models.Index(fields=["subscription", "at"], name="mrr_change_sub_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(before=models.F("after")), name="mrr_change_changes"
            ),
            models.CheckConstraint(
                condition=models.Q(movement__in=MrrMovement.values), name="mrr_movement_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.movement} {self.before}->{self.after}"


class JobRun(models.Model):
    """One run of a scheduled job (by the worker or `run_job`): when, how long, result."""

    name = models.CharField(max_length=40)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Empty while running")
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="job_run_name_started")]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M}"


class MetricSnapshot(models.Model):
    """The subscription figures at the end of one day (UTC), recomputed from the history
    by the `snapshot_metrics` job: one row per day, rewritten when a day is redone."""

    day = models.DateField(unique=True)
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"metrics {self.day}"


class StaffAction(models.Model):
    """The audit log of staff actions: who did what, when, why, with the state before
    and after. Its unique `key` comes from the confirmation form, and the action inserts
    it first, in the action's transaction: a double submit does one thing."""

    key = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=40, choices=StaffActionKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    reason = models.TextField()
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_actions",
    )
    target = models.CharField(max_length=100, blank=True, help_text="e.g. a Stripe id")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        permissions = [
            ("extend_trial", "Can extend a trial"),
            ("grant_complimentary", "Can grant complimentary access"),
            ("cancel_subscription", "Can cancel a subscription"),
            ("refund_payment", "Can refund a payment"),
            ("resync_subscription", "Can resync a subscription from Stripe"),
            ("replay_webhook", "Can replay a webhook event"),
            ("resend_email", "Can resend an owed email"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor}"
