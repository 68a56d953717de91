"""Who the signed-in reader is, without SQL on a warm request.

The account record: the user row (without its password hash) with the session auth hash
and the subscription's state, cached in the shared cache under `account-record:v1:<id>`
and versioned by the account's stamp (`config.versions.account_key`). A warm request
reads the stamp and the record in one round trip (with the request's other version
stamps when they are not read yet); the record counts only when it was made under the
current stamp. Saving or deleting the user, and any change to its subscription, move the
stamp (now and again after commit), so every process reads the database on its next
request: a stale record is never read again, whichever process wrote it and when.

The request learns whose account it is from its session's data or its token's rows, which
are themselves read from the cache: a pointer from the session key (or the token key) to
the account id lets the request's first round trip bring the session's data (or the
token's rows), the account's stamp and its record together with the version stamps
(`versions.read_with(..., via=...)`, one Lua script on Redis). What the pointer names is
used only when the session's data (or the token's row) name the same account; otherwise
it costs one more round trip and the pointer is set again.

- `CachedAuthenticationMiddleware` replaces Django's `AuthenticationMiddleware`: the
  session's user from the record. Anything unusual (no record possible, a session hash
  that does not match the record's, a deactivated or deleted account) is decided by
  Django's own `get_user()`, which flushes the session where it should.
- `CachedTokenAuthentication` replaces knox's: the token's rows by key prefix are cached
  under the token key's own stamp (moved when a token with that key is saved or deleted:
  revocation, sign-out everywhere), the user comes from the account record, and expiry is
  checked against the clock. Anything else (no cached rows, an expired or unknown token,
  AUTO_REFRESH) goes through knox itself, which also deletes expired tokens.

With the cache down every read misses and every stamp is made up fresh: each request asks
the database, as before this module. A stamp bump that cannot reach the cache (a blip
while a reader is deactivated or a token revoked) is not lost: `config.versions` keeps it
and re-applies it once the cache answers (see its docstring for who does, and when).
As a backstop should that fail too (the bump's database row could not be written and
the process that lost it is gone), a record is trusted only for `RECORD_TRUST_SECONDS`
after it was made, by the clock: that bounds how long such a change can go unseen once
the cache answers again.
"""

from __future__ import annotations

import time
from functools import partial
from hmac import compare_digest
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from config import versions
from subscriptions import selectors as subscription_selectors

from .models import User
from .sessions import SessionStore

RECORD_PREFIX = "account-record:v1:"
RECORD_KEY = RECORD_PREFIX + "{user_id}"
TOKEN_STAMP_KEY = "api-token-stamp:v1:{token_key}"
TOKEN_RECORD_KEY = "api-token-record:v1:{token_key}"
# Pointers: the account a session or a token key belongs to, so that the request's first
# cache round trip brings that account's stamp and record along (`versions.read_with`).
SESSION_ACCOUNT_KEY = "session-account:v1:{session_key}"
TOKEN_ACCOUNT_KEY = "api-token-account:v1:{token_key}"
ACCOUNT_PREFIXES = (versions.ACCOUNT_STAMP_PREFIX, RECORD_PREFIX)
RECORD_TRUST_SECONDS = 300
_USER_FIELDS = [f.attname for f in User._meta.concrete_fields if f.attname != "password"]
_TOKEN_FIELDS = [f.attname for f in AuthToken._meta.concrete_fields]


def _trusted(record: dict[str, Any]) -> bool:
    """Made recently enough (see the module docstring); made under the current stamp it
    is, as `versions.read_stamped` answers no other record."""
    return 0 <= time.time() - float(record.get("made_at", 0)) < RECORD_TRUST_SECONDS


def _user_from(record: dict[str, Any]) -> User:
    """The user as the record has it. The password hash is not cached: it is a deferred
    field, loaded by a query if anything asks for it (a password check or change)."""
    user = User.from_db("default", _USER_FIELDS, [record["user"][f] for f in _USER_FIELDS])
    setattr(user, subscription_selectors.STATE_ATTR, record["subscription"])
    return user


def account_record(
    *, user_id: int, found: dict[str, object] | None = None
) -> tuple[User, str] | None:
    """The account's user (with its subscription's state attached) and its session auth
    hash; None when there is no such user. Warm: one cache round trip, no SQL; none when
    `found` is what `versions.read_with` answered through the account's pointer (see
    `_through`)."""
    record_key = RECORD_KEY.format(user_id=user_id)
    stamp, record = versions.read_stamped(versions.account_key(user_id), record_key, found=found)
    if record is not None and _trusted(record):
        return _user_from(record), str(record["auth_hash"])
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    state = subscription_selectors.subscription_state(user_id=user_id)
    auth_hash = user.get_session_auth_hash()
    record = {
        "stamp": stamp,
        "made_at": time.time(),
        "user": {f: getattr(user, f) for f in _USER_FIELDS},
        "auth_hash": auth_hash,
        "subscription": state,
    }
    cache.set(record_key, record, RECORD_TRUST_SECONDS)
    setattr(user, subscription_selectors.STATE_ATTR, state)
    return user, auth_hash


def account_changed(*, user_id: int) -> None:
    """The user row changed or went: every process reads it again on its next request."""
    key = versions.account_key(user_id)
    versions.bump(key)
    transaction.on_commit(lambda: versions.bump(key))


