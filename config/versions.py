"""Version stamps for cache keys: a change bumps a stamp, every process sees the new stamp
on its next request, and everything cached under the old one is never read again.

Within a request every registered stamp is read from the shared cache in one round trip
(`request_scope`, opened by the paywall middleware); outside a request (jobs, shells) each
read asks the cache. When the cache is unreachable a read makes up a fresh stamp, so every
derived cache misses and answers come from the database: slower, still correct.

A bump the cache does not take (Redis unreachable: django-redis skips the write) is not
lost. When the same Redis comes back it still holds the old stamp, and everything derived
under it — in Redis and in each process's own copies — would be served again. So a failed
bump is kept twice:

- in this process: re-applied (a fresh stamp written) before this process trusts any
  stamp the cache answers again;
- in the database (`config.models.LostBump`, one row per stamp), written in the
  transaction of the change when there is one, so it outlives this process. A process
  that met the outage itself (one of its cache calls failed) re-applies every row before
  it trusts a stamp again: one query, on its first read after the cache answers.
  `reapply_lost_bumps` (beat, every minute) does the same for everyone else.

Every process reads the stamps from the shared cache on every request, so one re-applied
bump retires what was derived under the old stamp everywhere at once. The guarantee: a
change made while Redis was unreachable shows on the next request of the process that
made it and of every process that met the outage, once Redis answers; in a process that
met nothing (idle through the outage), at the latest after the next sweep or once any of
those has served a request. A Redis that comes back empty (nothing is kept on disk) holds
no stamps at all: every stamp is made anew at random and nothing derived is trusted.
The warm request's round trips are unchanged: the per-process memory is checked in memory.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, transaction

from .cache import get_many_via

logger = logging.getLogger(__name__)

_registered: set[str] = set()
_scope: ContextVar[dict[str, str] | None] = ContextVar("version_stamps", default=None)


class _Unsettled:
    """This process's memory of an outage: the bumps it could not write, and how many of
    its cache calls failed since it last re-applied the database's rows."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: set[str] = set()
        self.failures = 0

    def __bool__(self) -> bool:
        return bool(self.failures or self.keys)


_unsettled = _Unsettled()


ACCOUNT_STAMP_PREFIX = "account-stamp:v1:"


def account_key(user_id: int) -> str:
    """The stamp of one account's cached record (the user row with its subscription's
    state, accounts.session): any change to either moves it."""
    return f"{ACCOUNT_STAMP_PREFIX}{user_id}"


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
    return _create(key)[0]


def _create(key: str) -> tuple[str, bool]:
    """The stamp, and whether the cache answered (django-redis answers a skipped `add`
    with None, Django's caches with a bool)."""
    stamp = uuid.uuid4().hex
    try:
        added = cache.add(key, stamp, None)
        if added is False:
            stamp = str(cache.get(key) or stamp)
    except Exception:  # the cache is down: a stamp of our own, so nothing derived is trusted
        added = None
    if added is None:
        _met_outage()
    return stamp, added is not None


def _read(keys: list[str]) -> dict[str, str]:
    try:
        found = cache.get_many(keys)
    except Exception:  # the cache is down; see the module docstring
        found = {}
    stamps, answered = {}, bool(found)
    for key in keys:
        if found.get(key):
            stamps[key] = str(found[key])
        else:
            stamps[key], made = _create(key)
            answered = answered or made
    if _unsettled and answered:
        stamps.update(_settled(keys))
    return stamps


def current(key: str) -> str:
    scope = _scope.get()
    if scope is None:
        return _read([key])[key]
    if key not in scope:
        scope.update(_read(sorted(_registered | {key})))
    return scope[key]


Via = tuple[str, tuple[str, ...]]


def read_with(keys: list[str], *, via: Via | None = None) -> dict[str, object]:
    """The values of `keys` (per-record stamps and the records they version) in the same
    round trip as the request's stamps, when those are not read yet. Missing keys are
    absent; with the cache down, everything is.

    `via` (a pointer key and key prefixes): also the pointer's value and the keys it
    names, each prefix followed by that value, still in one round trip — a record
    reached through a key the request holds (its session's, its token's), without a
    round trip to learn whose it is. A pointer is a hint: the caller uses what it names
    only once the request has shown the same value."""
    scope = _scope.get()
    stamps = sorted(_registered) if scope is not None and not scope else []
    try:
        if via is None:
            found = cache.get_many([*stamps, *keys])
        else:
            found = get_many_via(cache, [*stamps, *keys], *via)
    except Exception:  # the cache is down; see the module docstring
        found = {}
    if stamps and scope is not None:
        scope.update({k: str(found[k]) if found.get(k) else _create(k)[0] for k in stamps})
    wanted = [*keys, *(k for k in found if k not in keys and k not in stamps)]
    if _unsettled and found:
        reapplied = _settled([*stamps, *wanted])
        if scope is not None:
            scope.update({k: v for k, v in reapplied.items() if k in stamps})
        found.update({k: v for k, v in reapplied.items() if k in wanted})
    return {key: found[key] for key in wanted if key in found}


