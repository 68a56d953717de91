"""Reads for the portal and the publisher API. Every query that returns a title, an
article, a version or a figure is scoped to the publishers the caller is staff of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from articles.models import Article, Publication, Publisher, PublisherStaff, StaffRole
from config.parsers import storable_text
from subscriptions.models import AccessRule, RuleScope

from .models import RULE_FIELDS, Invitation, RuleDraft, RuleVersion

SOURCE_LABELS = {
    "title": "this title",
    "publisher": "publisher default",
    "site": "site default",
    "none": "none set",
}


def memberships(*, user: Any) -> list[PublisherStaff]:
    """The caller's staff memberships, read on every request (removal is immediate)."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        PublisherStaff.objects.filter(user_id=user.pk)
        .select_related("publisher")
        .order_by("publisher__name")
    )


def membership(*, user: Any, publisher_slug: str) -> PublisherStaff | None:
    if user is None or not user.is_authenticated:
        return None
    return (
        PublisherStaff.objects.filter(user_id=user.pk, publisher__slug=publisher_slug)
        .select_related("publisher")
        .first()
    )


def staff_publications(*, user: Any, publisher: Publisher | None = None) -> QuerySet[Publication]:
    qs = Publication.objects.filter(publisher__staff__user_id=user.pk).select_related("publisher")
    if publisher is not None:
        qs = qs.filter(publisher=publisher)
    return qs.order_by("name")


def staff_publication(*, user: Any, slug: str) -> tuple[Publication, str] | None:
    """The title and the caller's role over it, or None (not theirs, or no such title)."""
    row = (
        PublisherStaff.objects.filter(user_id=user.pk, publisher__publications__slug=slug)
        .values_list("role", flat=True)
        .first()
    )
    if row is None:
        return None
    return Publication.objects.select_related("publisher").get(slug=slug), row


def staff_article(*, user: Any, slug: str) -> tuple[Article, str] | None:
    role = (
        PublisherStaff.objects.filter(user_id=user.pk, publisher__publications__articles__slug=slug)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return None
    return Article.objects.select_related("publication__publisher").get(slug=slug), role


def is_admin(role: str) -> bool:
    return role == StaffRole.ADMIN


@dataclass(frozen=True)
class ResolvedValue:
    value: Any
    source: str  # "title", "publisher", "site" or "none"

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]


@dataclass(frozen=True)
class ResolvedRule:
    """A title's own values (None = inherit) and what applies, with where it comes from."""

    own: dict[str, Any]
    publisher_default: dict[str, Any]
    resolved: dict[str, ResolvedValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.own,
            "resolved": {name: rv.value for name, rv in self.resolved.items()},
            "sources": {name: rv.source for name, rv in self.resolved.items()},
        }


def _rule_values(rule: AccessRule | None) -> dict[str, Any]:
    return {name: getattr(rule, name) if rule else None for name in RULE_FIELDS}


def rule_values(*, publisher: Publisher, publication: Publication | None) -> dict[str, Any]:
    """The values set at one scope (the title's, or the publisher default's)."""
    if publication is not None:
        rule = AccessRule.objects.filter(
            scope=RuleScope.PUBLICATION, publication_id=publication.pk
        ).first()
    else:
        rule = AccessRule.objects.filter(
            scope=RuleScope.PUBLISHER, publisher_id=publisher.pk
        ).first()
    return _rule_values(rule)


def resolved_rules(*, publications: list[Publication]) -> dict[int, ResolvedRule]:
    """Each title's own values and resolved values with their sources, in two queries.
    Resolution is the paywall's (title -> publisher -> site -> settings)."""
    pub_ids = [p.pk for p in publications]
    publisher_ids = {p.publisher_id for p in publications}
    rules = AccessRule.objects.filter(
        Q(scope=RuleScope.SITE)
        | Q(scope=RuleScope.PUBLISHER, publisher_id__in=publisher_ids)
        | Q(scope=RuleScope.PUBLICATION, publication_id__in=pub_ids)
    )
    site_rule = None
    by_publisher: dict[int, AccessRule] = {}
    by_publication: dict[int, AccessRule] = {}
    for rule in rules:
        if rule.scope == RuleScope.SITE:
            site_rule = rule
        elif rule.publisher_id is not None:
            by_publisher[rule.publisher_id] = rule
        elif rule.publication_id is not None:
            by_publication[rule.publication_id] = rule
    site_values = _rule_values(site_rule)
    result: dict[int, ResolvedRule] = {}
    for pub in publications:
        own = _rule_values(by_publication.get(pub.pk))
        default = _rule_values(by_publisher.get(pub.publisher_id))
        resolved = _resolve([("title", own), ("publisher", default), ("site", site_values)])
        result[pub.pk] = ResolvedRule(own=own, publisher_default=default, resolved=resolved)
    return result


