"""The catalogue: publishers, their titles (publications), articles, topics and picks."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from subscriptions.paywall import AccessLevel, ArticleAccess

__all__ = [
    "AccessLevel",
    "Article",
    "ArticleAccess",
    "EditorialPick",
    "Publication",
    "Publisher",
    "PublisherStaff",
    "StaffRole",
    "Topic",
]


class Publisher(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Publication(models.Model):
    """A title, e.g. "International Business Times UK"."""

    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="publications")
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    brand_colour = models.CharField(
        max_length=7,
        default="#1f2937",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a #rrggbb colour.")],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("articles:publication", args=[self.slug])


class Topic(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("articles:topic", args=[self.slug])


class Article(models.Model):
    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="articles")
    slug = models.SlugField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    standfirst = models.CharField(max_length=600, blank=True)
    author = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="Sanitised HTML (see articles.services.sanitise_body).")
    published_at = models.DateTimeField(db_index=True)
    topics = models.ManyToManyField(Topic, related_name="articles", blank=True)
    access_level = models.CharField(
        max_length=16, choices=ArticleAccess.choices, default=ArticleAccess.INHERIT
    )
    news_value = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Publisher-set importance, 0-100; ranks Top stories with freshness.",
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["publication", "-published_at"], name="article_pub_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(news_value__lte=100), name="article_news_value_max_100"
            ),
            models.CheckConstraint(
                condition=models.Q(access_level__in=ArticleAccess.values),
                name="article_access_level_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("articles:article", args=[self.slug])


class EditorialPick(models.Model):
    """Our Picks: an editor-chosen, ordered list, each pick shown between its start and end."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="picks")
    position = models.PositiveSmallIntegerField(default=0)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="pick_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.article}"


class StaffRole(models.TextChoices):
    """What a publisher's staff member may do in the portal and the publisher API."""

    ADMIN = "admin", "Admin (rules, staff, statements)"
    EDITOR = "editor", "Editor (article overrides, stats)"


class PublisherStaff(models.Model):
    """Gives an account staff rights over one publisher's titles, in a role."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="publisher_memberships"
    )
    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=8, choices=StaffRole.choices, default=StaffRole.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "publisher"], name="publisher_staff_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=StaffRole.values), name="publisher_staff_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.publisher}"
