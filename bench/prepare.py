"""Prepares the benchmark's readers and prints them as JSON (run by bench/run.sh)."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

from subscriptions.vocabulary import AuditSource

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def meter_cookie(meter_id: str) -> str:
    """Exactly the cookie the paywall sets for this meter id after its reads (what a
    browser sends after its first page)."""
    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.utils import timezone

    from subscriptions.paywall import metering

    request = HttpRequest()
    setattr(request, metering.NEW_METER_ATTR, meter_id)
    reads = metering.reads_for(key=f"a:{meter_id}", now=timezone.now())
    metering.keep_reads_in_cookie(request, reads)
    response = HttpResponse()
    metering.set_meter_cookie(request, response)
    return f"{settings.METER_COOKIE_NAME}={response.cookies[settings.METER_COOKIE_NAME].value}"


def main() -> None:
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.utils import timezone
    from knox.models import AuthToken

    from articles.models import Article
    from subscriptions.paywall import metering, rules
    from subscriptions.services.transitions import subscription_for_user, transition

    now = timezone.now()
    inherit = Article.objects.filter(access_level="inherit").order_by("-published_at")
    metered = [a for a in inherit[:50] if rules.article_rule(a).level == "metered"]
    premium = Article.objects.filter(access_level="premium").order_by("-published_at").first()
    free = Article.objects.filter(access_level="free").order_by("-published_at").first()
    assert len(metered) >= 10 and premium is not None and free is not None, "load_demo first"
    target = metered[0]

    # A re-reader: an anonymous meter that already counted the target.
    metering.record_read(
        key="a:bench-rereader", article_id=target.pk, publication_id=target.publication_id, now=now
    )

    # A walled reader: an anonymous meter already spent on other articles.
    for article in metered[1 : 1 + settings.METER_FREE_ARTICLES]:
        metering.record_read(
            key="a:bench-exhausted",
            article_id=article.pk,
            publication_id=article.publication_id,
            now=now,
        )

    # An entitled reader: a trial, signed in by a session cookie.
    user, _ = get_user_model().objects.get_or_create(email="bench-trial@masthead.local")
    sub = subscription_for_user(user_id=user.pk)
    if sub.status != "trialing":
        transition(
            subscription_id=sub.pk,
            to="trialing",
            source=AuditSource.TRIAL,
            trial_started_at=now,
            trial_ends_at=now + timedelta(days=14),
        )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()

    # A subscriber with an API token.
    subscriber, _ = get_user_model().objects.get_or_create(email="bench-sub@masthead.local")
    if subscription_for_user(user_id=subscriber.pk).status != "active":
        transition(
            subscription_id=subscription_for_user(user_id=subscriber.pk).pk,
            to="active",
            source=AuditSource.OPS,
        )
    _, token = AuthToken.objects.create(subscriber)

    print(
        json.dumps(
            {
                "slug": target.slug,
                "free_slug": free.slug,
                "premium_slug": premium.slug,
                "walled_cookie": meter_cookie("bench-exhausted"),
                "rereader_cookie": meter_cookie("bench-rereader"),
                "session_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                "token": token,
            }
        )
    )


if __name__ == "__main__":
    main()
