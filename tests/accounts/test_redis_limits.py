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