def read_stamped(
    stamp_key: str, key: str, *, found: dict[str, object] | None = None
) -> tuple[str, dict[str, Any] | None]:
    """A record versioned by a stamp: the stamp (made now if it has none) and the record
    under `key` when it was made under that stamp (its "stamp" entry), else None. Warm:
    the same round trip as `read_with`, or none when `found` is what a `read_with` that
    asked for both keys answered. The stamp is read before the caller reads the
    database for a new record: a change committed after this read moves the stamp, so a
    record stored with this stamp is never read again."""
    if found is None:
        found = read_with([stamp_key, key])
    stamp, record = found.get(stamp_key), found.get(key)
    if stamp and isinstance(record, dict) and record.get("stamp") == stamp:
        return str(stamp), record
    return (str(stamp) if stamp else ensure(stamp_key)), None


def bump(key: str) -> None:
    """Everything derived under the old stamp is dropped, in every process."""
    bump_many([key])


def bump_many(keys: list[str]) -> None:
    """`bump` for many keys in one round trip."""
    if not keys:
        return
    if _store(keys) is None:
        _lost(keys)
    scope = _scope.get()
    if scope is not None:
        for key in keys:
            scope.pop(key, None)


def reapply_lost_bumps() -> int:
    """Every bump the database holds as lost gets a fresh stamp; how many (0 while the
    cache is still unreachable: the rows stay). The sweep beat runs every minute."""
    from .models import LostBump

    rows = dict(LostBump.objects.values_list("id", "key"))
    if not rows or _store(rows.values()) is None:
        return 0
    LostBump.objects.filter(id__in=rows).delete()
    return len(rows)


def forget_local_state() -> None:
    """Forget this process's memory of an outage, as a process started now has none
    (tests: another process)."""
    with _unsettled.lock:
        _unsettled.keys.clear()
        _unsettled.failures = 0


def _store(keys: Iterable[str]) -> dict[str, str] | None:
    """Fresh stamps for `keys`, written in one round trip; None when the cache did not
    take them. django-redis skips a failed write silently (IGNORE_EXCEPTIONS), so its
    own client writes here: that one raises."""
    stamps = {key: uuid.uuid4().hex for key in keys}
    client = getattr(cache, "client", None)
    try:
        if client is not None:
            client.set_many(stamps, timeout=None)
        elif cache.set_many(stamps, None):
            return None  # Django's caches answer the keys they could not write
    except Exception:
        return None
    return stamps


def _met_outage() -> None:
    with _unsettled.lock:
        _unsettled.failures += 1


def _lost(keys: list[str]) -> None:
    """The cache did not take these bumps: kept here and in the database."""
    logger.warning(
        "Version stamps not written (the cache is unreachable), re-applied when it answers: %s",
        ", ".join(keys),
    )
    with _unsettled.lock:
        _unsettled.keys.update(keys)
        _unsettled.failures += 1
    from .models import LostBump

    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the change alone
            LostBump.objects.bulk_create([LostBump(key=k) for k in keys], ignore_conflicts=True)
    except DatabaseError:  # this process still re-applies them (see the docstring)
        logger.exception("Lost version stamps not recorded in the database")


def _settled(read: list[str]) -> dict[str, str]:
    """The cache answered a read while this process was unsettled: re-apply what it
    lost (and, when it met the outage, what the database holds as lost) before any
    stamp is trusted. The fresh stamps of the keys in `read`."""
    from .models import LostBump

    with _unsettled.lock:
        keys, failures = set(_unsettled.keys), _unsettled.failures
    try:
        rows = dict(LostBump.objects.values_list("id", "key")) if failures else {}
    except DatabaseError:  # stay unsettled: the next read tries again
        return {}
    stamps = _store(keys | set(rows.values())) if keys or rows else {}
    if stamps is None:
        return {}
    if rows:
        LostBump.objects.filter(id__in=rows).delete()
    with _unsettled.lock:  # failures met meanwhile stay counted: the next read looks again
        _unsettled.keys -= keys
        _unsettled.failures -= failures
    return {key: stamps[key] for key in read if key in stamps}
