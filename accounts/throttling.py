"""Sign-in and sign-up limits, kept in the cache (locmem in tests, Redis in production).

`FailureLimiter` counts only *failed* sign-ins (per email, per client address, and a
longer lockout per address); `SignupRateThrottle` is a DRF throttle on sign-up calls per
client address at `settings.SIGNUP_RATE`. Both answer 429 with `Retry-After`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from config.env import parse_rate

from .identity import identity_hash


@dataclass(frozen=True)
class _Limit:
    key: str
    count: int
    window: int


class FailureLimiter:
    """Sliding-window counters of failed sign-ins. `wait()` says how long the caller
    must wait before trying again (None: go ahead)."""

    def __init__(self, *, email: str, address: str):
        limits = []
        count, window = parse_rate(settings.LOGIN_FAILURES_PER_EMAIL)
        limits.append(_Limit(f"login-fail:email:{identity_hash(email)}", count, window))
        count, window = parse_rate(settings.LOGIN_FAILURES_PER_ADDRESS)
        limits.append(_Limit(f"login-fail:addr:{address}", count, window))
        count, window = parse_rate(settings.LOGIN_LOCKOUT)
        limits.append(_Limit(f"login-lockout:addr:{address}", count, window))
        self.limits = limits
        self._email_key = limits[0].key

    def _history(self, limit: _Limit, now: float) -> list[float]:
        history: list[float] = cache.get(limit.key, [])
        return [t for t in history if t > now - limit.window]

    def wait(self) -> float | None:
        now = time.time()
        waits = []
        for limit in self.limits:
            history = self._history(limit, now)
            if len(history) >= limit.count:
                waits.append(limit.window - (now - history[-limit.count]))
        return max(waits) if waits else None

    def record_failure(self) -> None:
        now = time.time()
        for limit in self.limits:
            history = [*self._history(limit, now), now][-limit.count :]
            cache.set(limit.key, history, limit.window)

    def record_success(self) -> None:
        """A good sign-in clears the per-email count (not the per-address ones)."""
        cache.delete(self._email_key)


def client_address(request: Request) -> str:
    """The client address DRF's throttles use (REMOTE_ADDR, or X-Forwarded-For behind
    NUM_PROXIES proxies)."""
    return BaseThrottle().get_ident(request)


class SignupRateThrottle(SimpleRateThrottle):
    scope = "signup"

    def get_rate(self) -> str:
        return str(settings.SIGNUP_RATE)

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        if rate is None:
            return (None, None)
        return parse_rate(rate)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
