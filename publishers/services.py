"""Every write the portal and the publisher API make. Each change is audited
(`AuditEntry` with the publisher, the actor and a dotted action) in the same transaction.

Callers have already checked that the actor is staff of the publisher (publishers.access);
these services check the role where it matters and the values always.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format

from articles.models import Article, ArticleAccess, Publication, Publisher, PublisherStaff
from articles.services import article_access_set
from config.exceptions import ApplicationError
from config.links import absolute_url
from subscriptions import paywall
from subscriptions.models import AccessRule, AuditEntry, RuleScope
from subscriptions.services.notifications import notify
from subscriptions.vocabulary import AuditAction, AuditSource, NotificationKind

from .models import Invitation, RuleDraft, RuleVersion
from .selectors import rule_values

MAX_CAP = 100
MAX_PREVIEW = 10
INVITATION_DAYS = 7


def audit(
    *, publisher: Publisher, actor: Any, action: str, detail: dict[str, Any], now: datetime
) -> AuditEntry:
    return AuditEntry.objects.create(
        publisher=publisher,
        at=now,
        action=action,
        source=AuditSource.PUBLISHER,
        actor_id=getattr(actor, "pk", None),
        detail=detail,
    )


class InvalidRule(ApplicationError):
    def __init__(self, message: str):
        super().__init__(message, code="invalid_rule")


def rule_clean(
    *, access_level: Any, free_articles_cap: Any, preview_paragraphs: Any
) -> dict[str, Any]:
    """The three values checked; None means "inherit from the wider scope"."""
    if access_level in ("", "inherit"):
        access_level = None
    if access_level is not None and access_level not in paywall.AccessLevel.values:
        choices = ", ".join(paywall.AccessLevel.values)
        raise InvalidRule(f"access_level must be one of {choices}, or null to inherit.")
    values = {"access_level": access_level}
    for name, top in (("free_articles_cap", MAX_CAP), ("preview_paragraphs", MAX_PREVIEW)):
        value = free_articles_cap if name == "free_articles_cap" else preview_paragraphs
        if value == "":
            value = None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidRule(f"{name} must be a whole number, or null to inherit.")
        if value is not None and not 0 <= value <= top:
            raise InvalidRule(f"{name} must be between 0 and {top}.")
        values[name] = value
    return values


class AdminOnly(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "Only the publisher's admins can change rules and staff.",
            code="admin_only",
            status_code=403,
        )


def require_admin(role: str) -> None:
    if role != "admin":
        raise AdminOnly()


def _lock_scope(*, publisher: Publisher, publication: Publication | None) -> None:
    """Serialise version numbering of one scope."""
    if publication is not None:
        Publication.objects.select_for_update().filter(pk=publication.pk).first()
    else:
        Publisher.objects.select_for_update().filter(pk=publisher.pk).first()


def _scope_versions(*, publisher: Publisher, publication: Publication | None) -> Any:
    if publication is not None:
        return RuleVersion.objects.filter(publication=publication)
    return RuleVersion.objects.filter(publisher=publisher, publication__isnull=True)


def rule_publish(
    *,
    actor: Any,
    role: str,
    publisher: Publisher,
    publication: Publication | None,
    access_level: Any,
    free_articles_cap: Any,
    preview_paragraphs: Any,
    note: str = "",
    rolled_back_to: int | None = None,
    now: datetime | None = None,
) -> RuleVersion:
    """Publish a title's rule (or the publisher default): the paywall applies it on the
    next view in every process, and a new version records who, when, why, before, after.
    The first publish also records the rule as it was, as version 1, so it can be
    restored."""
    require_admin(role)
    if publication is not None and publication.publisher_id != publisher.pk:
        raise ApplicationError("No such title.", code="not_found", status_code=404)
    values = rule_clean(
        access_level=access_level,
        free_articles_cap=free_articles_cap,
        preview_paragraphs=preview_paragraphs,
    )
    note = (note or "").strip()[:500]
    now = now or timezone.now()
    with transaction.atomic():
        _lock_scope(publisher=publisher, publication=publication)
        versions = _scope_versions(publisher=publisher, publication=publication)
        before = rule_values(publisher=publisher, publication=publication)
        latest = versions.order_by("-number").values_list("number", flat=True).first()
        if latest is None:
            RuleVersion.objects.create(
                publisher=publisher,
                publication=publication,
                number=1,
                note="The rule before its first published change",
                before={},
                created_at=now,
                **before,
            )
            latest = 1
        if publication is not None:
            paywall.rule_set(scope=RuleScope.PUBLICATION, target_id=publication.pk, **values)
        else:
            paywall.rule_set(scope=RuleScope.PUBLISHER, target_id=publisher.pk, **values)
        version = RuleVersion.objects.create(
            publisher=publisher,
            publication=publication,
            number=latest + 1,
            note=note,
            before=before,
            rolled_back_to=rolled_back_to,
            created_by=actor,
            created_at=now,
            **values,
        )
        _drafts(publisher=publisher, publication=publication).delete()
        audit(
            publisher=publisher,
            actor=actor,
            action=AuditAction.RULE_ROLLED_BACK if rolled_back_to else AuditAction.RULE_PUBLISHED,
            detail={
                "publication": publication.slug if publication else None,
                "version": version.number,
                "rolled_back_to": rolled_back_to,
                "before": before,
                "after": values,
                "note": note,
            },
            now=now,
        )
    return version


def site_rule_set(
    *,
    actor: Any,
    access_level: Any,
    free_articles_cap: Any,
    preview_paragraphs: Any,
    now: datetime | None = None,
) -> AccessRule:
    """Operations set the site default (the admin): applied on the next view in every
    process, audited with the values before and after (no publisher owns it, so it has
    no version history of its own)."""
    values = rule_clean(
        access_level=access_level,
        free_articles_cap=free_articles_cap,
        preview_paragraphs=preview_paragraphs,
    )
    now = now or timezone.now()
    with transaction.atomic():
        current = AccessRule.objects.select_for_update().filter(scope=RuleScope.SITE).first()
        before = {name: getattr(current, name) for name in values} if current else {}
        rule = paywall.rule_set(scope=RuleScope.SITE, **values)
        AuditEntry.objects.create(
            at=now,
            action=AuditAction.SITE_RULE_SET,
            source=AuditSource.OPS,
            actor_id=getattr(actor, "pk", None),
            detail={"before": before, "after": values},
        )
    return rule


def rule_rollback(
    *,
    actor: Any,
    role: str,
    publisher: Publisher,
    publication: Publication | None,
    number: int,
    note: str = "",
    now: datetime | None = None,
) -> RuleVersion:
    """Restore an old version's values as a new version (history is never rewritten)."""
    require_admin(role)
    target = (
        _scope_versions(publisher=publisher, publication=publication).filter(number=number).first()
    )
    if target is None:
        raise ApplicationError(
            f"There is no version {number} of this rule.", code="no_such_version", status_code=404
        )
    return rule_publish(
        actor=actor,
        role=role,
        publisher=publisher,
        publication=publication,
        note=note or f"Rolled back to version {number}",
        rolled_back_to=number,
        now=now,
        **target.values(),
    )


