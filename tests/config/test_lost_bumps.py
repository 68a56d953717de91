"""A change made while the cache (Redis) is unreachable: its stamp bump cannot be written,
and the same Redis comes back holding the old stamp. The change must still show on the
next request, in the process that made it and in the others (config/versions.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from articles.models import Article
from config import tasks, versions
from config.models import LostBump
from config.settings.base import redis_cache
from subscriptions.models import Subscription
from subscriptions.paywall import rules
from tests.factories import ArticleFactory, UserFactory
from tests.paywall.conftest import HIDDEN, body_for
from tests.subscriptions.test_transitions import cancel_by_a_job

pytestmark = pytest.mark.django_db

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


class Outage:
    """Points the cache at a port where nothing listens, then back at the same cache,
    which still holds everything it held before (a Redis that was only unreachable)."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.caches = settings.CACHES

    def __enter__(self) -> None:
        self.settings.CACHES = {"default": redis_cache(NOBODY_LISTENS)}

    def __exit__(self, *exc: object) -> None:
        self.settings.CACHES = self.caches


@pytest.fixture
def outage(settings) -> Outage:
    return Outage(settings)


def page(client: Client, article: Article) -> str:
    return client.get(f"/a/{article.slug}/").content.decode()


def warm(client: Client) -> Article:
    """An article whose page this process has built and the cache holds."""
    article = ArticleFactory(access_level="free", title="Before the outage")
    assert "Before the outage" in page(client, article)
    return article


def edit(article: Article, title: str) -> None:
    article.title = title
    article.save()


def test_an_article_edit_made_while_redis_is_down_shows_when_it_is_back(outage):
    client = Client()
    article = warm(client)
    with outage:
        edit(article, "Edited during the outage")
        assert "Edited during the outage" in page(client, article)  # from the database
    assert "Edited during the outage" in page(client, article)
    assert not LostBump.objects.exists()  # re-applied, so forgotten


def test_a_rule_change_made_while_redis_is_down_shows_when_it_is_back(outage):
    article = ArticleFactory(access_level="inherit", body=body_for("lost"))
    rules.rule_set(scope="publication", target_id=article.publication_id, access_level="free")
    client = Client()
    assert f"{HIDDEN}-lost-ONE" in page(client, article)
    with outage:
        rules.rule_set(
            scope="publication", target_id=article.publication_id, access_level="premium"
        )
    html = page(client, article)
    assert HIDDEN not in html and '"isAccessibleForFree": false' in html


def test_a_lost_bump_is_in_the_database_with_the_change_that_lost_it(outage):
    article = ArticleFactory(access_level="free")
    with outage:
        with transaction.atomic():
            article.save()
            assert list(LostBump.objects.values_list("key", flat=True)) == [
                "articles:content:version"
            ]
        article.save()  # the same key again: still one row
        assert LostBump.objects.count() == 1
        with pytest.raises(RuntimeError), transaction.atomic():
            Publication = type(article.publication)
            Publication.objects.filter(pk=article.publication_id).update(name="Rolled back")
            rules.rule_set(scope="publication", target_id=article.publication_id)
            raise RuntimeError("the change is rolled back, and so is its row")
        assert list(LostBump.objects.values_list("key", flat=True)) == ["articles:content:version"]


def test_when_the_process_that_lost_the_bump_died_one_that_met_the_outage_reapplies_it(
    outage,
):
    client = Client()
    article = warm(client)
    with outage:
        edit(article, "Edited by a process that then died")
        versions.forget_local_state()  # from here on, another process
        page(client, article)  # it serves during the outage: it meets it
    assert "Edited by a process that then died" in page(client, article)
    assert not LostBump.objects.exists()


def test_a_process_that_never_met_the_outage_learns_from_the_sweep(outage):
    client = Client()
    article = warm(client)
    with outage:
        edit(article, "Edited by a process that then died")
    versions.forget_local_state()  # another process, idle through the outage
    assert tasks.reapply_lost_bumps.delay().get() == 1  # the periodic sweep (a worker)
    assert "Edited by a process that then died" in page(client, article)
    assert versions.reapply_lost_bumps() == 0


def test_a_redis_that_comes_back_empty_retires_everything(outage):
    client = Client()
    article = warm(client)
    with outage:
        Article.objects.filter(pk=article.pk).update(title="Edited, no bump at all")
    cache.clear()  # nothing kept on disk: every stamp is made anew, at random
    versions.forget_local_state()
    assert "Edited, no bump at all" in page(client, article)


def test_a_sweep_while_redis_is_still_down_keeps_the_bumps(outage):
    article = ArticleFactory(access_level="free")
    with outage:
        article.save()
        assert versions.reapply_lost_bumps() == 0
    assert LostBump.objects.count() == 1
    assert versions.reapply_lost_bumps() == 1
    assert not LostBump.objects.exists()


def test_a_subscription_ended_while_redis_is_down_ends_access_when_it_is_back(outage):
    user = UserFactory()
    sub = Subscription.objects.create(user=user, status="active")
    article = ArticleFactory(access_level="premium", body=body_for("acct"))
    client = Client()
    client.force_login(user)
    assert f"{HIDDEN}-acct-ONE" in page(client, article)  # the account record is warm
    with outage:
        sub.status = "canceled"
        sub.save()
    assert HIDDEN not in page(client, article)


def test_the_sweep_is_on_beats_schedule_every_minute():
    sweep = PeriodicTask.objects.get(task=tasks.REAPPLY_LOST_BUMPS)
    assert sweep.enabled and sweep.interval is not None
    assert (sweep.interval.every, sweep.interval.period) == (60, "seconds")


def test_a_subscription_ended_while_redis_is_down_ends_access_for_a_reader_without_the_record(
    outage,
):
    user = UserFactory()
    sub = Subscription.objects.create(user=user, status="active")
    article = ArticleFactory(access_level="premium", body=body_for("state"))
    api = APIClient()
    api.force_authenticate(user)  # a user without the account record's state
    assert HIDDEN in api.get(f"/api/v1/articles/{article.slug}/").content.decode()
    with outage:
        sub.status = "canceled"
        sub.save()
    assert HIDDEN not in api.get(f"/api/v1/articles/{article.slug}/").content.decode()


def test_a_batch_transition_made_while_redis_is_down_ends_access_when_it_is_back(
    outage, django_capture_on_commit_callbacks
):
    """A job's transitions move the accounts' stamps after commit, outside any
    transaction: a bump lost there is re-applied too."""
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    article = ArticleFactory(access_level="premium", body=body_for("batch"))
    api = APIClient()
    api.force_authenticate(user)  # a user without the account record's state
    assert HIDDEN in api.get(f"/api/v1/articles/{article.slug}/").content.decode()
    with outage, django_capture_on_commit_callbacks(execute=True):
        assert cancel_by_a_job(user_id=user.pk) == 1
    assert LostBump.objects.filter(key=versions.account_key(user.pk)).exists()
    assert HIDDEN not in api.get(f"/api/v1/articles/{article.slug}/").content.decode()


def test_a_batch_transition_keeps_its_lost_bumps_with_the_change(
    outage, django_capture_on_commit_callbacks
):
    """The lost bumps are written in the change's own transaction, as a single change's
    are: a process that dies between the commit and its after-commit bump still leaves
    them for the sweep."""
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    with outage, django_capture_on_commit_callbacks(execute=False):
        assert cancel_by_a_job(user_id=user.pk) == 1
        assert LostBump.objects.filter(key=versions.account_key(user.pk)).exists()
