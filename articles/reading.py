"""Reading one article: the seam between the catalogue and the paywall.

The API and the web page both call `read_article()`; it asks the paywall facade for a
decision and returns only the text that decision allows. Nothing else builds article
text for a reader, so the wall cannot be bypassed by a channel that forgot to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from subscriptions import paywall

from . import selectors
from .content import preview_html
from .models import Article


@dataclass(frozen=True)
class ArticleRead:
    article: Article
    decision: paywall.Decision
    body_html: str | None
    preview_html: str
    topics: list[dict[str, Any]]
    related: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        """The API's `article` shape."""
        a = self.article
        return {
            "slug": a.slug,
            "title": a.title,
            "standfirst": a.standfirst,
            "author": a.author,
            "published_at": a.published_at,
            "topics": self.topics,
            "publication": {"slug": a.publication.slug, "name": a.publication.name},
            "access": self.decision.as_dict(),
            "body_html": self.body_html,
            "preview_html": self.preview_html,
            "related": self.related,
        }


def read_article(*, request: HttpRequest, slug: str, channel: str = "web") -> ArticleRead:
    """Raises Article.DoesNotExist for an unknown slug."""
    article = selectors.article_get(slug=slug)
    decision = paywall.article_access(request, article, channel=channel)
    extras = selectors.article_extras(article=article)
    return ArticleRead(
        article=article,
        decision=decision,
        body_html=article.body if decision.granted else None,
        preview_html=preview_html(article.body, decision.preview_paragraphs),
        topics=extras["topics"],
        related=extras["related"],
    )