def draft_save(
    *,
    actor: Any,
    role: str,
    publisher: Publisher,
    publication: Publication | None,
    access_level: Any,
    free_articles_cap: Any,
    preview_paragraphs: Any,
    note: str = "",
    now: datetime | None = None,
) -> RuleDraft:
    """Keep a proposed rule to simulate and publish later: readers see no change."""
    require_admin(role)
    values = rule_clean(
        access_level=access_level,
        free_articles_cap=free_articles_cap,
        preview_paragraphs=preview_paragraphs,
    )
    draft, _ = RuleDraft.objects.update_or_create(
        publisher=publisher,
        publication=publication,
        defaults={
            **values,
            "note": (note or "").strip()[:500],
            "updated_by": actor,
            "updated_at": now or timezone.now(),
        },
    )
    return draft


def _drafts(*, publisher: Publisher, publication: Publication | None) -> Any:
    if publication is not None:
        return RuleDraft.objects.filter(publication=publication)
    return RuleDraft.objects.filter(publisher=publisher, publication__isnull=True)


def draft_discard(*, role: str, publisher: Publisher, publication: Publication | None) -> int:
    require_admin(role)
    return int(_drafts(publisher=publisher, publication=publication).delete()[0])


def draft_publish(
    *, actor: Any, role: str, draft: RuleDraft, now: datetime | None = None
) -> RuleVersion:
    return rule_publish(
        actor=actor,
        role=role,
        publisher=draft.publisher,
        publication=draft.publication,
        note=draft.note,
        now=now,
        **draft.values(),
    )


