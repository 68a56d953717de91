"""A signed-in reader's page on Redis: the session's data, the account's stamp and record
come with the version stamps in one round trip (a pointer from the session key or the
token key names the account: accounts.authentication, config.cache.get_many_via). The
pointer is only a hint: a stale or forged one never makes the request anyone else's.
Run where REDIS_URL is set (CI)."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.utils import timezone
from redis.connection import Connection
from rest_framework.test import APIClient

from accounts import services
from accounts.authentication import SESSION_ACCOUNT_KEY, TOKEN_ACCOUNT_KEY, account_record
from accounts.models import User
from config.settings.base import redis_cache
from subscriptions.models import Subscription
from tests.factories import ArticleFactory, UserFactory
from tests.paywall.conftest import BODY

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture(autouse=True)
def on_redis(settings):
    settings.CACHES = {
        "default": {**redis_cache(os.environ["REDIS_URL"]), "KEY_PREFIX": "masthead-test-via"}
    }
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def premium():
    return ArticleFactory(access_level="premium", body=BODY)


def _round_trips(client: Client, path: str) -> int:
    """Commands written to Redis while the client gets the page (each is a round trip;
    the page's read event stays in this process in tests)."""
    with mock.patch.object(
        Connection, "send_packed_command", autospec=True, side_effect=Connection.send_packed_command
    ) as sent:
        response = client.get(path)
    assert response.status_code == 200
    return sent.call_count


def _subscriber(status: str = "active") -> User:
    user = UserFactory()
    Subscription.objects.create(
        user=user, status=status, trial_ends_at=timezone.now() + timedelta(days=3)
    )
    return user


def _session_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {services.api_token_create(user=user)}")
    client.token_key = client._credentials["HTTP_AUTHORIZATION"].split()[1][:15]  # type: ignore[attr-defined]
    return client


def _granted(client: Client, slug: str) -> bool:
    response = client.get(f"/api/v1/articles/{slug}/")
    assert response.status_code == 200, response.content
    return bool(response.json()["access"]["granted"])


def test_a_signed_in_reader_costs_the_round_trip_an_anonymous_reader_costs(premium):
    web, api = f"/a/{premium.slug}/", f"/api/v1/articles/{premium.slug}/"
    anonymous = Client()
    anonymous.get(web)
    assert _round_trips(anonymous, web) == 1  # the stamps
    by_session = _session_client(_subscriber())
    by_token = _token_client(_subscriber())
    for client, path in [(by_session, web), (by_session, api), (by_token, api)]:
        client.get(path)  # the first request finds no pointer and sets it
        client.get(path)
        assert _round_trips(client, path) == 1  # stamps, session or token, account


def test_a_stale_pointer_costs_a_round_trip_and_is_mended_never_another_reader(premium):
    """The session's pointer names another account (whose record is warm and entitled):
    the request is still the session's own reader, who is not entitled."""
    subscriber = _subscriber()
    account_record(user_id=subscriber.pk)  # the subscriber's record, warm
    lapsed = UserFactory()
    client = _session_client(lapsed)
    assert not _granted(client, premium.slug)
    pointer = SESSION_ACCOUNT_KEY.format(session_key=client.session.session_key)
    assert cache.get(pointer) == lapsed.pk
    cache.set(pointer, subscriber.pk)
    assert not _granted(client, premium.slug)
    assert cache.get(pointer) == lapsed.pk  # mended
    assert client.get("/api/v1/me/").json()["email"] == lapsed.email


def test_a_token_pointer_at_another_account_is_not_followed(premium):
    subscriber = _subscriber()
    account_record(user_id=subscriber.pk)
    lapsed = UserFactory()
    client = _token_client(lapsed)
    assert not _granted(client, premium.slug)
    pointer = TOKEN_ACCOUNT_KEY.format(token_key=client.token_key)  # type: ignore[attr-defined]
    assert cache.get(pointer) == lapsed.pk
    cache.set(pointer, subscriber.pk)
    assert not _granted(client, premium.slug)
    assert client.get("/api/v1/me/").json()["email"] == lapsed.email


@pytest.mark.parametrize("by", ["session", "token"])
def test_an_ended_subscription_ends_access_on_the_next_request_through_the_pointer(premium, by):
    user = _subscriber()
    client = _session_client(user) if by == "session" else _token_client(user)
    assert _granted(client, premium.slug)
    assert _granted(client, premium.slug)  # warm: through the pointer
    sub = Subscription.objects.get(user=user)
    sub.status = "canceled"
    sub.save()
    from subscriptions.selectors import forget_cached_state

    forget_cached_state(user_id=user.pk)
    assert not _granted(client, premium.slug)


def test_signing_out_ends_the_session_and_its_pointer(premium):
    user = _subscriber()
    client = _session_client(user)
    assert _granted(client, premium.slug)
    assert _granted(client, premium.slug)
    old = client.cookies["sessionid"].value
    assert cache.get(SESSION_ACCOUNT_KEY.format(session_key=old)) == user.pk
    client.post("/logout/")
    assert cache.get(SESSION_ACCOUNT_KEY.format(session_key=old)) is None
    replay = Client()
    replay.cookies["sessionid"] = old
    assert not _granted(replay, premium.slug)
    assert replay.get("/api/v1/me/").status_code in (401, 403)


def test_a_revoked_token_is_refused_on_the_next_request_through_the_pointer(premium):
    user = _subscriber()
    client = _token_client(user)
    assert _granted(client, premium.slug)
    assert _granted(client, premium.slug)
    pointer = TOKEN_ACCOUNT_KEY.format(token_key=client.token_key)  # type: ignore[attr-defined]
    assert cache.get(pointer) == user.pk
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert cache.get(pointer) is None
    assert client.get(f"/api/v1/articles/{premium.slug}/").status_code == 401


def test_a_session_whose_cached_data_is_gone_is_read_from_the_database(premium):
    user = _subscriber()
    client = _session_client(user)
    assert _granted(client, premium.slug)
    session_key = client.session.session_key
    cache.delete(f"django.contrib.sessions.cached_db{session_key}")
    assert _granted(client, premium.slug)