def _through(pointer: str, found: dict[str, object], user_id: int) -> dict[str, object] | None:
    """What `versions.read_with` found through the pointer, when it points at the account
    the request has shown (its session's data, its token's row): then that account's
    stamp and record were read with it. Else None, and the pointer is set for the next
    request (a pointer is a hint: a stale one costs a round trip, never a wrong user)."""
    if found.get(pointer) == user_id:
        return found
    cache.set(pointer, user_id, settings.SESSION_COOKIE_AGE)
    return None


def _session_user(request: HttpRequest) -> Any:
    session = request.session
    found: dict[str, object] = {}
    pointer = ""
    if isinstance(session, SessionStore) and (data_key := session.cached_data_key()):
        # The session's data with the stamps, and its account's stamp and record.
        pointer = SESSION_ACCOUNT_KEY.format(session_key=session.session_key)
        found = versions.read_with([data_key], via=(pointer, ACCOUNT_PREFIXES))
        session.preload(found.get(data_key))
    try:
        user_id = int(session[auth.SESSION_KEY])
        backend = session[auth.BACKEND_SESSION_KEY]
    except (KeyError, TypeError, ValueError):
        return auth.get_user(request)  # no session user (or an odd one): Django decides
    session_hash = session.get(auth.HASH_SESSION_KEY)
    if backend not in settings.AUTHENTICATION_BACKENDS or not session_hash:
        return auth.get_user(request)
    account = account_record(
        user_id=user_id, found=_through(pointer, found, user_id) if pointer else None
    )
    if account is None:
        return auth.get_user(request)
    user, auth_hash = account
    if not user.is_active or not constant_time_compare(session_hash, auth_hash):
        return auth.get_user(request)  # deactivated, or another password: Django decides
    user.backend = backend  # type: ignore[attr-defined]
    return user


def request_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = _session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


async def _arequest_user(request: HttpRequest) -> Any:
    return await sync_to_async(request_user)(request)


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, the user read from the cached account record."""

    def process_request(self, request: HttpRequest) -> None:
        request.user = SimpleLazyObject(lambda: request_user(request))  # type: ignore[assignment]
        request.auser = partial(_arequest_user, request)


def _token_rows(token_key: str, found: dict[str, object]) -> list[dict[str, Any]] | None:
    """The tokens' fields with this key prefix, cached under the key's stamp; None when
    the cache cannot tell (then knox looks). `found` gets what the same round trip read
    through the key's account pointer."""
    record_key = TOKEN_RECORD_KEY.format(token_key=token_key)
    stamp_key = TOKEN_STAMP_KEY.format(token_key=token_key)
    pointer = TOKEN_ACCOUNT_KEY.format(token_key=token_key)
    found.update(versions.read_with([stamp_key, record_key], via=(pointer, ACCOUNT_PREFIXES)))
    stamp, record = versions.read_stamped(stamp_key, record_key, found=found)
    if record is not None and _trusted(record):
        rows: list[dict[str, Any]] = record["rows"]
        return rows
    rows = list(AuthToken.objects.filter(token_key=token_key).values(*_TOKEN_FIELDS))
    if rows:  # unknown keys are not cached: knox answers them
        cache.set(
            record_key, {"stamp": stamp, "made_at": time.time(), "rows": rows}, RECORD_TRUST_SECONDS
        )
    return rows


def token_changed(*, token_key: str) -> None:
    """A token with this key was made, changed or revoked: its cached rows go stale (and
    its pointer to an account, which the next request sets again if the key lives)."""
    key = TOKEN_STAMP_KEY.format(token_key=token_key)
    versions.bump(key)
    cache.delete(TOKEN_ACCOUNT_KEY.format(token_key=token_key))
    transaction.on_commit(lambda: versions.bump(key))


def session_ended(*, session_key: str | None) -> None:
    """Sign-out: the session's pointer to its account is dropped with the session."""
    if session_key:
        cache.delete(SESSION_ACCOUNT_KEY.format(session_key=session_key))


class CachedTokenAuthentication(TokenAuthentication):
    """knox's `Authorization: Token …`, warm with no SQL (see the module docstring)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        # A token is printable ASCII (a prefix and hex). Anything else is refused before
        # any lookup: a NUL was a DataError on PostgreSQL, a byte past ASCII (the header
        # arrives as Latin-1) a UnicodeDecodeError in knox — both a 500.
        text = token.decode("latin-1")
        if not (text.isascii() and text.isprintable()):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if knox_settings.AUTO_REFRESH:
            return super().authenticate_credentials(token)
        token_key = text[: CONSTANTS.TOKEN_KEY_LENGTH]
        found: dict[str, object] = {}
        rows = _token_rows(token_key, found)
        if not rows:
            return super().authenticate_credentials(token)
        try:
            digest = hash_token(text)
        except (TypeError, ValueError):  # not a token's shape (binascii.Error): knox says so
            return super().authenticate_credentials(token)
        now = timezone.now()
        for row in rows:
            if not compare_digest(digest, row["digest"]):
                continue
            if row["expiry"] is not None and row["expiry"] < now:
                break  # expired: knox refuses it and deletes it
            pointer = TOKEN_ACCOUNT_KEY.format(token_key=token_key)
            account = account_record(
                user_id=row["user_id"], found=_through(pointer, found, row["user_id"])
            )
            if account is None or not account[0].is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            user = account[0]
            auth_token = AuthToken.from_db(
                "default", _TOKEN_FIELDS, [row[f] for f in _TOKEN_FIELDS]
            )
            auth_token.user = user
            return user, auth_token
        return super().authenticate_credentials(token)


class CachedTokenScheme(KnoxTokenScheme):
    """The schema's `knoxApiToken` security scheme, as for knox's own class."""

    target_class = "accounts.authentication.CachedTokenAuthentication"
