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

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django_redis.cache import RedisCache as DjangoRedisCache
from django_redis.client import DefaultClient
from redis.exceptions import RedisError

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
        try:
            pool = client.get_client(write=False).connection_pool
            values = redis_command.command(
                pool, "MGET", *(client.make_key(key, version=version) for key in keys)
            )
        except (RedisError, OSError):
            if not self._ignore_exceptions:
                raise
            if self.logger is not None:
                self.logger.exception(IGNORED)
            return {}
        return {key: client.decode(v) for key, v in zip(keys, values, strict=True) if v is not None}

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(super().touch(*args, **kwargs))
        except RedisError:
            if not self._ignore_exceptions:
                raise
            if self.logger is not None:
                self.logger.exception(IGNORED)
            return False
