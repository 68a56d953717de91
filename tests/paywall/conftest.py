from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from subscriptions.models import Subscription
from tests.factories import UserFactory

HIDDEN = "SENTINEL-HIDDEN-PARAGRAPH"


def body_for(tag: str) -> str:
    """A body whose hidden part (paragraphs 3 and 4) holds sentinels unique to `tag`."""
    return (
        "<p>Opening paragraph that anyone may read.</p>"
        "<p>Second paragraph, still in the preview.</p>"
        f"<p>Third paragraph holds {HIDDEN}-{tag}-ONE and the word quuxword.</p>"
        f"<p>Fourth paragraph holds {HIDDEN}-{tag}-TWO as well.</p>"
    )


BODY = body_for("X")


def reader_client(kind: str, *, api: bool) -> APIClient:
    """A client for one reader state: anonymous, signed_in (not entitled), trial,
    subscriber, complimentary, past_due_grace, lapsed."""
    client = APIClient()
    if kind == "anonymous":
        return client
    user = UserFactory()
    now = timezone.now()
    states: dict[str, dict[str, Any]] = {
        "signed_in": {"status": "none"},
        "lapsed": {"status": "expired", "trial_ends_at": now - timedelta(days=1)},
        "trial": {"status": "trialing", "trial_ends_at": now + timedelta(days=3)},
        "subscriber": {"status": "active"},
        "complimentary": {"status": "complimentary"},
        "past_due_grace": {"status": "past_due", "past_due_since": now - timedelta(days=1)},
        "past_due_over": {"status": "past_due", "past_due_since": now - timedelta(days=30)},
    }
    Subscription.objects.create(user=user, **states[kind])
    if api:
        client.force_authenticate(user)
    client.force_login(user)
    return client


def api_sign_up(client: APIClient, email: str = "new@example.com") -> str:
    """Signs up through the API with the client's cookies; the new account's reader key."""
    response = client.post(
        "/api/v1/auth/signup/",
        {"email": email, "password": "a long enough passphrase 42"},
        format="json",
    )
    assert response.status_code == 201
    return f"u:{UserFactory._meta.model.objects.get(email=email).pk}"


@pytest.fixture
def make_reader():
    return reader_client
