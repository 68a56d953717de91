"""Stripe unreachable (nothing listens where the SDK is pointed): checkout and the portal
answer a clear 503 and nothing is half-written."""

from __future__ import annotations

import socket

import pytest
from rest_framework.test import APIClient

from subscriptions.models import AuditEntry, BillingCustomer, Subscription
from subscriptions.services.transitions import subscription_for_user
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stripe_unreachable(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0


@pytest.fixture
def reader():
    PlanFactory(code="monthly", stripe_price_id="price_monthly")
    user = UserFactory()
    subscription_for_user(user_id=user.pk)  # every reader's row (status "none")
    return user


def state() -> tuple[list[object], ...]:
    return (
        list(BillingCustomer.objects.values_list("user_id", "stripe_customer_id")),
        list(Subscription.objects.values_list("user_id", "status", "stripe_subscription_id")),
        list(AuditEntry.objects.values_list("action", flat=True)),
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/v1/billing/checkout/", {"plan": "monthly"}), ("/api/v1/billing/portal/", None)],
)
def test_api_billing_answers_503_and_writes_nothing(reader, path, body):
    if path.endswith("portal/"):
        BillingCustomer.objects.create(user=reader, stripe_customer_id="cus_known")
    before = state()
    api = APIClient()
    api.force_authenticate(reader)
    response = api.post(path, body, format="json")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The payment service is unavailable; please try again.",
        "code": "billing_unavailable",
    }
    assert state() == before


def test_checkout_with_a_known_customer_writes_nothing_either(reader):
    BillingCustomer.objects.create(user=reader, stripe_customer_id="cus_known")
    before = state()
    api = APIClient()
    api.force_authenticate(reader)
    response = api.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert response.status_code == 503
    assert state() == before


def test_web_checkout_explains_and_writes_nothing(client, reader):
    client.force_login(reader)
    before = state()
    response = client.post("/billing/checkout/", {"plan": "monthly"})
    assert response.status_code == 503
    assert b"try again" in response.content.lower()
    assert state() == before


@pytest.mark.parametrize(
    ("path", "canceling"), [("/api/v1/billing/cancel/", False), ("/api/v1/billing/resume/", True)]
)
def test_api_cancel_and_resume_answer_503_and_write_nothing(reader, path, canceling):
    Subscription.objects.filter(user=reader).update(
        status="active", stripe_subscription_id="sub_billed", cancel_at_period_end=canceling
    )
    before = state()
    api = APIClient()
    api.force_authenticate(reader)
    response = api.post(path)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The payment service is unavailable; please try again.",
        "code": "billing_unavailable",
    }
    assert state() == before
