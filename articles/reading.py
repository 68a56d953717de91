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

from .models import Article
from .pages import ArticleSnapshot, article_snapshot


@dataclass(frozen=True)
class ArticleRead:
    article: Article
    decision: paywall.Decision
    body_html: str | None
    preview_html: str
    topics: list[dict[str, Any]]
    related: list[dict[str, Any]]
    snapshot: ArticleSnapshot

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
    """Raises Article.DoesNotExist for an unknown slug. The article comes from its
    snapshot (articles/pages.py): warm, no SQL."""
    # The reader first: a signed-in reader's account record (or API token) is read in the
    # same round trip as the version stamps the snapshot needs (accounts.authentication).
    user = getattr(request, "user", None)
    if user is not None:
        user.is_authenticated  # noqa: B018  (evaluates the lazy user)
    snapshot = article_snapshot(slug=slug)
    article = snapshot.article
    decision = paywall.article_access(request, article, channel=channel)
    return ArticleRead(
        article=article,
        decision=decision,
        body_html=article.body if decision.granted else None,
        preview_html=snapshot.preview_html(decision.preview_paragraphs),
        topics=snapshot.topics,
        related=snapshot.related,
        snapshot=snapshot,
    )
