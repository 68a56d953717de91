from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from ..vocabulary import AccessLevel


class RuleScope(models.TextChoices):
    SITE = "site", "Site default"
    PUBLISHER = "publisher", "Publisher default"
    PUBLICATION = "publication", "Title"


class AccessRule(models.Model):
    """A paywall rule at one scope. Empty fields inherit from the wider scope:
    article override -> title -> publisher -> site. Change rules through
    subscriptions.paywall.rules.rule_set so that cached resolutions are dropped."""

    scope = models.CharField(max_length=12, choices=RuleScope.choices)
    publisher = models.OneToOneField(
        "articles.Publisher",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="access_rule",
    )
    publication = models.OneToOneField(
        "articles.Publication",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="access_rule",
    )
    # NULL means "inherit from the wider scope", which an empty string would blur.
    access_level = models.CharField(  # noqa: DJ001
        max_length=12, choices=AccessLevel.choices, null=True, blank=True
    )
    free_articles_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most this many metered reads per window from here."
    )
    preview_paragraphs = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="site", publisher__isnull=True, publication__isnull=True)
                    | Q(scope="publisher", publisher__isnull=False, publication__isnull=True)
                    | Q(scope="publication", publisher__isnull=True, publication__isnull=False)
                ),
                name="access_rule_scope_matches_target",
            ),
            models.UniqueConstraint(
                fields=["scope"], condition=Q(scope="site"), name="access_rule_one_site_rule"
            ),
            models.CheckConstraint(
                condition=Q(access_level__isnull=True) | Q(access_level__in=AccessLevel.values),
                name="access_rule_level_valid",
            ),
            models.CheckConstraint(
                condition=Q(preview_paragraphs__isnull=True) | Q(preview_paragraphs__lte=10),
                name="access_rule_preview_max_10",
            ),
        ]

    def __str__(self) -> str:
        target = self.publication_id or self.publisher_id or ""
        return f"{self.scope} rule {target}".strip()


class MeterEntry(models.Model):
    """One metered read counted against a reader in a window. `reader_key` is
    "u:<user id>" for accounts, "a:<meter id>" for the anonymous meter cookie."""

    reader_key = models.CharField(max_length=64)
    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="+")
    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    window_start = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reader_key", "article", "window_start"], name="meter_entry_once"
            ),
        ]
        indexes = [
            models.Index(fields=["reader_key", "window_start"], name="meter_reader_window"),
            models.Index(fields=["reader_key", "created_at"], name="meter_reader_created"),
            models.Index(fields=["created_at"], name="meter_created"),
        ]

    def __str__(self) -> str:
        return f"{self.reader_key} read {self.article_id} ({self.window_start})"


class ReadEvent(models.Model):
    """Every paywall decision, read or wall: analytics, revenue share, attribution.
    Written in batches (see subscriptions.paywall.events), never one task per read."""

    at = models.DateTimeField()
    reader_key = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="+")
    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    granted = models.BooleanField()
    reason = models.CharField(max_length=24)
    # The reader's entitlement at the time ("subscriber", "trial", "complimentary" or ""):
    # the rule simulator replays reads under another rule and needs it even for free reads.
    entitlement = models.CharField(max_length=16, blank=True, default="")
    level = models.CharField(max_length=12)
    channel = models.CharField(max_length=8, default="web")

    class Meta:
        indexes = [
            models.Index(fields=["publication", "at"], name="read_event_pub_at"),
            models.Index(fields=["article", "at"], name="read_event_article_at"),
            models.Index(fields=["reader_key", "at"], name="read_event_reader_at"),
            # The simulator's conversions: a converting user's reads in the day before.
            models.Index(fields=["user", "at"], name="read_event_user_at"),
        ]

    def __str__(self) -> str:
        verdict = "read" if self.granted else "wall"
        return f"{self.at:%Y-%m-%d %H:%M} {self.reader_key} {verdict} {self.article_id}"


# The read rollup: what the rule simulator (publishers/simulator.py) reads instead of the
# raw events. Kept up to date by subscriptions.services.read_rollup in the same batch that
# writes the events; rebuilt for a title when its article overrides change.


