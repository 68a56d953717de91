"""The Redis cache backend: django-redis, whose IGNORE_EXCEPTIONS also covers `touch`.

django-redis 7.0 turns a connection error into a cache miss for get/set/add/incr/...,
but its `touch` lets redis' ConnectionError through: with Redis down, the sign-in and
sign-up limiter (`accounts.limits`) answered 500 instead of going on.
"""

from __future__ import annotations

from typing import Any

from django_redis.cache import RedisCache as DjangoRedisCache
from redis.exceptions import RedisError


class RedisCache(DjangoRedisCache):  # type: ignore[type-arg]
    def touch(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(super().touch(*args, **kwargs))
        except RedisError:
            if not self._ignore_exceptions:
                raise
            if self._log_ignored_exceptions:
                self.logger.exception("Exception ignored")
            return False
