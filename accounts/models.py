"""The reader's account. Email is the login; there is no username."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from .identity import identity_hash


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).strip()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if not extra["is_staff"] or not extra["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", max_length=254, unique=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[misc,assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class TrialClaim(models.Model):
    """One free trial per person: the hash of the normalised email of whoever started it.

    Kept when the account is deleted (the user link goes, the hash stays), so the same
    person — in any Gmail dot/+tag/case variant — cannot start a second trial. It also
    records the trial's attribution: which article's wall the reader came from.
    """

    identity_hash = models.CharField(max_length=64, unique=True)
    user = models.OneToOneField(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trial_claim",
    )
    claimed_at = models.DateTimeField()
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trial_claims",
        help_text="The article whose wall started the trial (attribution).",
    )
    article_slug = models.CharField(max_length=200, blank=True)
    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the claiming account verified the address: from then on the claim "
        "binds for good.",
    )

    class Meta:
        ordering = ["-claimed_at"]

    def __str__(self) -> str:
        return f"trial claim {self.identity_hash[:10]}… ({self.user or 'deleted reader'})"

    def binds(self) -> bool:
        """Does this claim still keep the address's person from another trial?

        A verified address does, for good (even after the account is deleted). An
        unverified one only while its account still holds the address: then the owner
        recovers that account by a password reset. An unverified claim whose account left
        the address (changed its email, was deleted) proves nothing and gives way, so
        signing up with someone else's address cannot lock its owner out.
        """
        if self.verified_at is not None:
            return True
        return self.user is not None and identity_hash(self.user.email) == self.identity_hash
