"""The billing API without a Stripe double: plans, refusals, local-trial cancel, pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from subscriptions.models import AuditEntry, Subscription
from subscriptions.services.transitions import subscription_for_user, transition
from subscriptions.vocabulary import AuditAction, AuditSource
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_stripe(settings):
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None


@pytest.fixture
def reader():
    return UserFactory()


@pytest.fixture
def api(reader) -> APIClient:
    client = APIClient()
    client.force_authenticate(reader)
    return client


def start_local_trial(user, days: int = 10) -> Subscription:
    sub = subscription_for_user(user_id=user.pk)
    return transition(
        subscription_id=sub.pk,
        to="trialing",
        source=AuditSource.TRIAL,
        trial_started_at=timezone.now(),
        trial_ends_at=timezone.now() + timedelta(days=days),
    )


def test_plans_lists_active_plans(client):
    PlanFactory(code="yearly", name="Yearly", interval="year", amount=9900)
    PlanFactory(code="monthly", name="Monthly", interval="month", amount=999)
    PlanFactory(code="old", name="Old", amount=500, is_active=False)
    response = client.get("/api/v1/plans/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "code": "monthly",
            "name": "Monthly",
            "interval": "month",
            "amount": 999,
            "currency": "gbp",
        },
        {"code": "yearly", "name": "Yearly", "interval": "year", "amount": 9900, "currency": "gbp"},
    ]


@pytest.mark.parametrize("path", ["checkout", "portal", "cancel", "resume"])
def test_billing_needs_an_account(path):
    response = APIClient().post(f"/api/v1/billing/{path}/", {"plan": "monthly"}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("body", [{}, {"plan": ""}, {"plan": "platinum"}, {"plan": "old"}])
def test_checkout_unknown_or_missing_plan_is_400(api, body):
    PlanFactory()
    PlanFactory(code="old", is_active=False)
    response = api.post("/api/v1/billing/checkout/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_checkout_without_billing_is_503(api):
    PlanFactory()
    response = api.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "billing is not configured",
        "code": "billing_not_configured",
    }


def test_portal_without_billing_is_503(api):
    response = api.post("/api/v1/billing/portal/")
    assert response.status_code == 503
    assert response.json()["code"] == "billing_not_configured"


def test_cancel_a_local_trial_ends_it_at_once(api, reader):
    start_local_trial(reader)
    response = api.post("/api/v1/billing/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == reader.email
    assert body["entitled"] is False
    assert body["subscription"]["status"] == "canceled"
    assert set(body["subscription"]) >= {
        "status",
        "plan",
        "trial_ends_at",
        "current_period_end",
        "cancel_at_period_end",
    }
    audit = AuditEntry.objects.get(action=AuditAction.TRIAL_CANCELED)
    assert (audit.source, audit.actor_id) == ("reader", reader.pk)


@pytest.mark.parametrize("path", ["cancel", "resume"])
def test_nothing_to_cancel_or_resume_is_409(api, path):
    response = api.post(f"/api/v1/billing/{path}/")
    assert response.status_code == 409
    assert response.json()["code"] in ("nothing_to_cancel", "nothing_to_resume")


def test_unknown_api_path_still_404(api):
    assert api.get("/api/v1/billing/nope/").status_code == 404


def test_checkout_cancel_page(client):
    response = client.get("/billing/cancel/")
    assert response.status_code == 200
    assert b"TEST MODE" in response.content


def test_checkout_success_page_without_billing_explains(client, reader):
    client.force_login(reader)
    response = client.get("/billing/success/?session_id=cs_test_abc123")
    assert response.status_code == 503
    assert b"billing is not configured" in response.content


def test_manage_page_needs_login_and_billing(client, reader):
    assert client.get("/billing/manage/").status_code == 302
    client.force_login(reader)
    response = client.get("/billing/manage/")
    assert response.status_code == 503
    assert b"billing is not configured" in response.content


@pytest.mark.parametrize("path", ["/billing/checkout/", "/billing/portal/"])
def test_web_billing_forms_need_login_and_post(client, reader, path):
    assert client.post(path, {"plan": "monthly"}).status_code == 302  # to the login page
    client.force_login(reader)
    assert client.get(path).status_code == 405


def test_web_checkout_without_billing_explains(client, reader):
    PlanFactory()
    client.force_login(reader)
    response = client.post("/billing/checkout/", {"plan": "monthly"})
    assert response.status_code == 503
    assert b"billing is not configured" in response.content


@pytest.mark.parametrize(
    "plan",
    [
        "nope",
        "month\x00ly",  # a NUL reached the plan lookup: PostgreSQL refused it, a 500
        "m" * 500,
        "",
    ],
)
def test_web_checkout_unknown_plan_explains(client, reader, plan):
    PlanFactory()
    client.force_login(reader)
    response = client.post("/billing/checkout/", {"plan": plan})
    assert response.status_code == 400
    assert b"Unknown plan." in response.content


def test_checkout_cancel_page_leads_back_to_the_article_the_reader_came_from(client, reader):
    client.force_login(reader)
    client.post("/billing/checkout/", {"plan": "monthly", "next": "/a/the-walled-story/"})
    html = client.get("/billing/cancel/").content.decode()
    assert 'href="/a/the-walled-story/">Back to your article</a>' in html
    client.post("/billing/checkout/", {"plan": "monthly", "next": "https://evil.example/"})
    html = client.get("/billing/cancel/").content.decode()
    assert "Back to your article" not in html and "evil.example" not in html
