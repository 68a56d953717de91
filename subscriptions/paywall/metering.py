"""The meter: who the reader is for metering, what they have used, and recording reads.

Signed-in readers are metered by account ("u:<id>"), anonymous ones by a signed,
HttpOnly meter cookie ("a:<id>") that also carries the reads counted in the window. The
database is the authority: every new read of a known reader is counted there under a
lock on the reader (`count_read`). A reader without a cookie (or with a forged or stale
one) is a new reader: the meter id this request issues has nothing counted and nobody
else knows it, so its first read is granted without SQL; the cookie carries that read,
and its read event carries the meter row to the database (`write_reads`, called by the
event writer). Until then the cookie is ahead of the database, so every later counted
read first writes the reads the signed cookie carries (they are the reader's own:
writing them only spends its own meter). Editing the cookie breaks its signature, which
makes a new reader; replaying an old one gains nothing clearing the cookies would not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase

from ..models import MeterEntry
from . import signed_cookie
from .decide import Meter

COOKIE_SALT = "masthead.meter"
NEW_METER_ATTR = "masthead_new_meter_id"
COOKIE_READS_ATTR = "masthead_meter_reads"
COOKIE_CHECKED_ATTR = "masthead_meter_cookie_checked"  # (signed value, what it says)
METER_LOCK_CLASS = 7_350_001  # pg_advisory_xact_lock(class, hash of the reader key)
_METER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
COOKIE_READS_MAX = 40  # more would risk the browser's 4 KB cookie limit: then the database


@dataclass(frozen=True)
class CountedRead:
    """One meter entry as the meter needs it (`at`: Unix seconds, rounded down)."""

    article_id: int
    publication_id: int
    at: int

    @classmethod
    def of(cls, article: Any, now: datetime) -> CountedRead:
        return cls(article.pk, article.publication_id, int(now.timestamp()))

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.at, tz=UTC)


def _http_request(request: Any) -> HttpRequest:
    """DRF wraps the HttpRequest; attributes must be set on the inner one."""
    return getattr(request, "_request", request)


def _cookie(http: HttpRequest) -> tuple[str | None, list[CountedRead] | None]:
    """The signed cookie's meter id and the reads it carries, or None for either
    (missing, forged, stale, odd). A cookie of the old shape carries only the id.
    Verified once per request and cookie value (the paywall and the middleware both ask)."""
    signed = http.COOKIES.get(settings.METER_COOKIE_NAME)
    checked = getattr(http, COOKIE_CHECKED_ATTR, None)
    if checked is None or checked[0] != signed:
        checked = (signed, _verified_cookie(http))
        setattr(http, COOKIE_CHECKED_ATTR, checked)
    meter_id, reads = checked[1]
    return meter_id, None if reads is None else list(reads)


def _verified_cookie(http: HttpRequest) -> tuple[str | None, tuple[CountedRead, ...] | None]:
    value = signed_cookie.unsign(
        http, settings.METER_COOKIE_NAME, salt=COOKIE_SALT, max_age=settings.METER_COOKIE_MAX_AGE
    )
    if not value:
        return None, None
    meter_id, has_reads, reads = value.partition("~")
    if not _METER_ID.match(meter_id):
        return None, None
    if not has_reads:
        return meter_id, None
    try:
        parsed = tuple(CountedRead(*map(int, item.split("."))) for item in reads.split("~") if item)
    except (TypeError, ValueError):
        return meter_id, None
    return meter_id, parsed


def _cookie_meter_id(http: HttpRequest) -> str | None:
    return _cookie(http)[0]


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


def cookie_reads(request: Any) -> list[CountedRead] | None:
    """The anonymous reader's counted reads as the signed cookie carries them, or None
    when unknown. The database may lag the cookie by a new reader's first read (written
    when its read event is drained), and the cookie may lag the database (another tab's
    reads): it may grant a re-read or show the wall, never grant a new read, and every
    counted read writes the cookie's reads first (`count_read(carried=…)`)."""
    http = _http_request(request)
    if getattr(http, NEW_METER_ATTR, None):
        return []
    return _cookie(http)[1]


def keep_reads_in_cookie(request: Any, reads: list[CountedRead]) -> None:
    """The cookie set on this response carries these reads (or, past COOKIE_READS_MAX,
    only the meter id: the reads are then asked of the database)."""
    setattr(_http_request(request), COOKIE_READS_ATTR, reads)


