"""The reader's pages: server-rendered, no JavaScript needed.

Every page answers GET and HEAD only (`require_safe`): any other method is a 405 before the
paywall is asked, so no method can read an article without spending the meter.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from config.parsers import storable_text

from . import selectors
from .models import Article, Publication, Topic
from .pages import render_page
from .reading import read_article

PAGE_SIZE = 20


def _page(request: HttpRequest, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "articles/home.html", selectors.home_sections())


@require_safe
def publication(request: HttpRequest, slug: str) -> HttpResponse:
    pub = get_object_or_404(Publication.objects.select_related("publisher"), slug=slug)
    page = _page(request, selectors.article_list(publication=pub.slug))
    return render(request, "articles/publication.html", {"publication": pub, "page": page})


@require_safe
def topic(request: HttpRequest, slug: str) -> HttpResponse:
    t = get_object_or_404(Topic, slug=slug)
    page = _page(request, selectors.article_list(topic=t.slug))
    return render(request, "articles/topic.html", {"topic": t, "page": page})


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:200]
    if not storable_text(q):  # the database cannot be asked about it
        problem = "Search terms cannot contain a NUL character."
        context = {"q": "", "page": None, "problem": problem}
        return render(request, "articles/search.html", context, status=400)
    page = _page(request, selectors.article_list(q=q)) if q else None
    return render(request, "articles/search.html", {"q": q, "page": page})


@require_safe
def publications(request: HttpRequest) -> HttpResponse:
    return render(
        request, "articles/publications.html", {"publications": selectors.publications_list()}
    )


@require_safe
def article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        read = read_article(request=request, slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article") from None
    response = HttpResponse(render_page(request=request, snapshot=read.snapshot, read=read))
    # Every answer depends on who asks (the meter, the wall): never share it. A new
    # response has neither header: set as they are (what patch_cache_control and
    # patch_vary_headers would write, without parsing them first).
    response["Cache-Control"] = "private, no-store"
    response["Vary"] = "Cookie, Authorization"
    return response
