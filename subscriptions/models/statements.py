from django.conf import settings
from django.db import models


class Payment(models.Model):
    """Money received for a subscription (one Stripe invoice), net of refunds: the
    base of the publishers' revenue pool."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    stripe_invoice_id = models.CharField(max_length=100, unique=True)
    amount = models.PositiveIntegerField(help_text="Paid, in minor units")
    refunded = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="gbp")
    paid_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded__lte=models.F("amount")),
                name="payment_refund_not_above_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_invoice_id}: {self.amount - self.refunded} {self.currency}"


class PublisherStatement(models.Model):
    """A publisher's share of one month's pool, split by qualified reads (entitled reads,
    at most one per reader, article and day). Final once written."""

    publisher = models.ForeignKey(
        "articles.Publisher", on_delete=models.PROTECT, related_name="statements"
    )
    month = models.DateField(help_text="The first day of the month")
    qualified_reads = models.PositiveIntegerField()
    total_qualified_reads = models.PositiveIntegerField()
    pool = models.PositiveIntegerField(help_text="The month's whole pool, minor units")
    amount = models.PositiveIntegerField(help_text="This publisher's share, minor units")
    currency = models.CharField(max_length=3, default="gbp")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "publisher_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["publisher", "month", "currency"], name="statement_once_a_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.publisher_id} {self.month:%Y-%m}: {self.amount} {self.currency}"