def _resolve(chain: list[tuple[str, dict[str, Any]]]) -> dict[str, ResolvedValue]:
    """The first value set along `chain` (narrowest scope first), else the settings'."""
    fallback = {
        "access_level": settings.PAYWALL_DEFAULT_LEVEL,
        "free_articles_cap": None,
        "preview_paragraphs": settings.PAYWALL_PREVIEW_PARAGRAPHS,
    }
    resolved: dict[str, ResolvedValue] = {}
    for name in RULE_FIELDS:
        for source, values in chain:
            if values[name] is not None:
                resolved[name] = ResolvedValue(values[name], source)
                break
        else:
            value = fallback[name]
            resolved[name] = ResolvedValue(value, "site" if value is not None else "none")
    return resolved


def live_resolved(
    *, publisher: Publisher, publication: Publication | None
) -> dict[str, ResolvedValue]:
    """What applies now at one scope, each value with where it comes from: a title's
    resolved rule, or the publisher default over the site rule (for the default's page)."""
    if publication is not None:
        return resolved_rule(publication=publication).resolved
    site = AccessRule.objects.filter(scope=RuleScope.SITE).first()
    return _resolve(
        [
            ("publisher", rule_values(publisher=publisher, publication=None)),
            ("site", _rule_values(site)),
        ]
    )


def resolved_rule(*, publication: Publication) -> ResolvedRule:
    return resolved_rules(publications=[publication])[publication.pk]


def _scope_filter(*, publisher: Publisher, publication: Publication | None) -> Q:
    if publication is not None:
        return Q(publication_id=publication.pk)
    return Q(publisher_id=publisher.pk, publication__isnull=True)


def rule_versions(
    *, publisher: Publisher, publication: Publication | None
) -> QuerySet[RuleVersion]:
    """Newest first."""
    return (
        RuleVersion.objects.filter(_scope_filter(publisher=publisher, publication=publication))
        .select_related("created_by")
        .order_by("-number")
    )


def live_version(*, publisher: Publisher, publication: Publication | None) -> RuleVersion | None:
    return rule_versions(publisher=publisher, publication=publication).first()


def rule_draft(*, publisher: Publisher, publication: Publication | None) -> RuleDraft | None:
    return (
        RuleDraft.objects.filter(_scope_filter(publisher=publisher, publication=publication))
        .select_related("updated_by")
        .first()
    )


def staff_articles(
    *,
    publisher: Publisher,
    q: str = "",
    publication_slug: str = "",
    access_level: str = "",
) -> QuerySet[Article]:
    qs = Article.objects.filter(publication__publisher=publisher).select_related("publication")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(slug__icontains=q) | Q(author__icontains=q))
    if publication_slug:
        qs = qs.filter(publication__slug=publication_slug)
    if access_level:
        qs = qs.filter(access_level=access_level)
    return qs.order_by("-published_at", "-id")


def publisher_staff(*, publisher: Publisher) -> QuerySet[PublisherStaff]:
    return PublisherStaff.objects.filter(publisher=publisher).select_related("user")


def open_invitations(*, publisher: Publisher) -> QuerySet[Invitation]:
    return Invitation.objects.filter(publisher=publisher, accepted_at__isnull=True)


def resolve_values(*, publication: Publication, own: dict[str, Any]) -> dict[str, Any]:
    """What would apply to the title if its own values were `own` (None = inherit from
    the publisher default, then the site rule, then the settings)."""
    wider = {
        r.scope: r
        for r in AccessRule.objects.filter(
            Q(scope=RuleScope.SITE)
            | Q(scope=RuleScope.PUBLISHER, publisher_id=publication.publisher_id)
        )
    }
    fallback = {
        "access_level": settings.PAYWALL_DEFAULT_LEVEL,
        "free_articles_cap": None,
        "preview_paragraphs": settings.PAYWALL_PREVIEW_PARAGRAPHS,
    }
    result: dict[str, Any] = {}
    for name in RULE_FIELDS:
        candidates = [own.get(name)] + [
            getattr(wider[scope], name) if scope in wider else None
            for scope in (RuleScope.PUBLISHER, RuleScope.SITE)
        ]
        result[name] = next((v for v in candidates if v is not None), fallback[name])
    return result


def rule_summary(*, publication: Publication) -> dict[str, Any]:
    """The API's `rule`: own values, resolved values, their sources, the live version."""
    live = live_version(publisher=publication.publisher, publication=publication)
    return {
        "publication": {"slug": publication.slug, "name": publication.name},
        **resolved_rule(publication=publication).as_dict(),
        "version": live.number if live else None,
    }


def version_rows(*, publisher: Publisher, publication: Publication | None) -> list[dict[str, Any]]:
    rows = []
    for index, v in enumerate(rule_versions(publisher=publisher, publication=publication)):
        rows.append(
            {
                "version": v.number,
                **v.values(),
                "note": v.note,
                "by": v.created_by.email if v.created_by else None,
                "at": v.created_at,
                "live": index == 0,
                "before": v.before,
                "rolled_back_to": v.rolled_back_to,
            }
        )
    return rows


def invitation(*, token: str) -> Invitation | None:
    if not token or len(token) > 64 or not storable_text(token):  # a NUL: PostgreSQL refuses
        return None
    return Invitation.objects.select_related("publisher").filter(token=token).first()
