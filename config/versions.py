"""Version stamps for cache keys: a change bumps a stamp, every process sees the new stamp
on its next request, and everything cached under the old one is never read again.

Within a request every registered stamp is read from the shared cache in one round trip
(`request_scope`, opened by the paywall middleware); outside a request (jobs, shells) each
read asks the cache. When the cache is unreachable a read makes up a fresh stamp, so every
derived cache misses and answers come from the database: slower, still correct.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache

_registered: set[str] = set()
_scope: ContextVar[dict[str, str] | None] = ContextVar("version_stamps", default=None)


def account_key(user_id: int) -> str:
    """The stamp of one account's cached record (the user row with its subscription's
    state, accounts.session): any change to either moves it."""
    return f"account-stamp:v1:{user_id}"


def register(key: str) -> str:
    """Declare a stamp so that a request reads it with the others; returns the key."""
    _registered.add(key)
    return key


@contextmanager
def request_scope() -> Iterator[None]:
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def ensure(key: str) -> str:
    """The stamp's value, made now if it has none (first use, or the cache lost it)."""
    return _create(key)


def _create(key: str) -> str:
    stamp = uuid.uuid4().hex
    try:
        if not cache.add(key, stamp, None):
            stamp = str(cache.get(key) or stamp)
    except Exception:  # the cache is down: a stamp of our own, so nothing derived is trusted
        pass
    return stamp


def _read(keys: list[str]) -> dict[str, str]:
    try:
        found = cache.get_many(keys)
    except Exception:  # the cache is down; see the module docstring
        found = {}
    return {key: str(found[key]) if found.get(key) else _create(key) for key in keys}


def current(key: str) -> str:
    scope = _scope.get()
    if scope is None:
        return _read([key])[key]
    if key not in scope:
        scope.update(_read(sorted(_registered | {key})))
    return scope[key]


def read_with(keys: list[str]) -> dict[str, object]:
    """The values of `keys` (per-record stamps and the records they version) in the same
    round trip as the request's stamps, when those are not read yet. Missing keys are
    absent; with the cache down, everything is."""
    scope = _scope.get()
    stamps = sorted(_registered) if scope is not None and not scope else []
    try:
        found = cache.get_many([*stamps, *keys])
    except Exception:  # the cache is down; see the module docstring
        found = {}
    if stamps and scope is not None:
        scope.update({k: str(found[k]) if found.get(k) else _create(k) for k in stamps})
    return {key: found[key] for key in keys if key in found}


def bump(key: str) -> None:
    """Everything derived under the old stamp is dropped, in every process."""
    cache.set(key, uuid.uuid4().hex, None)
    scope = _scope.get()
    if scope is not None:
        scope.pop(key, None)


def bump_many(keys: list[str]) -> None:
    """`bump` for many keys in one round trip."""
    if keys:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, None)
        scope = _scope.get()
        if scope is not None:
            for key in keys:
                scope.pop(key, None)
