"""The one limiter for sign-ins and sign-ups: the API, the web pages (allauth) and the
admin all count in these counters, so failures on one count on the others.

Counters live in the cache (Redis in production, locked files without Redis, locmem in
tests) and are atomic: each attempt is counted with the cache's `add` + `incr` *before*
the password is checked, so twenty parallel guesses at a limit of five get five tries,
not twenty; a good sign-in gives its count back. A window starts with the first hit and
lasts the rate's period (`"5/15m"`: five in the fifteen minutes after the first);
Retry-After is what is left.

Limits (settings, "N/period"): failed sign-ins per email (any case/Gmail/IDN variant,
by `identity_hash`), per client address, and a longer lockout per address; sign-ups per
client address. The client address is REMOTE_ADDR, or the `NUM_PROXIES`-th address from
the right of X-Forwarded-For behind that many trusted proxies (the same setting feeds
DRF and allauth).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.forms import Form
from django.http import HttpRequest
from rest_framework.request import Request

from config.env import parse_rate

from .identity import identity_hash


class Throttled(Exception):
    """Too many attempts: try again in `wait` seconds."""

    def __init__(self, wait: int):
        super().__init__(f"throttled for {wait} s")
        self.wait = wait


@dataclass
class _Hit:
    key: str


def client_address(request: HttpRequest | Request) -> str:
    """REMOTE_ADDR, or behind `NUM_PROXIES` trusted proxies the address the outermost of
    them saw (X-Forwarded-For, counted from the right: anything to its left is the
    client's own say and can be forged)."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR", ""))
    proxies = int(settings.NUM_PROXIES)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]


def _count(*, scope: str, ident: str, rate: str, now: float) -> tuple[_Hit, int | None]:
    """Count one hit; the wait in seconds when the limit is exceeded (None: go ahead)."""
    limit, period = parse_rate(rate)
    base = f"limit:{scope}:{ident}"
    cache.add(f"{base}:start", now, timeout=period)
    start = cache.get(f"{base}:start")
    if start is None:  # expired between the two calls: a window starting now
        start = now
    key = f"{base}:{start:.3f}"
    ttl = max(1, math.ceil(start + period - now))
    cache.add(key, 0, timeout=ttl)
    try:
        hits = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=ttl)
        hits = 1
    if hits is None:
        # The cache is down (Redis: IGNORE_EXCEPTIONS): nothing can be counted, so the
        # limit is not enforced until it is back, rather than refusing every sign-in.
        # /readyz reports it (tests/integration/test_faults.py).
        return _Hit(key), None
    # Redis and locmem keep the expiry on incr; caches whose incr is get+set do not.
    cache.touch(key, ttl)
    wait = max(1, math.ceil(start + period - now)) if hits > limit else None
    return _Hit(key), wait


def _give_back(hits: list[_Hit]) -> None:
    for hit in hits:
        with contextlib.suppress(ValueError):  # the window has ended meanwhile
            cache.decr(hit.key)


def _consume(limits: list[tuple[str, str, str]]) -> list[_Hit]:
    """Count one hit on each (scope, ident, rate) in turn; when one is over, give back
    this attempt's hits (a refused attempt costs nothing) and raise Throttled."""
    now = time.time()
    hits: list[_Hit] = []
    for scope, ident, rate in limits:
        hit, wait = _count(scope=scope, ident=ident, rate=rate, now=now)
        hits.append(hit)
        if wait is not None:
            _give_back(hits)
            raise Throttled(wait)
    return hits


@dataclass
class SignIn:
    """One sign-in attempt, already counted as a failure until `succeeded()`."""

    email_ident: str
    address_hits: list[_Hit] = field(default_factory=list)

    def succeeded(self) -> None:
        """A good password: the per-email count starts over; the per-address counts get
        this attempt back (not more, so good sign-ins cannot launder guesses)."""
        base = f"limit:signin-email:{self.email_ident}"
        start = cache.get(f"{base}:start")
        cache.delete_many([f"{base}:start"] + ([f"{base}:{start:.3f}"] if start else []))
        _give_back(self.address_hits)


def signin_begin(*, email: str, address: str) -> SignIn:
    """Count a sign-in attempt (web, API or admin) before its password is checked.
    Raises Throttled when the email or the address has failed too often."""
    email_ident = identity_hash(email)
    hits = _consume(
        [
            ("signin-lockout", address, settings.LOGIN_LOCKOUT),
            ("signin-address", address, settings.LOGIN_FAILURES_PER_ADDRESS),
            ("signin-email", email_ident, settings.LOGIN_FAILURES_PER_EMAIL),
        ]
    )
    return SignIn(email_ident=email_ident, address_hits=hits[:2])


def signup_begin(*, address: str) -> None:
    """Count a sign-up attempt (web or API). Raises Throttled past SIGNUP_RATE."""
    _consume([("signup", address, settings.SIGNUP_RATE)])


THROTTLED_CODE = "throttled"
SIGNIN_THROTTLED = "Too many failed sign-ins. Try again later."


def form_wait(form: Form) -> int | None:
    """The Retry-After of a form refused by the limiter (its non-field error), else None."""
    for error in form.errors.as_data().get("__all__", []):
        if error.code == THROTTLED_CODE and error.params:
            return int(error.params["wait"])
    return None
