"""The signed-in reader from the cached account record (accounts/authentication.py): a
warm request runs no SQL for who the reader is, and every change to the account, its
subscription or its API tokens counts on the very next request, because it moves a
version stamp (no time-outs)."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.authentication import RECORD_KEY, RECORD_TRUST_SECONDS, account_record
from accounts.models import User
from config import versions
from subscriptions.models import Subscription
from subscriptions.services.jobs import expire_trials
from tests.factories import ArticleFactory, UserFactory
from tests.paywall.conftest import BODY

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _trial_reader() -> tuple[User, Client]:
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    Subscription.objects.create(
        user=user, status="trialing", trial_ends_at=timezone.now() + timedelta(days=3)
    )
    client = Client()
    client.force_login(user)
    return user, client


def _granted(client: Client, slug: str, **headers: Any) -> bool:
    response = client.get(f"/api/v1/articles/{slug}/", **headers)
    assert response.status_code == 200, response.content
    return bool(response.json()["access"]["granted"])


@pytest.fixture
def premium():
    return ArticleFactory(access_level="premium", body=BODY)


@pytest.mark.parametrize("channel", ["web", "api"])
def test_a_warm_entitled_reader_by_session_runs_no_sql(premium, channel, django_assert_num_queries):
    _user, client = _trial_reader()
    path = f"/api/v1/articles/{premium.slug}/" if channel == "api" else f"/a/{premium.slug}/"
    client.get(path)  # the session, the account record and the snapshot are cached
    with django_assert_num_queries(0):
        response = client.get(path)
    assert response.status_code == 200
    assert b"SENTINEL-HIDDEN-PARAGRAPH-X-ONE" in response.content


def test_a_warm_subscriber_by_api_token_runs_no_sql(premium, django_assert_num_queries):
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    token = services.api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert _granted(client, premium.slug)
    with django_assert_num_queries(0):
        assert _granted(client, premium.slug)
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["email"] == user.email


def test_the_record_does_not_carry_the_password_hash(premium):
    user, client = _trial_reader()
    client.get(f"/a/{premium.slug}/")
    record = cache.get(RECORD_KEY.format(user_id=user.pk))
    assert record is not None
    assert "password" not in record["user"]
    assert user.password not in repr(record)
    found = account_record(user_id=user.pk)
    assert found is not None
    cached_user, _hash = found
    assert cached_user.check_password(PASSWORD)  # loaded on demand (a deferred field)


def test_sign_out_counts_on_the_next_request(premium):
    _user, client = _trial_reader()
    assert _granted(client, premium.slug)
    copy = Client()
    copy.cookies = client.cookies  # the same session cookie, as another tab would send
    client.logout()
    assert not _granted(copy, premium.slug)


def test_a_password_change_signs_out_other_sessions(premium):
    user, client = _trial_reader()
    assert _granted(client, premium.slug)
    user.set_password("another-long-passphrase-43")
    user.save()
    assert not _granted(client, premium.slug)
    assert client.get("/account/").status_code == 302  # to the sign-in page


def test_deactivation_counts_on_the_next_request(premium):
    user, client = _trial_reader()
    token = services.api_token_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert _granted(client, premium.slug)
    assert _granted(api, premium.slug)
    user.is_active = False
    user.save()
    assert not _granted(client, premium.slug)
    assert api.get(f"/api/v1/articles/{premium.slug}/").status_code == 401


def test_a_change_whose_stamp_bump_was_lost_counts_once_the_record_is_no_longer_trusted(
    premium, monkeypatch
):
    """A cache blip swallows the bump (django-redis ignores the error): the old record is
    trusted for RECORD_TRUST_SECONDS at most, then the database decides."""
    user, client = _trial_reader()
    token = services.api_token_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert _granted(client, premium.slug)
        assert _granted(api, premium.slug)
        with monkeypatch.context() as patched:
            patched.setattr(versions, "bump", lambda key: None)
            user.is_active = False
            user.save()
        clock.shift(RECORD_TRUST_SECONDS - 1)
        assert _granted(client, premium.slug)  # the lost bump: the old record still counts
        clock.shift(2)
        assert not _granted(client, premium.slug)
        assert api.get(f"/api/v1/articles/{premium.slug}/").status_code == 401


def test_a_subscription_change_counts_on_the_next_request(premium):
    user, client = _trial_reader()
    assert _granted(client, premium.slug)
    sub = Subscription.objects.get(user=user)
    sub.status = "canceled"
    sub.save()
    assert not _granted(client, premium.slug)
    sub.status = "active"
    sub.save()
    assert _granted(client, premium.slug)


def test_the_trial_expiry_job_counts_on_the_next_request(
    premium, django_capture_on_commit_callbacks
):
    user, client = _trial_reader()
    assert _granted(client, premium.slug)
    later = timezone.now() + timedelta(days=4)
    with time_machine.travel(later, tick=False):
        assert not _granted(client, premium.slug)  # the clock alone: the trial is over
        with django_capture_on_commit_callbacks(execute=True):
            expire_trials(now=later)
        assert Subscription.objects.get(user=user).status == "expired"
        record = cache.get(RECORD_KEY.format(user_id=user.pk))
        stamp = cache.get(versions.account_key(user.pk))
        assert record is not None and record["stamp"] != stamp  # the job moved the stamp
        assert not _granted(client, premium.slug)


def test_a_record_made_under_an_old_stamp_is_never_read(premium):
    """A process that read the database before a change and wrote its record after the
    change's stamp moved: its record names the old stamp, so nobody trusts it."""
    user, client = _trial_reader()
    assert _granted(client, premium.slug)
    key = RECORD_KEY.format(user_id=user.pk)
    stale = cache.get(key)
    Subscription.objects.filter(user=user).update(status="canceled")
    versions.bump(versions.account_key(user.pk))  # as the change's signal does
    cache.set(key, stale)  # the slow process writes what it read before the change
    assert not _granted(client, premium.slug)


def test_revoking_an_api_token_counts_on_the_next_request(premium):
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    first, second = services.api_token_create(user=user), services.api_token_create(user=user)
    clients = []
    for token in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert _granted(client, premium.slug)
        clients.append(client)
    assert clients[0].post("/api/v1/auth/logout/").status_code == 204
    assert clients[0].get(f"/api/v1/articles/{premium.slug}/").status_code == 401
    assert _granted(clients[1], premium.slug)
    services.api_tokens_revoke_all(user=user)
    assert clients[1].get(f"/api/v1/articles/{premium.slug}/").status_code == 401


def test_an_expired_api_token_is_refused_and_deleted(premium):
    from knox.models import AuthToken

    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    token = services.api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert _granted(client, premium.slug)  # cached now
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert client.get(f"/api/v1/articles/{premium.slug}/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_a_wrong_token_with_a_known_prefix_is_refused(premium):
    user = UserFactory()
    token = services.api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").status_code == 200  # the prefix's rows are cached
    for forged in (token[:-1] + ("0" if token[-1] != "0" else "1"), token[:8] + "zz"):
        client.credentials(HTTP_AUTHORIZATION=f"Token {forged}")
        assert client.get("/api/v1/me/").status_code == 401


def test_with_the_cache_down_decisions_come_from_the_database(premium, settings):
    user, client = _trial_reader()
    token = services.api_token_create(user=user)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert _granted(client, premium.slug)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert _granted(api, premium.slug)
    Subscription.objects.filter(user=user).update(status="canceled")  # no signal, no cache
    assert not _granted(client, premium.slug)
    assert not _granted(api, premium.slug)
