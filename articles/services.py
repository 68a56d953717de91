"""Writes to the catalogue."""

from __future__ import annotations

import nh3

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
    "br",
    "hr",
    "code",
    "pre",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def sanitise_body(html: str) -> str:
    """Article bodies are stored sanitised, so rendering them with |safe is sound."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def article_access_set(*, article_ids: list[int], access_level: str) -> int:
    """Set (or clear, with "inherit") the paywall override of these articles; takes
    effect on the next view in every process. Returns how many articles changed."""
    from django.db import transaction

    from subscriptions import paywall

    from .models import Article, ArticleAccess

    if access_level not in ArticleAccess.values:
        raise ValueError(f"Unknown access level {access_level!r}")
    with transaction.atomic():
        changed = (
            Article.objects.filter(pk__in=article_ids)
            .exclude(access_level=access_level)
            .update(access_level=access_level)
        )
        if changed:
            paywall.rules_changed()
    return changed
