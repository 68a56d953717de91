"""The Redis cache backend: django-redis, whose IGNORE_EXCEPTIONS also covers `touch`, and
whose ignored errors are logged as one line per outage instead of a traceback per call.

django-redis 7.0 turns a connection error into a cache miss for get/set/add/incr/...,
but its `touch` lets redis' ConnectionError through: with Redis down, the sign-in and
sign-up limiter (`accounts.limits`) answered 500 instead of going on.

With DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS it logs every ignored error with
`logger.exception("Exception ignored")`: with Redis down, a full traceback for each cache
call of each request. `IgnoredCacheErrors` turns those into one warning when the outage is
first met, then at most one a minute that counts the calls answered without Redis.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django_redis.cache import RedisCache as DjangoRedisCache
from django_redis.client import DefaultClient
from redis.exceptions import NoScriptError, RedisError

from . import redis_command

IGNORED = "Exception ignored"  # what django-redis logs for each ignored error


class IgnoredCacheErrors(logging.Filter):
    """A filter on django-redis' logger: its "Exception ignored" records become one line
    without a traceback, at most one per INTERVAL seconds per process; the records in
    between are dropped and counted. Any other record passes as it is."""

    INTERVAL = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock
        self.last_logged: float | None = None
        self.suppressed = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != IGNORED:
            return True
        now = self.clock()
        with self._lock:
            since = self.last_logged
            if since is not None and now - since < self.INTERVAL:
                self.suppressed += 1
                return False
            quiet, self.suppressed = self.suppressed, 0
            self.last_logged = now
        error = _cause(record.exc_info[1] if record.exc_info else None)
        if since is None or quiet == 0:  # the first error of an outage (as far as we know)
            record.msg = "Redis unavailable: cache calls answer as misses, writes are skipped (%s)"
            record.args = (error,)
        else:
            record.msg = "Redis still unavailable: %d cache calls answered without it in %d s (%s)"
            record.args = (quiet + 1, round(now - since), error)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _cause(exc: BaseException | None) -> str:
    """The error under django-redis' ConnectionInterrupted, in one line."""
    while exc is not None and exc.__cause__ is not None:
        exc = exc.__cause__
    if exc is None:
        return "no error given"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


IGNORED_ERRORS = IgnoredCacheErrors()

# `RedisCache.get_many_via` in one round trip: the keys' values, the pointer's value,
# and, when the pointer has one, the values of each prefix followed by it. The named keys
# are not declared in KEYS (they are known only inside): fine on one Redis server, not
# on a cluster, which this project does not use.
_VIA_SCRIPT = """
local found = redis.call('MGET', unpack(KEYS))
local pointer = redis.call('GET', ARGV[1])
found[#KEYS + 1] = pointer
if pointer then
  local named = {}
  for i = 2, #ARGV do named[i - 1] = ARGV[i] .. pointer end
  local more = redis.call('MGET', unpack(named))
  for i = 1, #more do found[#KEYS + 1 + i] = more[i] end
end
return found
"""
_VIA_SHA = hashlib.sha1(_VIA_SCRIPT.encode()).hexdigest()


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        if self.logger is not None:
            self.logger.addFilter(IGNORED_ERRORS)  # once: a filter is added only once

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        """django-redis' `get_many` (its keys, its decoding: the same values), with the
        MGET sent through `redis_command` (every article page reads the version stamps
        this way). Errors as django-redis: with IGNORE_EXCEPTIONS, nothing found."""
        client = self.client
        if type(client) is not DefaultClient:  # another client class: its own way
            return super().get_many(keys, version=version)
        keys = list(keys)
        if not keys:
            return {}
        made = [client.make_key(key, version=version) for key in keys]
        values = self._reply(lambda pool: redis_command.command(pool, "MGET", *made))
        if values is None:
            return {}
        return {key: client.decode(v) for key, v in zip(keys, values, strict=True) if v is not None}

    def get_many_via(
        self, keys: Sequence[str], pointer: str, prefixes: Sequence[str]
    ) -> dict[str, Any]:
        """`get_many(keys)`, the pointer's value, and the keys the pointer names (each
        prefix followed by its value), in one round trip (a Lua script). Absent keys are
        absent from the answer; errors as `get_many`. The pointer's value is an int (which
        django-redis stores as its digits: anything else it pickles, and names no key).
        A made prefix followed by the value is the made key of prefix + value: so it is
        with Django's default KEY_FUNCTION."""
        client = self.client
        if type(client) is not DefaultClient or not keys or not prefixes:
            return _get_many_via(self, keys, pointer, prefixes)
        keys = list(keys)
        made = [client.make_key(key) for key in keys]
        args = [client.make_key(pointer), *(client.make_key(p) for p in prefixes)]

        def run(pool: Any) -> Any:
            try:
                return redis_command.command(pool, "EVALSHA", _VIA_SHA, len(made), *made, *args)
            except NoScriptError:  # the server's first run of it (since a restart)
                return redis_command.command(pool, "EVAL", _VIA_SCRIPT, len(made), *made, *args)

        values = self._reply(run)
        if values is None:
            return {}
        # Lua's false (a missing value) is None on a RESP2 connection, False on RESP3.
        values = [None if v is None or v is False else v for v in values]
        found = {k: client.decode(v) for k, v in zip(keys, values, strict=False) if v is not None}
        target = values[len(keys)] if len(values) > len(keys) else None
        if target is not None:
            found[pointer] = name = client.decode(target)
            named = zip(prefixes, values[len(keys) + 1 :], strict=False)
            found.update({f"{p}{name}": client.decode(v) for p, v in named if v is not None})
        return found

    def _reply(self, send: Callable[[Any], Any]) -> Any:
        """`send(pool)`'s reply on the read pool; None when Redis failed and errors are
        ignored (then logged as django-redis logs them)."""
        try:
            return send(self.client.get_client(write=False).connection_pool)
        except (RedisError, OSError):
            if not self._ignore_exceptions:
                raise
            if self.logger is not None:
                self.logger.exception(IGNORED)
            return None

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(super().touch(*args, **kwargs))
        except RedisError:
            if not self._ignore_exceptions:
                raise
            if self.logger is not None:
                self.logger.exception(IGNORED)
            return False


def _get_many_via(cache: Any, keys: Sequence[str], pointer: str, prefixes: Sequence[str]) -> dict:
    """`get_many_via` for any Django cache: two reads."""
    found: dict[str, Any] = cache.get_many([*keys, pointer])
    if pointer in found and prefixes:
        found.update(cache.get_many([f"{prefix}{found[pointer]}" for prefix in prefixes]))
    return found


def get_many_via(cache: Any, keys: Sequence[str], pointer: str, prefixes: Sequence[str]) -> dict:
    """The keys' values, the pointer's, and those of the keys it names (`prefix` +
    its value): one round trip on Redis (`RedisCache.get_many_via`), two elsewhere."""
    method = getattr(cache, "get_many_via", None)  # `cache` may be Django's proxy
    if method is not None:
        return dict(method(keys, pointer, prefixes))
    return _get_many_via(cache, keys, pointer, prefixes)
