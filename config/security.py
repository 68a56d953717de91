"""Content-Security-Policy: django-csp's middleware, plus the Stripe double's origin.

The account page's forms answer with a redirect to Stripe's hosted pages; browsers check
`form-action` against the redirect's target, so the origin Stripe calls go to (the local
double in `make run` and the browser tests) is added per response from the live setting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class CSPMiddleware(_CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        stripe_origin = _origin(settings.STRIPE_API_BASE)
        if stripe_origin:
            parts.update = {**(parts.update or {}), "form-action": [stripe_origin]}
        return parts
