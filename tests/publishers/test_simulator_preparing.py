"""A simulation never rebuilds a large title's read rollup in the request: it queues the
rebuild (once, however many ask) and answers "preparing"; a small title is rebuilt at once.
A changed article level (admin, `article_save()`, the portal) queues the rebuild too."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from articles.models import Article, PublisherStaff
from articles.selectors import content_version
from articles.services import article_save, articles_create
from publishers import simulator
from subscriptions import paywall
from subscriptions.models import AccessRule, ReadRollupState
from subscriptions.services import jobs, read_rollup
from tests.factories import ArticleFactory, PublicationFactory, UserFactory
from tests.paywall.conftest import HIDDEN, body_for
from tests.publishers.conftest import api_as
from tests.publishers.test_simulator import NOW, history, replay

pytestmark = pytest.mark.django_db

PROPOSED = {"access_level": "premium", "free_articles_cap": None, "preview_paragraphs": 1}


def rebuilds_queued(callbacks) -> int:
    return sum(1 for c in callbacks if c.__qualname__.endswith("send_rebuild"))


def staff_of(title):
    user = UserFactory()
    PublisherStaff.objects.create(user=user, publisher=title.publisher, role="admin")
    return user


@pytest.fixture
def big(settings):
    """The history's 600-odd events count as a large title."""
    settings.METER_FREE_ARTICLES = 4
    settings.SIMULATOR_INLINE_REBUILD_EVENTS = 100


def test_a_stale_large_title_answers_preparing_and_queues_one_rebuild(
    big, django_capture_on_commit_callbacks
):
    title, events = history(11)  # bulk-loaded: never built
    client = api_as(staff_of(title))
    url = f"/api/v1/publisher/publications/{title.slug}/rule/simulate/"
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks() as callbacks:
            answers = [client.post(url, PROPOSED, format="json") for _ in range(3)]
        for answer in answers:
            assert answer.status_code == 503
            assert answer["Retry-After"] == "60"
            assert answer.json()["code"] == "simulation_preparing"
            assert "try again in a minute" in answer.json()["detail"]
        assert rebuilds_queued(callbacks) == 1
        assert ReadRollupState.objects.get(publication_id=title.pk).signature == ""
        with django_capture_on_commit_callbacks(execute=True):
            callbacks[-1]()  # the worker runs the rollup job
        state = ReadRollupState.objects.get(publication_id=title.pk)
        assert state.signature == read_rollup.signature(title.pk)
        assert state.rebuild_queued_at is None
        with django_capture_on_commit_callbacks() as later:
            answer = client.post(url, PROPOSED, format="json")
        assert answer.status_code == 200, answer.content
        assert rebuilds_queued(later) == 0
    body = answer.json()
    rule = simulator.SimRule("premium", None, 1)
    assert body["proposed"] == replay(events, rule, NOW)
    live = body["live_rule"]
    live_rule = simulator.SimRule(live["access_level"], live["free_articles_cap"])
    assert body["live"] == replay(events, live_rule, NOW)


def test_a_small_stale_title_is_rebuilt_in_the_request(
    settings, django_capture_on_commit_callbacks
):
    settings.METER_FREE_ARTICLES = 4
    settings.SIMULATOR_INLINE_REBUILD_EVENTS = 100_000
    title, events = history(12)
    client = api_as(staff_of(title))
    url = f"/api/v1/publisher/publications/{title.slug}/rule/simulate/"
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks() as callbacks:
        answer = client.post(url, PROPOSED, format="json")
    assert answer.status_code == 200
    assert rebuilds_queued(callbacks) == 0
    assert answer.json()["proposed"] == replay(events, simulator.SimRule("premium", None), NOW)
    assert ReadRollupState.objects.get(publication_id=title.pk).signature == (
        read_rollup.signature(title.pk)
    )


def test_the_threshold_counts_the_title_events(settings):
    settings.METER_FREE_ARTICLES = 4
    title, events = history(13)
    settings.SIMULATOR_INLINE_REBUILD_EVENTS = len(events)  # not below: queued
    with pytest.raises(read_rollup.RollupPreparing):
        simulator.simulate(publication_id=title.pk, rule=simulator.SimRule("free", None))
    settings.SIMULATOR_INLINE_REBUILD_EVENTS = len(events) + 1  # below: rebuilt at once
    simulator.simulate(publication_id=title.pk, rule=simulator.SimRule("free", None))


def test_the_portal_shows_preparing_with_a_refresh_link(big, django_capture_on_commit_callbacks):
    from django.test import Client

    from publishers.models import RuleDraft

    title, _ = history(14)
    staff = staff_of(title)
    RuleDraft.objects.create(
        publisher=title.publisher,
        publication=title,
        access_level="premium",
        updated_by=staff,
        updated_at=NOW,
    )
    client = Client()
    client.force_login(staff)
    url = f"/publisher/{title.publisher.slug}/titles/{title.slug}/rule/simulate/"
    with django_capture_on_commit_callbacks() as callbacks:
        pages = [client.get(url) for _ in range(2)]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert "preparing this title" in text and "try again in a minute" in text
        assert f'href="{url}"' in text
    assert rebuilds_queued(callbacks) == 1


