"""Article bodies written through the admin are sanitised before they are stored: the page
renders them `|safe`, so hostile markup must never reach the database."""

from __future__ import annotations

import re

import pytest

from articles.models import Article
from tests.factories import ArticleFactory, PublicationFactory

pytestmark = pytest.mark.django_db

HOSTILE_BODY = """
<p>Opening paragraph with <strong>bold</strong> and <em>emphasis</em>,
  <a href="https://example.org/report" onclick="alert('xss-onclick')">a source</a>.</p>
<script>alert('xss-script')</script>
<p><img src="x.png" onerror="alert('xss-onerror')"></p>
<p><a href="javascript:alert('xss-js-url')">click me</a>
  <a href="JaVaScRiPt:alert('xss-js-mixed')">me too</a>
  <a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a></p>
<p style="background:url(javascript:alert('xss-style-attr'))">Styled text.</p>
<style>body { background: url("javascript:alert('xss-style-tag')") }</style>
<iframe src="https://evil.example/frame"></iframe>
<svg onload="alert('xss-svg')"><script>alert('xss-svg-script')</script></svg>
<object data="https://evil.example/flash.swf"></object>
<form action="https://evil.example/"><input name="card"></form>
<h2>A subheading</h2>
<blockquote><p>A quotation.</p></blockquote>
<ul><li>one</li><li>two</li></ul>
<figure><img src="https://images.example/photo.jpg" alt="A photo" width="640">
  <figcaption>The caption</figcaption></figure>
<table><caption>Figures</caption><thead><tr><th scope="col">Year</th></tr></thead>
  <tbody><tr><td>2026</td></tr></tbody></table>
"""

# Nothing of the attack may survive anywhere in an answer.
FORBIDDEN = [
    "xss-",
    "alert(",
    "javascript:",
    "data:text/html",
    "onerror",
    "onclick",
    "onload",
    "<iframe",
    "<svg",
    "<object",
    "<form",
    "<input",
    "<style",
    "evil.example",
]
# ... while what an article needs is kept.
KEPT = [
    "<strong>bold</strong>",
    "<em>emphasis</em>",
    '<a href="https://example.org/report" rel="noopener noreferrer nofollow">a source</a>',
    "<h2>A subheading</h2>",
    "<blockquote><p>A quotation.</p></blockquote>",
    "<ul><li>one</li><li>two</li></ul>",
    '<img src="https://images.example/photo.jpg" alt="A photo" width="640">',
    "<figcaption>The caption</figcaption>",
    "<caption>Figures</caption>",
    '<th scope="col">Year</th>',
    "<td>2026</td>",
    "<p>Styled text.</p>",
]


def _form(publication_id: int, **fields: str) -> dict[str, str]:
    return {
        "publication": str(publication_id),
        "slug": "hostile-story",
        "title": "A hostile story",
        "standfirst": "Standfirst.",
        "author": "Mallory",
        "body": HOSTILE_BODY,
        "published_at_0": "2026-01-02",
        "published_at_1": "10:00:00",
        "access_level": "free",
        "news_value": "50",
        **fields,
    }


def _article_body_on_page(html: str) -> str:
    match = re.search(r'<div class="article-body paywalled-content">(.*?)</div>\s*', html, re.S)
    assert match, "the full body is on the page"
    return match.group(1)


def _assert_neutralised(text: str) -> None:
    lowered = text.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, needle


def _assert_kept(text: str) -> None:
    for needle in KEPT:
        assert needle in text, needle


def test_hostile_body_added_through_the_admin_is_neutralised_on_page_and_api(
    admin_client, api_client
) -> None:
    publication = PublicationFactory()
    response = admin_client.post("/admin/articles/article/add/", _form(publication.pk))
    assert response.status_code == 302, response.content.decode()[:2000]

    stored = Article.objects.get(slug="hostile-story").body
    _assert_neutralised(stored)
    _assert_kept(stored)

    page = api_client.get("/a/hostile-story/")
    assert page.status_code == 200
    _assert_neutralised(_article_body_on_page(page.content.decode()))
    _assert_kept(page.content.decode())

    api = api_client.get("/api/v1/articles/hostile-story/")
    assert api.status_code == 200
    _assert_neutralised(api.json()["body_html"])
    _assert_neutralised(api.json()["preview_html"])
    _assert_kept(api.json()["body_html"])


def test_hostile_body_changed_through_the_admin_is_neutralised(admin_client) -> None:
    article = ArticleFactory(access_level="free")
    form = _form(article.publication_id, slug=article.slug, title=article.title)
    response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 302
    article.refresh_from_db()
    _assert_neutralised(article.body)
    _assert_kept(article.body)


def test_a_body_that_is_nothing_but_an_attack_is_refused(admin_client) -> None:
    article = ArticleFactory(access_level="free")
    before = article.body
    form = _form(
        article.publication_id,
        slug=article.slug,
        title=article.title,
        body="<script>alert('xss-only')</script><iframe src='https://evil.example/'></iframe>",
    )
    response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "Nothing is left of this body once unsafe markup is removed" in (
        response.content.decode()
    )
    article.refresh_from_db()
    assert article.body == before
