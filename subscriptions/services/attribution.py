"""Conversion attribution, the one rule: a trial or a paid subscription is credited to
the reader's last walled article in the 24 h before it started, and that is kept (a
`Conversion` row) when it starts.

`transition()` calls `conversion_record()` for every start, whatever started it (web or
API sign-up, a card trial through Checkout, a Stripe webhook, the reconciliation). The
reader's walls are their read events that were not granted: by account (`u:<id>`, and
anonymous reads linked to it when they signed in) and, for a sign-up, by the meter
cookie's reader key they carry in (`a:<meter id>`), the same identity the meter follows
into the account. The publishers' stats read only the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Q

from ..models import Conversion, ReadEvent, Subscription, SubscriptionStatus
from ..paywall import AccessLevel, resolved_level
from ..vocabulary import ConversionKind

S = SubscriptionStatus
ATTRIBUTION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class ReaderHint:
    """What a sign-up knows of the reader beyond the account: the anonymous meter's
    reader key from the cookie, and the article named by the wall's "Start your free
    trial" link (used only when no wall of theirs is recorded yet: the read events may
    still be in the buffer)."""

    reader_key: str | None = None
    from_article_slug: str | None = None


@dataclass(frozen=True)
class Wall:
    article_id: int | None
    publication_id: int
    at: datetime


def conversion_kind(*, from_status: str, to_status: str) -> ConversionKind | None:
    """Does this status change start something? A trial begins on entering `trialing`; a
    paid subscription on entering `active` from anything but a paid state."""
    if to_status == S.TRIALING and from_status != S.TRIALING:
        return ConversionKind.TRIAL
    if to_status == S.ACTIVE and from_status not in (S.ACTIVE, S.PAST_DUE):
        return ConversionKind.SUBSCRIPTION
    return None


def last_wall(
    *, user_id: int | None, reader_keys: list[str], at: datetime, read_events: Any = None
) -> Wall | None:
    """The reader's last wall in the 24 h up to `at` (by account or reader key)."""
    who = Q(reader_key__in=reader_keys)
    if user_id is not None:
        who |= Q(user_id=user_id) | Q(reader_key=f"u:{user_id}")
    row = (
        (read_events or ReadEvent.objects)
        .filter(who, granted=False, at__gte=at - ATTRIBUTION_WINDOW, at__lte=at)
        .order_by("-at", "-id")
        .values_list("article_id", "publication_id", "at")
        .first()
    )
    if row is None:
        return None
    return Wall(article_id=row[0], publication_id=row[1], at=row[2])


def _wall_of_link(*, slug: str | None, at: datetime) -> Wall | None:
    """The article of the wall's link, if it names one that is not free (a wall can be
    shown there): the reader is coming from it, now."""
    slug = (slug or "").strip()[:200]
    if not slug:
        return None
    article = apps.get_model("articles", "Article").objects.filter(slug=slug).first()
    if article is None or resolved_level(article) == AccessLevel.FREE:
        return None
    return Wall(article_id=article.pk, publication_id=article.publication_id, at=at)


def conversion_record(
    *,
    subscription: Subscription,
    kind: ConversionKind,
    at: datetime,
    reader: ReaderHint | None = None,
) -> Conversion:
    """Keep this start and the wall it is credited to (once per subscription, kind and
    time: a rerun returns the row already kept)."""
    reader = reader or ReaderHint()
    keys = [reader.reader_key] if reader.reader_key else []
    wall = last_wall(user_id=subscription.user_id, reader_keys=keys, at=at)
    if wall is None and kind == ConversionKind.TRIAL:
        wall = _wall_of_link(slug=reader.from_article_slug, at=at)
    conversion, _ = Conversion.objects.get_or_create(
        subscription=subscription,
        kind=kind,
        started_at=at,
        defaults={
            "article_id": wall.article_id if wall else None,
            "publication_id": wall.publication_id if wall else None,
            "walled_at": wall.at if wall else None,
        },
    )
    return conversion


def _started(entries: Any) -> Any:
    """Audit entries of starts (the same test as `conversion_kind`, in SQL)."""
    trial = Q(to_status=S.TRIALING) & ~Q(from_status=S.TRIALING)
    paid = Q(to_status=S.ACTIVE) & ~Q(from_status__in=[S.ACTIVE, S.PAST_DUE])
    return entries.filter(trial | paid, subscription__isnull=False)


def conversions_backfill(*, batch_size: int = 500, registry: Any = apps) -> int:
    """Keep a Conversion for every start recorded before attribution was kept (from the
    audit trail), by the rule the stats used then: a trial is credited to the article of
    the wall's link kept on the reader's TrialClaim, else — like a paid start — to their
    last walled read in the 24 h before it. Starts already kept are skipped, so a rerun
    (or one killed midway) writes only what is missing. Returns how many were written.
    `registry`: the app registry (a migration passes its historical one)."""
    audit_entry = registry.get_model("subscriptions", "AuditEntry")
    trial_claim = registry.get_model("accounts", "TrialClaim")
    conversion = registry.get_model("subscriptions", "Conversion")
    read_events = registry.get_model("subscriptions", "ReadEvent").objects
    written, last_id = 0, 0
    while True:
        batch = list(
            _started(audit_entry.objects.filter(pk__gt=last_id))
            .select_related("subscription")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return written
        last_id = batch[-1].pk
        user_ids = {e.subscription.user_id for e in batch if e.subscription.user_id}
        links = dict(
            trial_claim.objects.filter(user_id__in=user_ids, article__isnull=False).values_list(
                "user_id", "article_id"
            )
        )
        article_titles = dict(
            registry.get_model("articles", "Article")
            .objects.filter(pk__in=set(links.values()))
            .values_list("pk", "publication_id")
        )
        kept = set(
            conversion.objects.filter(
                subscription_id__in={e.subscription_id for e in batch}
            ).values_list("subscription_id", "kind", "started_at")
        )
        rows = []
        for entry in batch:
            kind = conversion_kind(from_status=entry.from_status, to_status=entry.to_status)
            assert kind is not None
            if (entry.subscription_id, kind, entry.at) in kept:
                continue
            user_id = entry.subscription.user_id
            wall = None
            if kind == ConversionKind.TRIAL and user_id in links:
                article_id = links[user_id]
                wall = Wall(
                    article_id=article_id, publication_id=article_titles[article_id], at=entry.at
                )
            elif user_id is not None:
                wall = last_wall(
                    user_id=user_id, reader_keys=[], at=entry.at, read_events=read_events
                )
            rows.append(
                conversion(
                    subscription_id=entry.subscription_id,
                    kind=kind,
                    started_at=entry.at,
                    article_id=wall.article_id if wall else None,
                    publication_id=wall.publication_id if wall else None,
                    walled_at=wall.at if wall else None,
                )
            )
        conversion.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
