"""The paywall facade: the one place article access is decided.

`article_access()` runs the hot path for the article API and the article page alike:
resolve the rule (cached) -> the reader's entitlement (cached per account) -> the meter
(the anonymous reader's signed cookie, else one query; one locked insert for a newly
counted read, none for a new reader's first read, whose meter row travels with its read
event) -> `decide()` -> record the read event (batched). `articles` calls only this
module and never decides access itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from ..selectors import STATE_ATTR, entitlement_for_user
from . import events, metering, rollup, rules
from .decide import Decision, Meter, MeterState, Reader, Rule, decide
from .levels import AccessLevel, ArticleAccess, EntitlementReason, Reason
from .protocols import PaywalledArticle, PaywalledTitle, ReaderRequest

__all__ = [
    "AccessLevel",
    "ArticleAccess",
    "Decision",
    "Meter",
    "MeterState",
    "PaywalledArticle",
    "PaywalledTitle",
    "Reader",
    "ReaderRequest",
    "Reason",
    "Rule",
    "adopt_anonymous_meter",
    "article_access",
    "article_levels_changed",
    "articles_added",
    "cookie_reader_key",
    "decide",
    "forget_reader",
    "meter_cookie_value",
    "preview_as",
    "publication_cap",
    "publication_level",
    "resolved_level",
    "rule_set",
    "rules_changed",
    "rules_version",
    "titles_with_rules",
]


rule_set = rules.rule_set
adopt_anonymous_meter = metering.adopt_anonymous_meter
cookie_reader_key = metering.cookie_reader_key
forget_reader = metering.forget_reader
meter_cookie_value = metering.meter_cookie_value


def titles_with_rules() -> list[int]:
    """Ids of the titles that have a rule of their own."""
    return rules.titles_with_rules()


def rules_changed() -> None:
    """Something a resolution depends on changed (an article's override): drop every
    cached resolution now and again after commit, in every process."""
    from django.db import transaction

    rules.invalidate()
    transaction.on_commit(rules.invalidate)


def article_levels_changed(*, publication_ids: list[int]) -> None:
    """Articles of these titles changed their level (override): rules resolve afresh, and
    the rule simulator's read rollup of the titles is rebuilt in the background (its meter
    ranks depend on the overrides), so no simulation has to rebuild it in a request."""
    rules_changed()
    rollup.queue_rebuild(publication_ids=publication_ids)


def articles_added(*, articles: list[tuple[int, int]]) -> None:
    """New articles, (id, title id), some with an override. Nothing resolves afresh: the
    rule map holds titles, not articles, and a new article's page is built from its own
    row. The titles' read rollups stay current (a new article has no reads to rank), so
    nothing is rebuilt either: a targeted update of what they were built with."""
    rollup.articles_added(articles=articles)


def rules_version() -> str:
    """Changes whenever any paywall rule changes; for cache keys of derived data."""
    return rules.current_version()


def resolved_level(article: PaywalledArticle) -> str:
    """The article's effective level (its override, else its title's rule)."""
    return rules.article_rule(article).level


def publication_level(publication: PaywalledTitle) -> str:
    return rules.title_rule(publication.pk).level


def publication_cap(publication: PaywalledTitle) -> int | None:
    return rules.title_rule(publication.pk).free_articles_cap


PREVIEW_ATTR = "masthead_preview_reader"


def preview_as(request: ReaderRequest, *, authenticated: bool, entitlement: str | None) -> None:
    """Mark a server-built request (the publisher portal's preview) as read by this kind
    of reader: `article_access` decides for it with the meter used up, and spends and
    records nothing. No client can set this: it is an attribute, not a header."""
    setattr(
        metering._http_request(request),
        PREVIEW_ATTR,
        Reader(
            authenticated=authenticated,
            entitlement=EntitlementReason(entitlement) if entitlement else None,
        ),
    )


def article_access(
    request: ReaderRequest, article: PaywalledArticle, *, channel: str = "web"
) -> Decision:
    now = timezone.now()
    rule = rules.article_rule(article)
    preview = getattr(metering._http_request(request), PREVIEW_ATTR, None)
    if preview is not None:
        spent = settings.METER_FREE_ARTICLES
        used_up = Meter(
            limit=spent, used=spent, used_in_title=spent, title_cap=rule.free_articles_cap
        )
        return decide(reader=preview, rule=rule, meter=used_up)
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    authenticated = user_id is not None
    # A reader signed in through accounts' cached session carries the subscription's
    # state read with the account (one round trip for both); else it is read here.
    state = getattr(user, STATE_ATTR, None) if authenticated else None
    entitlement = entitlement_for_user(user_id=user_id, now=now, state=state)
    reader = Reader(
        authenticated=authenticated,
        entitlement=entitlement.reason if entitlement.entitled else None,
    )
    key = metering.reader_key(request)
    anonymous_reads = None if authenticated else metering.cookie_reads(request)

    def meter_now(reads: list[metering.CountedRead] | None) -> tuple[Meter, list[Any]]:
        """The meter before this read, from the reads given (the anonymous reader's
        cookie: no SQL) or else from the database (one query)."""
        if reads is None:
            reads = metering.reads_for(key=key, now=now)
        reads = metering.reads_in_window(reads, now)
        meter = metering.meter_of(
            reads,
            article_id=article.pk,
            publication_id=article.publication_id,
            title_cap=rule.free_articles_cap,
        )
        return meter, reads

    meter, reads = None, None
    if rule.level == AccessLevel.METERED and not reader.entitlement:
        meter, reads = meter_now(anonymous_reads)
    decision = decide(reader=reader, rule=rule, meter=meter)
    if request.method != "GET":
        return decision  # a HEAD (link checkers, prefetchers) reads nothing: spends nothing

    # A meter id this request issued has nothing counted and nobody else knows it: its
    # first read is granted without SQL, the cookie carries it, and the read event carries
    # its meter row (written with the event: drained from Redis, or at once without it).
    new_reader = not authenticated and metering.is_new_anonymous_meter(request)
    # The reads the signed cookie carries, which the database may not have yet.
    carried = reads if anonymous_reads is not None and reads else []
    meter_row_with_event = False
    # Without Redis the read event is written in the same transaction as the meter row.
    with events.recording():
        attempts = 3
        while decision.count_read and reads is not None:
            if new_reader:
                counted = meter_row_with_event = True
            else:
                counted = metering.count_read(
                    key=key,
                    article_id=article.pk,
                    publication_id=article.publication_id,
                    title_cap=rule.free_articles_cap,
                    now=now,
                    carried=carried,
                )
            if counted:
                reads = [*reads, metering.CountedRead.of(article, now)]
                break
            attempts -= 1  # the meter moved under us (another tab): ask the database
            meter, reads = meter_now(None)
            decision = decide(reader=reader, rule=rule, meter=meter if attempts else None)
        if not authenticated and reads is not None and reads != anonymous_reads:
            metering.keep_reads_in_cookie(request, reads)  # the cookie catches up
        events.record(
            {
                "at": now,
                "reader_key": key,
                "user_id": user_id,
                "article_id": article.pk,
                "publication_id": article.publication_id,
                "granted": decision.granted,
                "reason": decision.reason,
                "entitlement": reader.entitlement or "",
                "level": decision.level,
                "channel": channel,
                **({events.METER_READ: True} if meter_row_with_event else {}),
            }
        )
    return decision