class ReadRollupDirty(models.Model):
    """A reader's month of a title whose rollup must be recomputed from its read events:
    written with the events, consumed by `read_rollup.apply_pending()`. Duplicates are
    fine (no unique key, so a concurrent writer never loses its row)."""

    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    reader_key = models.CharField(max_length=64)
    month = models.DateField()

    def __str__(self) -> str:
        return f"{self.publication_id} {self.reader_key} {self.month:%Y-%m}"


class ReadRollupDay(models.Model):
    """One reader's reads of one article on one day (UTC), split by how the reader could
    be decided, with the article's rank on the reader's meter that calendar month (under
    a rolling meter window: 1 + the bits of the limits under which the read is granted,
    see paywall.rollup): its
    position among the reader's articles by first unentitled read, (time, id), counting
    either every article on the meter when the title is metered (`rank_all`: articles
    inheriting or overridden to metered) or only those overridden to metered
    (`rank_ovr`). Null when the article is not in that set or was never read unentitled."""

    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    reader_key = models.CharField(max_length=64)
    month = models.DateField()
    day = models.DateField()
    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="+")
    signed_in = models.PositiveIntegerField(default=0)  # unentitled reads, signed in
    anonymous = models.PositiveIntegerField(default=0)  # unentitled reads, anonymous
    subscriber = models.PositiveIntegerField(default=0)
    trial = models.PositiveIntegerField(default=0)
    complimentary = models.PositiveIntegerField(default=0)
    rank_all = models.PositiveIntegerField(null=True)
    rank_ovr = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            # One row per reader, day and article under the month window; under a
            # rolling one, per verdict too (paywall.rollup).
            models.UniqueConstraint(
                fields=[
                    "publication",
                    "reader_key",
                    "month",
                    "day",
                    "article",
                    "rank_all",
                    "rank_ovr",
                ],
                name="read_rollup_day_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.reader_key} {self.day} {self.article_id}"


class ReadRollupCount(models.Model):
    """ReadRollupDay summed over readers: reads per day, article and meter rank (capped at
    the site limit + 1, 0 for none). A simulation sums these few rows."""

    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="+")
    rank_all = models.PositiveIntegerField()
    rank_ovr = models.PositiveIntegerField()
    signed_in = models.BigIntegerField(default=0)
    anonymous = models.BigIntegerField(default=0)
    subscriber = models.BigIntegerField(default=0)
    trial = models.BigIntegerField(default=0)
    complimentary = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "day", "article", "rank_all", "rank_ovr"],
                name="read_rollup_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.day} {self.article_id} {self.rank_all}/{self.rank_ovr}"


class ReadRollupReader(models.Model):
    """One reader of a title: the last day (UTC) of each kind of read that a rule may wall,
    so that "readers walled since day D" is one pass over these rows. `meter_all` and
    `meter_ovr` hold, for j = 1 .. site limit + 1, the last day of an unentitled read of an
    article ranked j or later on that meter, as ISO dates of 10 characters each (a read
    ranked above the limit k walls: its day is characters 10k+1 .. 10k+10)."""

    publication = models.ForeignKey(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    reader_key = models.CharField(max_length=64)
    last_day = models.DateField()  # any read
    premium_day = models.DateField(null=True)  # unentitled, article overridden to premium
    registered_day = models.DateField(null=True)  # unentitled anonymous, overridden registered
    inherit_day = models.DateField(null=True)  # unentitled, article inheriting the rule
    inherit_anonymous_day = models.DateField(null=True)  # the same, anonymous
    meter_all = models.CharField(max_length=1000, default="")
    meter_ovr = models.CharField(max_length=1000, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "reader_key"], name="read_rollup_reader_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.reader_key}"


class ReadRollupState(models.Model):
    """A title whose rollup is complete, and what it was built with (the article overrides
    and the site's meter limit): another signature means it must be rebuilt."""

    publication = models.OneToOneField(
        "articles.Publication", on_delete=models.CASCADE, related_name="+"
    )
    signature = models.CharField(max_length=64)  # "" until first built
    built_at = models.DateTimeField(null=True)
    # When a rebuild was last asked of the worker (None once built): many simulations of a
    # stale title queue one rebuild (`paywall.rollup.queue_rebuild`).
    rebuild_queued_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        built = f"{self.built_at:%Y-%m-%d %H:%M}" if self.built_at else "never"
        return f"{self.publication_id} built {built}"
