"""Content-Security-Policy: django-csp's middleware, plus the Stripe double's origin.

The account page's forms answer with a redirect to Stripe's hosted pages; browsers check
`form-action` against the redirect's target, so the origin Stripe calls go to (the local
double in `make run` and the browser tests) is added per response from the live setting.

django-csp builds two policies for every response, the enforced one and a report-only
one, even when no report-only policy is configured (it then comes out empty). We build
the enforced one once, and the report-only one only when there is one to build.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, PolicyParts
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Answers django-csp leaves without a policy under DEBUG (Django's debug pages).
DEBUG_PAGES = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
REPORT_ONLY_ATTRIBUTES = ("_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _excluded(request: HttpRequest, policy: dict | None) -> bool:
    prefixes = (policy or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))


class CSPMiddleware(_CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        stripe_origin = _origin(settings.STRIPE_API_BASE)
        if stripe_origin:
            parts.update = {**(parts.update or {}), "form-action": [stripe_origin]}
        return parts

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or any(
            hasattr(response, name) for name in REPORT_ONLY_ATTRIBUTES
        ):
            return super().process_response(request, response)  # both, as django-csp does
        if response.status_code in DEBUG_PAGES and settings.DEBUG:
            return response
        if (
            HEADER not in response
            and not getattr(response, "_csp_exempt", False)
            and not _excluded(request, getattr(settings, "CONTENT_SECURITY_POLICY", None))
        ):
            parts = self.get_policy_parts(request=request, response=response)
            policy = build_policy(parts.config, parts.update, parts.replace, parts.nonce)
            if policy:
                response[HEADER] = policy
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp: a nonce asked for after the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
