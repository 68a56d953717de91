"""The benchmark's limit: the article page's bytes from memory, through the same middleware.

Mounted only when MASTHEAD_BENCH=1 (see config/urls.py); never in production. The first
request renders the real page (an anonymous reader, the real view); every later one
answers those bytes with the same headers, so the row shows what the stack itself costs.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from articles.views import article

_pages: dict[str, bytes] = {}


def page_from_memory(request: HttpRequest, slug: str) -> HttpResponse:
    body = _pages.get(slug)
    if body is None:
        body = _pages.setdefault(slug, article(request, slug).content)
    response = HttpResponse(body)
    patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ["Cookie", "Authorization"])
    return response