def set_meter_cookie(request: HttpRequest, response: HttpResponseBase) -> None:
    """Sets the cookie when this request issued the meter id or changed its reads."""
    reads = getattr(request, COOKIE_READS_ATTR, None)
    meter_id = getattr(request, NEW_METER_ATTR, None)
    if meter_id is not None and reads is None:
        reads = []  # a new meter: nothing counted, and the cookie says so
    if reads is not None and meter_id is None:
        meter_id = _cookie_meter_id(request)
    if not meter_id:
        return
    value = meter_id
    if reads is not None and len(reads) <= COOKIE_READS_MAX:
        value += "".join(f"~{r.article_id}.{r.publication_id}.{r.at}" for r in reads)
    response.set_cookie(
        settings.METER_COOKIE_NAME,
        signed_cookie.sign(settings.METER_COOKIE_NAME, value, salt=COOKIE_SALT),
        max_age=settings.METER_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def meter_cookie_value(meter_id: str) -> str:
    """The signed meter cookie a browser carries for this meter id (nothing counted yet):
    what a simulated visitor (devtools' demo history) sends."""
    signer = signing.get_cookie_signer(salt=settings.METER_COOKIE_NAME + COOKIE_SALT)
    return signer.sign(meter_id)


def cookie_reader_key(request: Any) -> str | None:
    """The anonymous meter's reader key ("a:<meter id>") the request's cookie carries, or
    None: what a sign-up brings into the new account (as `adopt_anonymous_meter` does)."""
    meter_id = _cookie_meter_id(_http_request(request))
    return f"a:{meter_id}" if meter_id else None


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


def window_opens(now: datetime) -> datetime:
    """The earliest moment a counted read can have and still be in the window."""
    if settings.METER_WINDOW == "rolling":
        return now - timedelta(days=settings.METER_ROLLING_DAYS)
    return datetime.combine(month_start(now), time.min, tzinfo=now.tzinfo)


def reads_in_window(reads: list[CountedRead], now: datetime) -> list[CountedRead]:
    """The reads still in the window. Seconds are rounded down, so at a rolling window's
    edge a read may drop out a moment before the database drops it, never after."""
    opens = window_opens(now).timestamp()
    if settings.METER_WINDOW == "rolling":
        return [r for r in reads if r.at > opens]
    return [r for r in reads if r.at >= opens]


def reads_for(*, key: str, now: datetime) -> list[CountedRead]:
    """One query: the reader's counted reads in the window."""
    rows = MeterEntry.objects.filter(window_filter(now), reader_key=key).values_list(
        "article_id", "publication_id", "created_at"
    )
    return [CountedRead(a, p, int(at.timestamp())) for a, p, at in rows]


def meter_of(
    reads: list[CountedRead], *, article_id: int, publication_id: int, title_cap: int | None
) -> Meter:
    return Meter(
        limit=settings.METER_FREE_ARTICLES,
        used=len(reads),
        used_in_title=sum(1 for r in reads if r.publication_id == publication_id),
        title_cap=title_cap,
        already_counted=any(r.article_id == article_id for r in reads),
    )


def _insert_sql(*, postgresql: bool, checks: str) -> str:
    """The meter row's insert, kept only where `checks` (SQL conditions) hold. On
    PostgreSQL its commit does not wait for the WAL flush (see count_read)."""
    table = MeterEntry._meta.db_table
    no_flush_wait = (
        "WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)) "
        if postgresql
        else ""
    )
    return (
        f"{no_flush_wait}INSERT INTO {table}"
        " (reader_key, article_id, publication_id, window_start, created_at)"
        f" SELECT %s, %s, %s, %s, %s{' FROM no_flush_wait' if postgresql else ''}"
        f" WHERE {checks} ON CONFLICT DO NOTHING"
    )


def _reads_left_sql(*, rolling: bool, capped: bool) -> str:
    """Conditions: this article not yet counted in the window, a read left on the meter,
    and (with a cap) one left on the title."""
    table = MeterEntry._meta.db_table
    window = "created_at > %s" if rolling else "window_start = %s"
    title_check = (
        f" AND (SELECT COUNT(*) FROM {table} WHERE reader_key = %s AND publication_id = %s"
        f" AND {window}) < %s"
        if capped
        else ""
    )
    return (
        f"NOT EXISTS (SELECT 1 FROM {table}"
        f" WHERE reader_key = %s AND article_id = %s AND {window})"
        f" AND (SELECT COUNT(*) FROM {table} WHERE reader_key = %s AND {window}) < %s"
        f"{title_check}"
    )


def _run_once(sql: str, params: list[Any], *, statements: int = 1) -> int:
    """Runs the meter's autocommitted statement(s); the last one's row count.

    Without the round trip of the per-request connection health check (a `SELECT 1`
    before the request's first query, settings: conn_health_checks): the statement goes
    first, and only if the connection turns out dead (PostgreSQL restarted, or dropped it)
    is it sent once more on a new connection. Sending it again is safe: a statement that
    committed before its answer was lost finds its row there (the unique key, or the
    "not yet counted" check) and counts 0, and the caller then asks the database.
    """
    skip_check = (
        connection.connection is not None
        and getattr(connection, "health_check_enabled", False)
        and not getattr(connection, "health_check_done", True)
        and not connection.in_atomic_block
    )
    if skip_check:
        setattr(connection, "health_check_done", True)  # noqa: B010  (stubs lack it)
    try:
        return _execute(sql, params, statements=statements)
    except (OperationalError, InterfaceError):
        if not skip_check:
            raise
        connection.close()  # the next cursor connects afresh
        return _execute(sql, params, statements=statements)


def _execute(sql: str, params: list[Any], *, statements: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for _ in range(statements - 1):
            cursor.nextset()
        return int(cursor.rowcount)


def count_read(
    *,
    key: str,
    article_id: int,
    publication_id: int,
    title_cap: int | None,
    now: datetime,
    carried: Sequence[CountedRead] = (),
) -> bool:
    """Count one metered read only if the reader still has one: the check and the insert
    are one statement under a lock on the reader (PostgreSQL: an advisory lock held to the
    end of the transaction; SQLite: its write lock, taken at BEGIN IMMEDIATE), so
    concurrent first reads with one read left record exactly one. False when nothing was
    recorded (the meter ran out, or this article was counted meanwhile): ask again.

    `carried`: the window's reads the anonymous reader's signed cookie carries. The
    database may not have them yet (a new reader's first read waits for the read-event
    drain), so they are written first, under the same lock and in the same transaction
    (one round trip on PostgreSQL), and the check counts them: exactly the meter's reads
    however late the drain runs. Meter rows commit asynchronously on PostgreSQL (no WAL
    flush wait): a database crash may forget the last moment's reads, which only gives a
    reader one more free article; a killed web process loses nothing.
    """
    rolling = settings.METER_WINDOW == "rolling"
    window_value = window_opens(now) if rolling else entry_window(now)
    params: list[Any] = [key, article_id, publication_id, entry_window(now), now]
    params += [key, article_id, window_value, key, window_value, settings.METER_FREE_ARTICLES]
    if title_cap is not None:
        params += [key, publication_id, window_value, title_cap]
    postgresql = connection.vendor == "postgresql"
    sql = _insert_sql(
        postgresql=postgresql,
        checks=_reads_left_sql(rolling=rolling, capped=title_cap is not None),
    )
    first = [(key, r.article_id, r.moment) for r in carried]
    if postgresql:
        # One round trip: the statements run in one implicit transaction, so the lock is
        # held until the insert commits, and each statement's snapshot is taken after it.
        statements = ["SELECT pg_advisory_xact_lock(%s, hashtext(%s))"]
        locked: list[Any] = [METER_LOCK_CLASS, key]
        if first:
            statements.append(_granted_sql(len(first)))
            locked += _granted_params(first)
        locked += params
        sql = "; ".join([*statements, sql])
        return _run_once(sql, locked, statements=len(statements) + 1) == 1
    with transaction.atomic(), connection.cursor() as cursor:
        if first:
            cursor.execute(_granted_sql(len(first)), _granted_params(first))
        cursor.execute(sql, params)
        return bool(cursor.rowcount == 1)


GRANTED_CHUNK = 1000  # rows per statement (4 parameters each), fewer where the database
# caps a statement's parameters (SQLite: 999)


def _granted_sql(count: int) -> str:
    """Meter rows for reads already granted, each kept only while its article exists (the
    cookie or the event may name one deleted since); a row already there is left alone."""
    table = MeterEntry._meta.db_table
    articles = apps.get_model("articles", "Article")._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s)"] * count)
    return (
        f"INSERT INTO {table} (reader_key, article_id, publication_id, window_start, created_at)"
        " SELECT v.column1, a.id, a.publication_id, v.column3, v.column4"
        f" FROM (VALUES {values}) AS v JOIN {articles} AS a ON a.id = v.column2"
        " WHERE 1 = 1 ON CONFLICT DO NOTHING"  # WHERE: SQLite's upsert after a join
    )


def _granted_params(reads: Sequence[tuple[str, int, datetime]]) -> list[Any]:
    ops = connection.ops
    params: list[Any] = []
    for key, article_id, at in reads:
        window = ops.adapt_datefield_value(entry_window(at))
        params += [key, article_id, window, ops.adapt_datetimefield_value(at)]
    return params


def write_reads(*, reads: Sequence[tuple[str, int, datetime]]) -> None:
    """Meter rows (reader key, article id, read at) for reads already granted without one:
    a new reader's first reads, from their read events. Writing one twice, or one a
    counted read already wrote from the cookie, leaves one row."""
    size = min(GRANTED_CHUNK, (connection.features.max_query_params or 4 * GRANTED_CHUNK) // 4)
    for start in range(0, len(reads), size):
        chunk = reads[start : start + size]
        with connection.cursor() as cursor:
            cursor.execute(_granted_sql(len(chunk)), _granted_params(chunk))


def record_read(*, key: str, article_id: int, publication_id: int, now: datetime) -> None:
    """Count one metered read unconditionally (a concurrent duplicate is ignored by the
    unique key). For readers nobody else can be counting for; else `count_read`."""
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
    linked to the account, for conversion attribution. The reads the signed cookie carries
    that the database may not have yet (a first read whose event is not drained) move
    too. Returns how many reads moved."""
    from django.utils import timezone

    from ..models import ReadEvent

    anon = cookie_reader_key(request)
    if anon is None:
        return 0
    account = f"u:{user_id}"
    now = timezone.now()
    carried = reads_in_window(_cookie(_http_request(request))[1] or [], now)
    with transaction.atomic():
        write_reads(reads=[(anon, r.article_id, r.moment) for r in carried])
        ReadEvent.objects.filter(
            reader_key=anon, user__isnull=True, at__gte=now - timedelta(days=1)
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
