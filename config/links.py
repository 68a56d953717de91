"""Absolute links for emails, Stripe return pages and anything sent outside a request:
the path from `reverse()`, the scheme and host from SITE_URL."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def absolute_url(viewname: str, *, query: str = "", **kwargs: Any) -> str:
    """`https://site/path/` for a named route (kwargs are its URL arguments); `query`
    is appended as given (e.g. Stripe's `{CHECKOUT_SESSION_ID}` placeholder)."""
    url = settings.SITE_URL.rstrip("/") + reverse(viewname, kwargs=kwargs or None)
    return f"{url}?{query}" if query else url


def on_site_path(url: str | None) -> str | None:
    """`url` when it is a path on this site ("/a/story/"), else None: a `next` taken from
    a request never sends the reader to another host (not "//evil.example/" either)."""
    if not url or not url.startswith("/"):
        return None
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else None
