"""Attribution: a reader walled on title A who starts a trial within 24 h counts for A,
and only A, in the stats — through web sign-up (the wall's link) and API sign-up (the
reader's walled reads, linked to the account when they sign up)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from subscriptions.models import AccessRule
from subscriptions.paywall import events
from tests.publishers.conftest import api_as

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"


def stats_by_title(user) -> dict[str, dict]:
    body = api_as(user).get("/api/v1/publisher/stats/").json()
    return {row["publication"]["slug"]: row for row in body["results"]}


@pytest.fixture
def premium_titles(side_a, side_b):
    for side in (side_a, side_b):
        AccessRule.objects.create(
            scope="publication", publication=side.title, access_level="premium"
        )


def test_web_sign_up_from_the_wall_counts_for_that_title_only(side_a, side_b, premium_titles):
    client = Client()
    article = side_a.articles[0]
    assert "This story is for subscribers." in client.get(f"/a/{article.slug}/").content.decode()
    events.flush()
    response = client.post(
        "/signup/", {"email": "walled@example.org", "password1": PASSWORD, "from": article.slug}
    )
    assert response.status_code == 302
    a = stats_by_title(side_a.admin)[side_a.title.slug]
    assert a["trials_started"] == 1
    assert a["walls"]["subscribers_only"] == 1
    assert stats_by_title(side_b.admin)[side_b.title.slug]["trials_started"] == 0


def test_api_sign_up_after_a_wall_counts_for_the_last_walled_title(side_a, side_b, premium_titles):
    client = APIClient()
    earlier = timezone.now() - timedelta(hours=30)
    with time_machine.travel(earlier):
        client.get(f"/api/v1/articles/{side_b.articles[0].slug}/")  # B, more than 24 h ago
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        client.get(f"/api/v1/articles/{side_a.articles[0].slug}/")  # A, 2 h ago
    events.flush()
    response = client.post(
        "/api/v1/auth/signup/", {"email": "app@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 1
    assert stats_by_title(side_b.admin)[side_b.title.slug]["trials_started"] == 0


def test_a_wall_more_than_24_hours_before_does_not_count(side_a, premium_titles):
    client = APIClient()
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        client.get(f"/api/v1/articles/{side_a.articles[0].slug}/")
    events.flush()
    assert (
        client.post(
            "/api/v1/auth/signup/",
            {"email": "late@example.org", "password": PASSWORD},
            format="json",
        ).status_code
        == 201
    )
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 0
