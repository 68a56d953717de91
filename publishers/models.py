"""Versioned paywall rules, drafts and staff invitations.

The live rule stays an `AccessRule` (the paywall reads only that); every publish writes
the new values there and a `RuleVersion` here, so the history is complete and a rollback
is a new version equal to an old one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from articles.models import StaffRole
from subscriptions.vocabulary import AccessLevel

RULE_FIELDS = ("access_level", "free_articles_cap", "preview_paragraphs")


class RuleValues(models.Model):
    """A rule's three values at one scope; NULL inherits from the wider scope."""

    publisher = models.ForeignKey("articles.Publisher", on_delete=models.CASCADE, related_name="+")
    publication = models.ForeignKey(
        "articles.Publication",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the publisher's default rule.",
    )
    access_level = models.CharField(  # noqa: DJ001 (NULL = inherit)
        max_length=12, choices=AccessLevel.choices, null=True, blank=True
    )
    free_articles_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    preview_paragraphs = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RULE_FIELDS}


class RuleVersion(RuleValues):
    """One published state of a title's (or a publisher default's) rule. Immutable."""

    number = models.PositiveIntegerField()
    before = models.JSONField(default=dict, help_text="The values this version replaced.")
    rolled_back_to = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when this version restored an older one."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "number"],
                condition=Q(publication__isnull=False),
                name="rule_version_title_number_once",
            ),
            models.UniqueConstraint(
                fields=["publisher", "number"],
                condition=Q(publication__isnull=True),
                name="rule_version_default_number_once",
            ),
        ]

    def __str__(self) -> str:
        return f"rule v{self.number} ({self.publication_id or 'default'})"


class RuleDraft(RuleValues):
    """A rule being prepared in the portal: no effect on readers until published."""

    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication"],
                condition=Q(publication__isnull=False),
                name="rule_draft_one_per_title",
            ),
            models.UniqueConstraint(
                fields=["publisher"],
                condition=Q(publication__isnull=True),
                name="rule_draft_one_per_default",
            ),
        ]

    def __str__(self) -> str:
        return f"rule draft ({self.publication_id or 'default'})"


class Invitation(models.Model):
    """An admin's invitation to join a publisher's staff; the link carries `token`."""

    publisher = models.ForeignKey(
        "articles.Publisher", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=8, choices=StaffRole.choices, default=StaffRole.EDITOR)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.publisher_id}"
