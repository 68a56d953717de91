"""Zero leaks: hidden text never reaches a reader who is not granted the article, on any
channel. The body's hidden paragraphs hold sentinel sentences that nothing else holds."""

import pytest
from django.utils.text import slugify

from subscriptions.paywall import rules
from tests.factories import ArticleFactory, EditorialPickFactory, PublicationFactory, TopicFactory
from tests.paywall.conftest import HIDDEN, body_for, reader_client

pytestmark = pytest.mark.django_db

READERS = [
    "anonymous",
    "signed_in",
    "lapsed",
    "past_due_over",
    "trial",
    "subscriber",
    "complimentary",
    "past_due_grace",
]
LEVELS = ["free", "metered", "registered", "premium"]


@pytest.fixture
def catalogue(settings):
    settings.METER_FREE_ARTICLES = 0  # metered articles are walled for the non-entitled
    topic = TopicFactory(slug="leaks", name="Leaks")
    pub = PublicationFactory(slug="leak-times")
    rules.rule_set(scope="publication", target_id=pub.pk, access_level="premium")
    articles = {
        level: ArticleFactory(
            publication=pub,
            topics=[topic],
            access_level=level,
            body=body_for(level),
            title=f"{level} story",
            slug=slugify(f"{level} story"),
        )
        for level in LEVELS
    }
    EditorialPickFactory(article=articles["premium"])
    return articles


def channels(article, other):
    """Every place an article's text could surface, for one article."""
    return {
        "api detail": f"/api/v1/articles/{article.slug}/",
        "web page": f"/a/{article.slug}/",
        "web page as print": f"/a/{article.slug}/?print=1",
        "api detail as format": f"/api/v1/articles/{article.slug}/?format=json",
        "related on another article (api)": f"/api/v1/articles/{other.slug}/",
        "related on another article (web)": f"/a/{other.slug}/",
        "api list": "/api/v1/articles/",
        "api search": "/api/v1/articles/?q=quuxword",
        "api top": "/api/v1/articles/top/",
        "api picks": "/api/v1/articles/picks/",
        "api publications": "/api/v1/publications/",
        "home": "/",
        "title page": "/t/leak-times/",
        "topic page": "/topic/leaks/",
        "search page": "/search/?q=quuxword",
        "search page by title": "/search/?q=story",
    }


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("level", LEVELS)
def test_hidden_text_never_reaches_a_reader_without_access(catalogue, kind, level):
    article = catalogue[level]
    other = catalogue["free" if level != "free" else "metered"]
    client = reader_client(kind, api=True)
    detail = client.get(f"/api/v1/articles/{article.slug}/").json()
    granted = detail["access"]["granted"]

    sentinel = f"{HIDDEN}-{level}-"
    for channel, path in channels(article, other).items():
        response = client.get(path)
        assert response.status_code == 200, (channel, response.status_code)
        text = response.content.decode()
        is_article_itself = channel in {
            "api detail",
            "web page",
            "web page as print",
            "api detail as format",
        }
        if granted and is_article_itself:
            assert f"{sentinel}ONE" in text, channel  # the test sees text when it is there
        else:
            # Lists, search, related stories and the walled article carry none of it.
            assert sentinel not in text, (channel, kind, level)

    if not granted:
        assert detail["body_html"] is None
        assert sentinel not in str(detail)
