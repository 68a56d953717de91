"""Writes to the catalogue. Article bodies are stored sanitised (the pages render them
`|safe`), so every write of a body goes through `article_save()` or `articles_create()`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import nh3
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from subscriptions import paywall

from .models import Article, ArticleAccess, Publisher, PublisherStaff, StaffRole
from .signals import content_changed

ALLOWED_TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "figure",
    "figcaption",
    "img",
    "table",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "br",
    "hr",
    "code",
    "pre",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
# Links and images: web URLs (and mail links); never javascript:, data: or the like.
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_body(html: str) -> str:
    """Only the markup an article needs; scripts, styles, event handlers, frames and
    unsafe URLs go (script and style with their content). Idempotent."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def article_body_clean(html: str) -> str:
    """The body as it will be stored; refused when nothing is left of it."""
    body = sanitise_body(html)
    if not body:
        raise ValidationError(
            "Nothing is left of this body once unsafe markup is removed.", code="empty_body"
        )
    return body


def article_save(*, article: Article) -> Article:
    """Create or update one article, its body sanitised. A changed level (override) tells
    the paywall, which rebuilds the rule simulator's view of the title in the background."""
    article.body = article_body_clean(article.body)
    article.full_clean(validate_unique=False)
    with transaction.atomic():
        before = (
            Article.objects.filter(pk=article.pk)
            .values_list("access_level", "publication_id")
            .first()
            if article.pk
            else None
        )
        article.save()
        if before is None:
            if article.access_level != ArticleAccess.INHERIT:
                paywall.articles_added(articles=[(article.pk, article.publication_id)])
        elif before != (article.access_level, article.publication_id):
            paywall.article_levels_changed(
                publication_ids=sorted({before[1], article.publication_id})
            )
    return article


def _ids_by_slug(slugs: Sequence[str], *, batch_size: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(slugs), batch_size):
        chunk = slugs[start : start + batch_size]
        found.update(Article.objects.filter(slug__in=chunk).values_list("slug", "pk"))
    return found


def articles_create(*, articles: Sequence[Article], batch_size: int = 500) -> None:
    """Insert many new articles at once (slugs already taken are skipped), bodies sanitised.
    The catalogue's stamp moves (a bulk insert sends no signal); the paywall is told of
    the new overridden articles."""
    for article in articles:
        article.body = article_body_clean(article.body)
    titles = {a.slug: a.publication_id for a in articles if a.access_level != ArticleAccess.INHERIT}
    with transaction.atomic():
        taken = _ids_by_slug(list(titles), batch_size=batch_size)
        Article.objects.bulk_create(articles, batch_size=batch_size, ignore_conflicts=True)
        content_changed()
        new = [slug for slug in titles if slug not in taken]
        if new:
            created = _ids_by_slug(new, batch_size=batch_size)
            paywall.articles_added(articles=[(pk, titles[slug]) for slug, pk in created.items()])


@dataclass(frozen=True)
class StaffGrant:
    email: str
    account_created: bool
    generated_password: str | None  # set only for a new account given no password
    password_changed: bool
    staff_created: bool
    role: str
    role_changed: bool


def publisher_staff_add(
    *, email: str, publisher: Publisher, password: str | None = None, role: str | None = None
) -> StaffGrant:
    """Give an account (created if new) staff rights over one publisher. Idempotent; an
    existing account's password changes only when one is given, an existing member's role
    only when one is given (a new member is an admin unless told otherwise)."""
    user_model = get_user_model()
    generated = None
    changed = False
    with transaction.atomic():
        user = user_model._default_manager.filter(email__iexact=email).first()
        created = user is None
        if user is None:
            if password is None:
                password = generated = secrets.token_urlsafe(12)
            user = user_model._default_manager.create_user(email=email, password=password)
        elif password is not None:
            user.set_password(password)
            user.save(update_fields=["password"])
            changed = True
        staff, staff_created = PublisherStaff.objects.get_or_create(
            user=user, publisher=publisher, defaults={"role": role or StaffRole.ADMIN}
        )
        role_changed = False
        if role is not None and staff.role != role:
            staff.role, role_changed = role, True
            staff.save(update_fields=["role"])
    return StaffGrant(
        email=user.email,
        account_created=created,
        generated_password=generated,
        password_changed=changed,
        staff_created=staff_created,
        role=staff.role,
        role_changed=role_changed,
    )


def article_access_set(*, article_ids: list[int], access_level: str) -> int:
    """Set (or clear, with "inherit") the paywall override of these articles; takes
    effect on the next view in every process. Returns how many articles changed."""
    if access_level not in ArticleAccess.values:
        raise ValueError(f"Unknown access level {access_level!r}")
    with transaction.atomic():
        changing = Article.objects.filter(pk__in=article_ids).exclude(access_level=access_level)
        titles = sorted(set(changing.values_list("publication_id", flat=True)))
        changed = changing.update(access_level=access_level)
        if changed:
            paywall.article_levels_changed(publication_ids=titles)
    return changed
