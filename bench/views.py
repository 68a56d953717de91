"""The benchmark's ceiling: the article page's template and query, without the paywall.

Mounted only when MASTHEAD_BENCH=1 (see config/urls.py); never in production.
"""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from articles import selectors
from articles.models import Article
from subscriptions.paywall import Decision


def bare_article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = selectors.article_get(slug=slug)
    except Article.DoesNotExist:
        raise Http404 from None
    extras = selectors.article_extras(article=article)
    decision = Decision(granted=True, reason="free", level="free")
    read = {"body_html": article.body, "topics": extras["topics"], "preview_html": ""}
    return render(
        request,
        "articles/article.html",
        {
            "article": article,
            "read": read,
            "decision": decision,
            "related": extras["related"],
            "json_ld": json.dumps({"@type": "NewsArticle", "headline": article.title}),
        },
    )
