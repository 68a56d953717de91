"""The article page's snapshots (articles/pages.py): rendered once for every reader, never
carrying hidden text into a wall, and retired by any change on the next request."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from articles import pages
from articles.models import Article
from config import versions
from subscriptions.models import Subscription
from subscriptions.paywall import rules
from tests.factories import ArticleFactory, UserFactory
from tests.paywall.conftest import HIDDEN, body_for, reader_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("level", ["metered", "registered", "premium"])
def test_a_wall_after_a_granted_read_carries_no_hidden_text(settings, level):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level=level, body=body_for("cache"))
    page = f"/a/{article.slug}/"
    granted = reader_client("subscriber", api=False).get(page).content.decode()
    assert f"{HIDDEN}-cache-ONE" in granted  # the snapshot is warm and held the body
    walled_readers = (
        ["anonymous"] if level == "registered" else ["anonymous", "signed_in", "lapsed"]
    )
    for kind in walled_readers:
        walled = reader_client(kind, api=False).get(page).content.decode()
        assert HIDDEN not in walled, kind
        assert "wall-heading" in walled
    snapshot = pages.article_snapshot(slug=article.slug)
    assert HIDDEN not in "".join(snapshot.shell)  # the shared page text never holds it
    assert HIDDEN not in snapshot.preview_html(2)
    # This process keeps the stories it rendered, the granted one under a granting
    # decision only; the snapshot shared through the cache never holds any.
    by_grant = {key[0].granted: html for key, html in snapshot.stories.items()}
    assert f"{HIDDEN}-cache-ONE" in by_grant[True]
    assert all(HIDDEN not in html for key, html in snapshot.stories.items() if not key[0].granted)
    shared = cache.get(_snapshot_key(article))
    assert shared is not None and shared.stories == {}


def _snapshot_key(article):
    return pages.snapshot_key(slug=article.slug)


def _stories(article):
    return pages.article_snapshot(slug=article.slug).stories


def test_a_granted_read_after_a_cached_wall_gets_the_whole_story(settings):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="premium", body=body_for("wallfirst"))
    page = f"/a/{article.slug}/"
    for _ in range(2):  # the second wall comes from the cached story
        walled = Client().get(page).content.decode()
        assert HIDDEN not in walled and "Start your free trial" in walled
    assert len(_stories(article)) == 1
    granted = reader_client("subscriber", api=False).get(page).content.decode()
    assert f"{HIDDEN}-wallfirst-ONE" in granted and f"{HIDDEN}-wallfirst-TWO" in granted
    assert "wall-heading" not in granted and "Start your free trial" not in granted


def test_a_cached_wall_follows_the_reader_signed_in_or_not(settings):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="metered", body=body_for("who"))
    page = f"/a/{article.slug}/"
    for _ in range(2):
        anonymous = Client().get(page).content.decode()
        signed_in = reader_client("signed_in", api=False).get(page).content.decode()
        assert "Start your free trial" in anonymous and "See the plans" not in anonymous
        assert "See the plans" in signed_in and "Start your free trial" not in signed_in
        assert HIDDEN not in anonymous and HIDDEN not in signed_in


def test_each_reader_sees_their_own_meter_numbers_from_the_cached_stories(settings):
    settings.METER_FREE_ARTICLES = 3
    article, other = ArticleFactory.create_batch(2, access_level="metered")
    page = f"/a/{article.slug}/"
    fresh, seasoned = Client(), Client()
    seasoned.get(f"/a/{other.slug}/")
    for _ in range(2):  # counted, then re-read (granted, already counted)
        assert "You have 2 free articles left" in fresh.get(page).content.decode()
        assert "You have 1 free article left" in seasoned.get(page).content.decode()


def test_a_rule_change_retires_the_cached_walls(settings):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="inherit", body=body_for("preview"))
    rules.rule_set(
        scope="publication",
        target_id=article.publication_id,
        access_level="premium",
        preview_paragraphs=1,
    )
    page = f"/a/{article.slug}/"
    client = Client()
    for _ in range(2):
        html = client.get(page).content.decode()
        assert "Opening paragraph" in html and "Second paragraph" not in html
    rules.rule_set(
        scope="publication",
        target_id=article.publication_id,
        access_level="premium",
        preview_paragraphs=2,
    )
    html = client.get(page).content.decode()
    assert "Second paragraph" in html and HIDDEN not in html
    rules.rule_set(scope="publication", target_id=article.publication_id, access_level="free")
    html = client.get(page).content.decode()
    assert f"{HIDDEN}-preview-TWO" in html and "wall-heading" not in html


def test_an_article_edit_retires_the_cached_walls(settings):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="premium", body=body_for("edit"))
    client = Client()
    assert "Opening paragraph" in client.get(f"/a/{article.slug}/").content.decode()
    article.body = "<p>A new opening.</p><p>A new second.</p><p>A new third.</p>"
    article.save()
    html = client.get(f"/a/{article.slug}/").content.decode()
    assert "A new opening." in html and "Opening paragraph" not in html
    assert "A new third." not in html


def test_the_cached_stories_stay_bounded(settings):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="premium", body=body_for("bound"))
    snapshot = pages.article_snapshot(slug=article.slug)
    for i in range(pages.STORIES_PER_SNAPSHOT + 5):  # a key per path: more than it keeps
        snapshot.stories[("filler", i)] = "x"
    html = Client().get(f"/a/{article.slug}/").content.decode()
    assert "wall-heading" in html and HIDDEN not in html
    assert len(snapshot.stories) == pages.STORIES_PER_SNAPSHOT + 5  # nothing added


def test_an_article_edit_shows_on_the_next_request():
    article = ArticleFactory(access_level="free", title="Before the edit")
    client = Client()
    assert "Before the edit" in client.get(f"/a/{article.slug}/").content.decode()
    article.title = "After the edit"
    article.save()
    assert "After the edit" in client.get(f"/a/{article.slug}/").content.decode()


def test_a_change_made_by_another_process_shows_on_the_next_request():
    """Another process edits the row and bumps the shared stamp: this process's own copy
    of the snapshot is never used again."""
    article = ArticleFactory(access_level="free", title="Before the edit")
    client = Client()
    assert "Before the edit" in client.get(f"/a/{article.slug}/").content.decode()
    Article.objects.filter(pk=article.pk).update(title="Edited elsewhere")  # no signal here
    assert "Before the edit" in client.get(f"/a/{article.slug}/").content.decode()
    cache.set("articles:content:version", "bumped-by-another-process", None)
    assert "Edited elsewhere" in client.get(f"/a/{article.slug}/").content.decode()


def test_a_rule_change_retires_the_page_and_its_structured_data():
    article = ArticleFactory(access_level="inherit", body=body_for("rule"))
    rules.rule_set(scope="publication", target_id=article.publication_id, access_level="free")
    client = Client()
    html = client.get(f"/a/{article.slug}/").content.decode()
    assert '"isAccessibleForFree": true' in html and f"{HIDDEN}-rule-ONE" in html
    rules.rule_set(scope="publication", target_id=article.publication_id, access_level="premium")
    html = client.get(f"/a/{article.slug}/").content.decode()
    assert '"isAccessibleForFree": false' in html and HIDDEN not in html


def test_a_subscription_change_and_a_sign_out_take_effect_on_the_next_request():
    user = UserFactory()
    sub = Subscription.objects.create(user=user, status="active")
    article = ArticleFactory(access_level="premium", body=body_for("sub"))
    client = Client()
    client.force_login(user)
    assert f"{HIDDEN}-sub-ONE" in client.get(f"/a/{article.slug}/").content.decode()
    sub.status = "canceled"
    sub.save()
    assert HIDDEN not in client.get(f"/a/{article.slug}/").content.decode()
    sub.status = "trialing"
    sub.trial_ends_at = timezone.now() + timedelta(days=3)
    sub.save()
    assert f"{HIDDEN}-sub-ONE" in client.get(f"/a/{article.slug}/").content.decode()
    client.post("/logout/")
    html = client.get(f"/a/{article.slug}/").content.decode()
    assert HIDDEN not in html and "Start your free trial" in html


def test_the_navigation_follows_the_reader_not_the_snapshot():
    article = ArticleFactory(access_level="free")
    anonymous = Client().get(f"/a/{article.slug}/?print=1").content.decode()
    assert f"/login/?next=/a/{article.slug}/%3Fprint%3D1" in anonymous
    signed_in = reader_client("signed_in", api=False).get(f"/a/{article.slug}/").content.decode()
    assert 'href="/account/">Account' in signed_in and "/login/?next=" not in signed_in


def test_redis_down_pages_still_decide_correctly_from_the_database(settings):
    from config.settings.base import redis_cache

    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}  # nothing listens
    settings.METER_FREE_ARTICLES = 1
    pages.forget_local_snapshots()
    first, second = ArticleFactory.create_batch(2, access_level="metered", body=body_for("down"))
    premium = ArticleFactory(access_level="premium", body=body_for("down"))
    client = Client()
    assert f"{HIDDEN}-down-ONE" in client.get(f"/a/{first.slug}/").content.decode()
    assert HIDDEN not in client.get(f"/a/{second.slug}/").content.decode()
    assert f"{HIDDEN}-down-ONE" in client.get(f"/a/{first.slug}/").content.decode()
    subscriber = reader_client("subscriber", api=False)
    assert f"{HIDDEN}-down-ONE" in subscriber.get(f"/a/{premium.slug}/").content.decode()
    assert HIDDEN not in Client().get(f"/a/{premium.slug}/").content.decode()
    assert versions.current("paywall:rules:version")  # a stamp of its own, never an error