def test_an_admin_change_of_an_article_level_queues_the_rebuild(
    big, admin_client, django_capture_on_commit_callbacks
):
    title, _ = history(15)
    jobs.run("rollup_read_events")
    built = ReadRollupState.objects.get(publication_id=title.pk).signature
    article = Article.objects.filter(publication=title, access_level="inherit").first()
    assert article is not None
    form = {
        "publication": str(title.pk),
        "slug": article.slug,
        "title": article.title,
        "standfirst": article.standfirst,
        "author": article.author,
        "body": article.body,
        "published_at_0": article.published_at.strftime("%Y-%m-%d"),
        "published_at_1": article.published_at.strftime("%H:%M:%S"),
        "access_level": "premium",
        "news_value": str(article.news_value),
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 302, response.content
    assert rebuilds_queued(callbacks) == 1
    state = ReadRollupState.objects.get(publication_id=title.pk)
    assert state.signature == read_rollup.signature(title.pk) != built  # the job ran


def test_article_save_queues_only_when_the_level_changes(big, django_capture_on_commit_callbacks):
    title, _ = history(16)
    jobs.run("rollup_read_events")
    article = Article.objects.filter(publication=title).first()
    assert article is not None
    with django_capture_on_commit_callbacks() as callbacks:
        article.title = "A new headline"
        article_save(article=article)
    assert rebuilds_queued(callbacks) == 0
    with django_capture_on_commit_callbacks() as callbacks:
        article.access_level = "free" if article.access_level != "free" else "premium"
        article_save(article=article)
    assert rebuilds_queued(callbacks) == 1
    assert ReadRollupState.objects.get(publication_id=title.pk).rebuild_queued_at is not None


def _create(how: str, article: Article) -> None:
    if how == "article_save":
        article_save(article=article)
    else:
        articles_create(articles=[article])


@pytest.mark.parametrize("how", ["article_save", "articles_create"])
def test_a_new_article_with_an_override_keeps_the_built_rollup_without_a_rebuild(
    big, django_capture_on_commit_callbacks, how
):
    """A new article has no reads: no rank of the title's rollup moves, so a rollup that
    was current is current under the new overrides (its signature follows them) and
    nothing is rebuilt; the rule map holds no article, so the rules stay as they were."""
    title, events = history(17)
    jobs.run("rollup_read_events")
    built = ReadRollupState.objects.get(publication_id=title.pk).signature
    rules_before = paywall.rules_version()
    new = ArticleFactory.build(publication=title, access_level="premium")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _create(how, new)
    assert rebuilds_queued(callbacks) == 0
    state = ReadRollupState.objects.get(publication_id=title.pk)
    assert state.signature == read_rollup.signature(title.pk) != built
    assert state.rebuild_queued_at is None
    assert paywall.rules_version() == rules_before
    rule = simulator.SimRule("metered", None)
    sql = simulator.simulate(publication_id=title.pk, rule=rule, now=NOW).as_dict()
    assert sql == replay(events, rule, NOW)  # answered in the request, and right


@pytest.mark.parametrize("how", ["article_save", "articles_create"])
def test_a_new_article_in_a_stale_title_leaves_it_stale(big, how):
    title, _ = history(18)  # loaded in bulk: never built
    ReadRollupState.objects.create(publication_id=title.pk, signature="built-under-old-limits")
    _create(how, ArticleFactory.build(publication=title, access_level="free"))
    state = ReadRollupState.objects.get(publication_id=title.pk)
    assert state.signature == "built-under-old-limits"


@pytest.mark.parametrize("how", ["article_save", "articles_create"])
@pytest.mark.parametrize("level, walled", [("premium", True), ("free", False)])
def test_a_new_overridden_article_has_its_access_on_the_next_request(settings, how, level, walled):
    """The pages of the title are warm (rule map and snapshots built) when the article is
    created: its page and the API decide by its override at once."""
    settings.METER_FREE_ARTICLES = 0
    title = PublicationFactory()
    AccessRule.objects.create(scope="publication", publication=title, access_level="registered")
    old = ArticleFactory(publication=title)
    client = Client()
    assert "wall-heading" in client.get(f"/a/{old.slug}/").content.decode()
    content_before = content_version()
    new = ArticleFactory.build(publication=title, access_level=level, body=body_for("new"))
    _create(how, new)
    assert content_version() != content_before  # listings and Related Stories see it
    html = client.get(f"/a/{new.slug}/").content.decode()
    assert ("wall-heading" in html) is walled
    assert (f"{HIDDEN}-new-ONE" in html) is not walled
    body = APIClient().get(f"/api/v1/articles/{new.slug}/").json()
    assert body["access"]["reason"] == ("subscribers_only" if walled else "free")
