"""Resolving and changing paywall rules.

Every title's resolved rule (title -> publisher -> site) is computed in one pass and
cached as one map, stamped with a version; any rule change bumps the version, so the
next view everywhere sees it. Each process also keeps the map it last loaded and only
asks the cache for the version on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from config import versions

from ..models import AccessRule, RuleScope
from .decide import Rule
from .levels import AccessLevel, ArticleAccess
from .protocols import PaywalledArticle

VERSION_KEY = versions.register("paywall:rules:version")
MAP_KEY = "paywall:rules:map:{version}"
CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class TitleRule:
    level: str
    preview_paragraphs: int
    free_articles_cap: int | None


_local: dict[str, Any] = {"version": None, "map": None}


def site_defaults() -> TitleRule:
    return TitleRule(
        level=settings.PAYWALL_DEFAULT_LEVEL,
        preview_paragraphs=settings.PAYWALL_PREVIEW_PARAGRAPHS,
        free_articles_cap=None,
    )


def _pick(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _build_map() -> dict[int, TitleRule]:
    """Two queries: every rule, and every title's publisher."""
    site = site_defaults()
    site_rule = None
    by_publisher: dict[int, AccessRule] = {}
    by_publication: dict[int, AccessRule] = {}
    for rule in AccessRule.objects.all():
        if rule.scope == RuleScope.SITE:
            site_rule = rule
        elif rule.publisher_id is not None:
            by_publisher[rule.publisher_id] = rule
        elif rule.publication_id is not None:
            by_publication[rule.publication_id] = rule
    publication_model = apps.get_model("articles", "Publication")
    resolved: dict[int, TitleRule] = {}
    for pub_id, publisher_id in publication_model.objects.values_list("id", "publisher_id"):
        chain = [by_publication.get(pub_id), by_publisher.get(publisher_id), site_rule]
        resolved[pub_id] = TitleRule(
            level=_pick(*(r.access_level for r in chain if r), site.level),
            preview_paragraphs=_pick(
                *(r.preview_paragraphs for r in chain if r), site.preview_paragraphs
            ),
            free_articles_cap=_pick(*(r.free_articles_cap for r in chain if r)),
        )
    return resolved


def current_version() -> str:
    """The rules' version stamp (read once per request with the other stamps)."""
    return versions.current(VERSION_KEY)


def title_rules(*, refresh: bool = False) -> dict[int, TitleRule]:
    """Every title's resolved rule. Hot path: one cache read (the version)."""
    version = current_version()
    if not refresh and _local["version"] == version and _local["map"] is not None:
        return _local["map"]
    key = MAP_KEY.format(version=version)
    resolved = None if refresh else cache.get(key)
    if resolved is None:
        resolved = _build_map()
        cache.set(key, resolved, CACHE_SECONDS)
    _local.update(version=version, map=resolved)
    return resolved


def title_rule(publication_id: int) -> TitleRule:
    rule = title_rules().get(publication_id)
    if rule is None:
        # A title created after the map was built: rebuild the map under the same
        # version (no rule changed, so nothing derived from rules needs to go).
        rule = title_rules(refresh=True).get(publication_id, site_defaults())
    return rule


def article_rule(article: PaywalledArticle) -> Rule:
    """The article's rule: its own override, else its title's resolved rule."""
    base = title_rule(article.publication_id)
    override = article.access_level
    level = base.level if override == ArticleAccess.INHERIT else override
    return Rule(
        level=level,
        preview_paragraphs=base.preview_paragraphs,
        free_articles_cap=base.free_articles_cap,
    )


def invalidate() -> None:
    """Drop every cached resolution, in every process (they check the version)."""
    versions.bump(VERSION_KEY)
    _local.update(version=None, map=None)


def rule_set(
    *,
    scope: str,
    target_id: int | None = None,
    access_level: str | None = None,
    free_articles_cap: int | None = None,
    preview_paragraphs: int | None = None,
) -> AccessRule:
    """Create or replace the rule at one scope; takes effect on the next view."""
    if access_level is not None and access_level not in AccessLevel.values:
        raise ValueError(f"Unknown access level {access_level!r}")
    lookup: dict[str, Any] = {"scope": scope}
    if scope == RuleScope.PUBLISHER:
        lookup["publisher_id"] = target_id
    elif scope == RuleScope.PUBLICATION:
        lookup["publication_id"] = target_id
    with transaction.atomic():
        rule, _ = AccessRule.objects.update_or_create(
            **lookup,
            defaults={
                "access_level": access_level,
                "free_articles_cap": free_articles_cap,
                "preview_paragraphs": preview_paragraphs,
            },
        )
        # Now for this transaction's own reads, and again after commit for everyone
        # (a process may have rebuilt the map from the old rows in between).
        invalidate()
        transaction.on_commit(invalidate)
    return rule


def rules_delete(*, rule_ids: Iterable[int]) -> int:
    """Delete rules (each scope falls back to the next); takes effect on the next view."""
    with transaction.atomic():
        deleted, _ = AccessRule.objects.filter(pk__in=list(rule_ids)).delete()
        invalidate()
        transaction.on_commit(invalidate)
    return deleted


def titles_with_rules() -> list[int]:
    return list(
        AccessRule.objects.filter(scope=RuleScope.PUBLICATION).values_list(
            "publication_id", flat=True
        )
    )