def article_override_set(
    *,
    actor: Any,
    publisher: Publisher,
    article_ids: list[int],
    access_level: str,
    now: datetime | None = None,
) -> int:
    """Set or clear ("inherit") the override of some of this publisher's articles."""
    if access_level not in ArticleAccess.values:
        choices = ", ".join(ArticleAccess.values)
        raise ApplicationError(f"access_level must be one of {choices}.", code="invalid_level")
    now = now or timezone.now()
    with transaction.atomic():
        owned = list(
            Article.objects.filter(pk__in=article_ids, publication__publisher=publisher)
            .exclude(access_level=access_level)
            .values_list("pk", "slug", "access_level")
        )
        changed = article_access_set(
            article_ids=[pk for pk, _, _ in owned], access_level=access_level
        )
        if changed:
            audit(
                publisher=publisher,
                actor=actor,
                action=AuditAction.ARTICLE_ACCESS_SET,
                detail={
                    "access_level": access_level,
                    "articles": [{"slug": slug, "before": before} for _, slug, before in owned],
                },
                now=now,
            )
    return changed


def staff_invite(
    *,
    actor: Any,
    role: str,
    publisher: Publisher,
    email: str,
    invite_role: str,
    now: datetime | None = None,
) -> Invitation:
    """An invitation link valid for INVITATION_DAYS; the email goes through the outbox."""
    require_admin(role)
    email = (email or "").strip()
    if "@" not in email or len(email) > 254:
        raise ApplicationError("Enter the colleague's email address.", code="invalid_email")
    if invite_role not in ("admin", "editor"):
        raise ApplicationError("The role must be admin or editor.", code="invalid_role")
    now = now or timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            publisher=publisher,
            email=email,
            role=invite_role,
            token=secrets.token_urlsafe(32),
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit(
            publisher=publisher,
            actor=actor,
            action=AuditAction.STAFF_INVITED,
            detail={"email": email, "role": invite_role},
            now=now,
        )
        _owe_invitation(invitation)
    return invitation


def _owe_invitation(invitation: Invitation) -> None:
    """The invitation email, owed to the address (the invitee may have no account yet)
    through the one outbox: recorded with the invitation, sent after commit."""
    notify(
        email=invitation.email,
        kind=NotificationKind.STAFF_INVITATION,
        period=f"invitation-{invitation.pk}",
        context={
            "publisher": invitation.publisher.name,
            "role": invitation.role,
            "invited_by": getattr(invitation.invited_by, "email", ""),
            "expires": date_format(invitation.expires_at, "j F Y, H:i"),
            "accept_url": absolute_url("publishers:invitation", token=invitation.token),
        },
        now=invitation.created_at,
    )


def invitation_accept(*, user: Any, token: str, now: datetime | None = None) -> PublisherStaff:
    """The signed-in user joins the publisher in the invited role (once; expired or used
    links are refused)."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("publisher")
            .filter(token=token)
            .first()
        )
        if invitation is None or invitation.accepted_at is not None:
            raise ApplicationError(
                "This invitation link is not valid (or was already used).",
                code="invitation_invalid",
                status_code=404,
            )
        if invitation.expires_at <= now:
            raise ApplicationError(
                "This invitation has expired: ask for a new one.",
                code="invitation_expired",
                status_code=410,
            )
        staff, created = PublisherStaff.objects.get_or_create(
            user=user, publisher=invitation.publisher, defaults={"role": invitation.role}
        )
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit(
            publisher=invitation.publisher,
            actor=user,
            action=AuditAction.STAFF_JOINED,
            detail={"email": user.email, "role": staff.role, "new": created},
            now=now,
        )
    return staff


def staff_remove(
    *, actor: Any, role: str, publisher: Publisher, staff_id: int, now: datetime | None = None
) -> None:
    """Takes effect on the member's next request (memberships are read per request)."""
    require_admin(role)
    now = now or timezone.now()
    with transaction.atomic():
        member = (
            PublisherStaff.objects.select_related("user")
            .filter(pk=staff_id, publisher=publisher)
            .first()
        )
        if member is None:
            raise ApplicationError("No such staff member.", code="not_found", status_code=404)
        admins = PublisherStaff.objects.filter(publisher=publisher, role="admin")
        if member.role == "admin" and admins.count() == 1:
            raise ApplicationError(
                "A publisher keeps at least one admin.", code="last_admin", status_code=409
            )
        member.delete()
        audit(
            publisher=publisher,
            actor=actor,
            action=AuditAction.STAFF_REMOVED,
            detail={"email": member.user.email, "role": member.role},
            now=now,
        )
