"""The sign-in limits on the production cache (Redis): run where REDIS_URL is set (CI)."""

import os

import pytest
from django.core.cache import cache

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "masthead-test-accounts",
        }
    }
    cache.clear()
    yield
    cache.clear()


def test_failed_signins_are_counted_in_redis(api_client, redis_cache):
    UserFactory(email="ann@example.org")
    for _ in range(5):
        response = api_client.post(
            "/api/v1/auth/login/", {"email": "ann@example.org", "password": "nope"}, format="json"
        )
        assert response.status_code == 400
    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": "ann@example.org", "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_signups_are_counted_in_redis(api_client, redis_cache, settings):
    settings.SIGNUP_RATE = "1/hour"
    first = api_client.post(
        "/api/v1/auth/signup/",
        {"email": "a@example.org", "password": "correct horse battery staple"},
        format="json",
    )
    assert first.status_code == 201
    second = api_client.post(
        "/api/v1/auth/signup/",
        {"email": "b@example.org", "password": "correct horse battery staple"},
        format="json",
    )
    assert second.status_code == 429
    assert "Retry-After" in second


def test_racing_guesses_on_redis_get_exactly_the_limit(redis_cache):
    """Redis's INCR is what makes the limiter atomic across processes: twenty guesses at
    once for one email get five tries between them."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from accounts import limits

    barrier = Barrier(20)

    def guess(n: int) -> str:
        barrier.wait()
        try:
            limits.signin_begin(email="ann@example.org", address=f"198.51.100.{n}")
        except limits.Throttled:
            return "throttled"
        return "tried"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(guess, range(20)))
    assert outcomes.count("tried") == 5


def test_web_and_api_share_the_redis_counter(client, api_client, redis_cache):
    UserFactory(email="ann@example.org")
    for _ in range(5):
        client.post("/login/", {"login": "ann@example.org", "password": "wrong-wrong"})
    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": "ann@example.org", "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 429
