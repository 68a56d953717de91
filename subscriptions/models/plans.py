from django.db import models


class PlanInterval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Plan(models.Model):
    """A price a reader can subscribe at; maps to one Stripe Price."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    interval = models.CharField(max_length=8, choices=PlanInterval.choices)
    amount = models.PositiveIntegerField(help_text="In minor units (pence, cents).")
    currency = models.CharField(max_length=3, default="gbp")
    stripe_price_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["amount"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval__in=PlanInterval.values), name="plan_interval_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
