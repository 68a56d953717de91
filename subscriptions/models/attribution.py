from django.db import models

from ..vocabulary import ConversionKind


class Conversion(models.Model):
    """One start of a trial or of a paid subscription, with the wall it is credited to:
    the reader's last walled article in the 24 h before it started (none: no wall).

    Written once, by `transition()` when the subscription starts (services/attribution.py
    holds the rule); the publishers' stats only count these rows.
    """

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="conversions"
    )
    kind = models.CharField(max_length=12, choices=ConversionKind.choices)
    started_at = models.DateTimeField()
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The walled article the start is credited to.",
    )
    publication = models.ForeignKey(
        "articles.Publication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The article's title (kept if the article is removed).",
    )
    walled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reader met that wall."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "started_at"], name="conversion_once"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ConversionKind.values), name="conversion_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(publication__isnull=True) | models.Q(walled_at__isnull=False),
                name="conversion_attributed_has_wall_time",
            ),
        ]
        indexes = [
            models.Index(fields=["publication", "started_at"], name="conversion_title_started"),
            models.Index(fields=["started_at"], name="conversion_started"),
        ]

    def __str__(self) -> str:
        credited = f"title {self.publication_id}" if self.publication_id else "no wall"
        when = f"{self.started_at:%Y-%m-%d %H:%M}"
        return f"{self.kind} of {self.subscription_id} at {when}: {credited}"
