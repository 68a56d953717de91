"""The API's side of `accounts.limits`: sign-ups as a DRF throttle (429 with Retry-After)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from . import limits


class SignupThrottle(BaseThrottle):
    """Sign-ups per client address at `SIGNUP_RATE`, in the counter the web shares."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method != "POST":
            return True
        try:
            limits.signup_begin(address=limits.client_address(request))
        except limits.Throttled as exc:
            self._wait = exc.wait
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
