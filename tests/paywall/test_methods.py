"""Zero leaks by HTTP method: reader pages answer GET and HEAD only.

An attacker read metered articles in full with OPTIONS or TRACE (no CSRF token needed) and
with POST/PUT/PATCH/DELETE (any valid token): the view answered every method, the paywall
granted, and the meter moved only for GET. Every other method is a 405 that carries no text
and spends nothing.
"""

import pytest

from subscriptions.models import MeterEntry
from tests.paywall.conftest import HIDDEN, reader_client
from tests.paywall.test_zero_leaks import LEVELS, READERS, catalogue  # noqa: F401

pytestmark = pytest.mark.django_db

OTHER_METHODS = ["post", "put", "patch", "delete", "options", "trace"]


def _web_paths(article):
    return [
        f"/a/{article.slug}/",
        f"/a/{article.slug}/?print=1",
        "/",
        f"/t/{article.publication.slug}/",
        "/topic/leaks/",
        "/search/?q=quuxword",
        "/titles/",
    ]


@pytest.mark.parametrize("method", OTHER_METHODS)
@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("level", LEVELS)
def test_reader_pages_answer_405_to_every_other_method(catalogue, settings, kind, level, method):  # noqa: F811
    settings.METER_FREE_ARTICLES = 5  # metered articles would be granted by the meter
    article = catalogue[level]
    client = reader_client(kind, api=False)
    sentinel = f"{HIDDEN}-{level}-"
    before = MeterEntry.objects.count()
    for path in _web_paths(article):
        response = getattr(client, method)(path)
        assert response.status_code == 405, (method, path, response.status_code)
        assert sentinel not in response.content.decode(), (method, path)
        assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert MeterEntry.objects.count() == before  # nothing spent, nothing recorded


@pytest.mark.parametrize("method", OTHER_METHODS)
@pytest.mark.parametrize("kind", ["anonymous", "signed_in"])
def test_api_article_detail_answers_no_text_to_other_methods(catalogue, settings, kind, method):  # noqa: F811
    settings.METER_FREE_ARTICLES = 5
    article = catalogue["metered"]
    client = reader_client(kind, api=True)
    before = MeterEntry.objects.count()
    response = getattr(client, method)(f"/api/v1/articles/{article.slug}/")
    assert response.status_code in (200, 405), response.status_code
    if method != "options":
        assert response.status_code == 405
    assert f"{HIDDEN}-metered-" not in response.content.decode()
    assert MeterEntry.objects.count() == before


@pytest.mark.parametrize("kind", ["anonymous", "signed_in", "subscriber"])
def test_head_carries_no_body_and_spends_nothing(catalogue, settings, kind):  # noqa: F811
    settings.METER_FREE_ARTICLES = 5
    client = reader_client(kind, api=False)
    before = MeterEntry.objects.count()
    for level in LEVELS:
        response = client.head(f"/a/{catalogue[level].slug}/")
        assert response.status_code == 200
        assert response.content == b""
    assert MeterEntry.objects.count() == before
