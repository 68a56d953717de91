"""The meter: who the reader is for metering, what they have used, and recording reads.

Signed-in readers are metered by account ("u:<id>"), anonymous ones by a signed,
HttpOnly meter-id cookie ("a:<id>"). Counts live only on the server: the cookie carries
an opaque id, so editing it gains nothing, and a forged or stale one is a new reader.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseBase

from ..models import MeterEntry
from .decide import Meter

COOKIE_SALT = "masthead.meter"
NEW_METER_ATTR = "masthead_new_meter_id"


def _http_request(request: Any) -> HttpRequest:
    """DRF wraps the HttpRequest; attributes must be set on the inner one."""
    return getattr(request, "_request", request)  # type: ignore[no-any-return]


def _cookie_meter_id(http: HttpRequest) -> str | None:
    """The meter id the signed cookie carries, or None (missing, forged, stale, odd)."""
    meter_id = http.get_signed_cookie(
        settings.METER_COOKIE_NAME,
        default=None,
        salt=COOKIE_SALT,
        max_age=settings.METER_COOKIE_MAX_AGE,
    )
    if not meter_id or not isinstance(meter_id, str) or len(meter_id) > 40:
        return None
    return meter_id


def anonymous_meter_id(request: Any) -> str:
    """The meter id from the signed cookie, or a new one (set on the response later)."""
    http = _http_request(request)
    pending = getattr(http, NEW_METER_ATTR, None)
    if pending:
        return str(pending)
    meter_id = _cookie_meter_id(http)
    if meter_id is None:
        meter_id = secrets.token_urlsafe(18)
        setattr(http, NEW_METER_ATTR, meter_id)
    return meter_id


def is_new_anonymous_meter(request: Any) -> bool:
    """True when this request just issued the meter id: nothing can be counted on it yet."""
    return bool(getattr(_http_request(request), NEW_METER_ATTR, None))


def set_meter_cookie(request: HttpRequest, response: HttpResponseBase) -> None:
    meter_id = getattr(request, NEW_METER_ATTR, None)
    if meter_id:
        response.set_signed_cookie(
            settings.METER_COOKIE_NAME,
            meter_id,
            salt=COOKIE_SALT,
            max_age=settings.METER_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )


def reader_key(request: Any) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    return f"a:{anonymous_meter_id(request)}"


def window_filter(now: datetime) -> Q:
    if settings.METER_WINDOW == "rolling":
        return Q(created_at__gt=now - timedelta(days=settings.METER_ROLLING_DAYS))
    return Q(window_start=month_start(now))


def month_start(now: datetime) -> date:
    return date(now.year, now.month, 1)


def entry_window(now: datetime) -> date:
    """The `window_start` stored on a new entry: the month, or the day when rolling."""
    return now.date() if settings.METER_WINDOW == "rolling" else month_start(now)


def meter_for(
    *, key: str, article_id: int, publication_id: int, title_cap: int | None, now: datetime
) -> Meter:
    """One query: reads used in the window, of them from this title, and this article."""
    usage = MeterEntry.objects.filter(window_filter(now), reader_key=key).aggregate(
        used=Count("id"),
        used_in_title=Count("id", filter=Q(publication_id=publication_id)),
        counted=Count("id", filter=Q(article_id=article_id)),
    )
    return Meter(
        limit=settings.METER_FREE_ARTICLES,
        used=usage["used"],
        used_in_title=usage["used_in_title"],
        title_cap=title_cap,
        already_counted=usage["counted"] > 0,
    )


def record_read(*, key: str, article_id: int, publication_id: int, now: datetime) -> None:
    """Count one metered read (a concurrent duplicate is ignored by the unique key)."""
    MeterEntry.objects.bulk_create(
        [
            MeterEntry(
                reader_key=key,
                article_id=article_id,
                publication_id=publication_id,
                window_start=entry_window(now),
                created_at=now,
            )
        ],
        ignore_conflicts=True,
    )


def adopt_anonymous_meter(*, request: Any, user_id: int) -> int:
    """On sign-up or sign-in the anonymous meter's reads move into the account, so
    signing in never resets the meter; the last day's recorded reads (and walls) are
    linked to the account, for conversion attribution. Returns how many reads moved."""
    from django.utils import timezone

    from ..models import ReadEvent

    meter_id = _cookie_meter_id(_http_request(request))
    if meter_id is None:
        return 0
    anon, account = f"a:{meter_id}", f"u:{user_id}"
    with transaction.atomic():
        ReadEvent.objects.filter(
            reader_key=anon, user__isnull=True, at__gte=timezone.now() - timedelta(days=1)
        ).update(user_id=user_id)
        already = MeterEntry.objects.filter(reader_key=account).values_list(
            "article_id", "window_start"
        )
        taken = set(already)
        moving = MeterEntry.objects.filter(reader_key=anon)
        duplicate_ids = [
            e.pk
            for e in moving.only("id", "article_id", "window_start")
            if (e.article_id, e.window_start) in taken
        ]
        MeterEntry.objects.filter(pk__in=duplicate_ids).delete()
        return MeterEntry.objects.filter(reader_key=anon).update(reader_key=account)


def forget_reader(*, user_id: int) -> None:
    """An account is being deleted: its meter goes, its read events stay for the
    publishers' statements but no longer name the reader."""
    from ..models import ReadEvent

    key = f"u:{user_id}"
    MeterEntry.objects.filter(reader_key=key).delete()
    ReadEvent.objects.filter(reader_key=key).update(
        reader_key=f"deleted:{secrets.token_hex(8)}", user=None
    )
