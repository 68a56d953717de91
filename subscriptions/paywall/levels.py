"""The paywall's vocabulary: access levels and the reasons a decision gives."""

from django.db import models


class AccessLevel(models.TextChoices):
    FREE = "free", "Free"
    METERED = "metered", "Metered"
    REGISTERED = "registered", "Registered readers"
    PREMIUM = "premium", "Subscribers only"


class ArticleAccess(models.TextChoices):
    """An article's own setting: inherit its title's rule, or override it."""

    INHERIT = "inherit", "Inherit from the title"
    FREE = "free", "Free"
    METERED = "metered", "Metered"
    REGISTERED = "registered", "Registered readers"
    PREMIUM = "premium", "Subscribers only"


class Reason(models.TextChoices):
    FREE = "free"
    SUBSCRIBER = "subscriber"
    TRIAL = "trial"
    COMPLIMENTARY = "complimentary"
    METERED = "metered"
    REGISTERED = "registered"
    METER_EXHAUSTED = "meter_exhausted"
    REGISTRATION_REQUIRED = "registration_required"
    SUBSCRIBERS_ONLY = "subscribers_only"


WALL_REASONS = frozenset(
    {Reason.METER_EXHAUSTED, Reason.REGISTRATION_REQUIRED, Reason.SUBSCRIBERS_ONLY}
)
