"""End to end against the Stripe double: the real stripe SDK over HTTP; the webhook
deliveries the double signs are taken from its outbox and POSTed to /webhooks/stripe/
(one thread, deterministic), then processed by the (eager) task after commit."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from subscriptions.models import (
    AuditEntry,
    BillingCustomer,
    CardFingerprint,
    StripeEvent,
    Subscription,
)
from subscriptions.selectors import entitlement_of
from subscriptions.services.transitions import subscription_for_user, transition
from subscriptions.vocabulary import AuditAction, AuditSource
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.stripe_double import StripeDouble, point_at_double

pytestmark = pytest.mark.django_db
SECRET = "whsec_double_0123456789"
VISA = "4242424242424242"
DECLINES = "4000000000000341"  # attaches, then every charge is declined


@pytest.fixture
def double(stripe_double_process, settings) -> StripeDouble:
    double = stripe_double_process
    double.reset(outbox=True)
    return point_at_double(double, settings, site_url="http://masthead.test", secret=SECRET)


@pytest.fixture
def relay(double, client, django_capture_on_commit_callbacks):
    """POST every delivery the double signed (each twice, to prove duplicates are
    harmless) until none is left; returns the event types delivered."""

    def _relay() -> list[str]:
        delivered: list[str] = []
        while deliveries := double.take_deliveries():
            for delivery in deliveries:
                for _ in range(2):
                    with django_capture_on_commit_callbacks(execute=True):
                        response = client.post(
                            "/webhooks/stripe/",
                            data=delivery["body"].encode(),
                            content_type="application/json",
                            HTTP_STRIPE_SIGNATURE=delivery["signature"],
                        )
                    assert response.status_code == 200, response.content
                delivered.append(delivery["type"])
        assert not StripeEvent.objects.filter(status="failed").exists(), list(
            StripeEvent.objects.filter(status="failed").values_list("type", "error")
        )
        return delivered

    return _relay


def reader(*, trial_days: int | None = None) -> tuple[Any, APIClient]:
    user: Any = UserFactory()
    if trial_days is not None:
        sub = subscription_for_user(user_id=user.pk)
        now = timezone.now().replace(microsecond=0)
        transition(
            subscription_id=sub.pk,
            to="trialing",
            source=AuditSource.TRIAL,
            trial_started_at=now,
            trial_ends_at=now + timedelta(days=trial_days),
        )
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def sub_of(user: Any) -> Subscription:
    return Subscription.objects.get(user=user)


def subscribe(double: StripeDouble, relay: Any, client: APIClient, *, card: str = VISA) -> str:
    """Checkout through the API, pay on the double; the Stripe subscription id."""
    response = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert response.status_code == 200, response.content
    url = response.json()["url"]
    assert url.startswith(double.url)
    session_id = url.rsplit("/", 1)[1]
    stripe_id: str = double.hook(f"checkout/{session_id}/complete", {"card": card})["subscription"]
    assert "checkout.session.completed" in relay()
    return stripe_id


def invoices_of(double: StripeDouble, user: Any) -> list[dict[str, Any]]:
    customer = BillingCustomer.objects.get(user=user).stripe_customer_id
    data: list[dict[str, Any]] = double.get(f"/v1/invoices?customer={customer}")["data"]
    return data


def test_trial_then_checkout_is_active_with_no_charge_before_the_trial_ends(
    double, relay, settings
):
    user, client = reader(trial_days=10)
    trial_ends_at = sub_of(user).trial_ends_at
    assert trial_ends_at is not None

    response = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert response.status_code == 200
    session_id = response.json()["url"].rsplit("/", 1)[1]
    session = double.get(f"/v1/checkout/sessions/{session_id}")
    assert session["client_reference_id"] == str(user.pk)
    assert session["success_url"].startswith(f"{settings.SITE_URL}/billing/success/")
    assert session["cancel_url"] == f"{settings.SITE_URL}/billing/cancel/"
    assert int(session["subscription_data"]["trial_end"]) == int(trial_ends_at.timestamp())

    stripe_id = double.hook(f"checkout/{session_id}/complete", {"card": VISA})["subscription"]
    delivered = relay()
    assert {"customer.subscription.created", "checkout.session.completed"} <= set(delivered)
    sub = sub_of(user)
    assert sub.stripe_subscription_id == stripe_id
    assert sub.plan is not None
    assert (sub.status, sub.trial_ends_at, sub.plan.code) == ("trialing", trial_ends_at, "monthly")
    assert entitlement_of(sub).entitled
    assert invoices_of(double, user) == []  # nothing charged during the trial
    assert CardFingerprint.objects.filter(user=user).count() == 1

    double.hook(f"subscriptions/{stripe_id}/end_trial")
    assert "invoice.paid" in relay()
    sub = sub_of(user)
    assert sub.status == "active"
    assert sub.current_period_end == trial_ends_at + relativedelta(months=1)
    assert [i["status"] for i in invoices_of(double, user)] == ["paid"]
    assert entitlement_of(sub).entitled

    again = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_subscribed"


def test_renewal_pays_and_extends_the_period(double, relay):
    user, client = reader()
    stripe_id = subscribe(double, relay, client)
    assert sub_of(user).status == "active"
    first_end = sub_of(user).current_period_end
    assert first_end is not None

    double.hook(f"subscriptions/{stripe_id}/renew")
    assert "invoice.paid" in relay()
    sub = sub_of(user)
    assert sub.status == "active"
    assert sub.current_period_end == first_end + relativedelta(months=1)
    assert [i["status"] for i in invoices_of(double, user)] == ["paid", "paid"]


def test_failed_renewal_is_past_due_with_grace_then_recovers(double, relay):
    user, client = reader()
    stripe_id = subscribe(double, relay, client)
    assert sub_of(user).status == "active"

    portal_url = client.post("/api/v1/billing/portal/").json()["url"]
    portal_id = portal_url.rsplit("/", 1)[1]
    double.hook(f"portal/{portal_id}/card", {"card": DECLINES})
    double.hook(f"subscriptions/{stripe_id}/renew")
    assert "invoice.payment_failed" in relay()
    sub = sub_of(user)
    assert sub.status == "past_due"
    assert sub.past_due_since is not None
    assert entitlement_of(sub).entitled  # the grace period
    assert not entitlement_of(sub, now=sub.past_due_since + timedelta(days=8)).entitled
    (notice,) = [m for m in mail.outbox if "did not go through" in m.subject]
    assert "http://masthead.test/billing/manage/" in notice.body
    assert notice.to == [user.email]

    double.hook(f"portal/{portal_id}/card", {"card": VISA})
    double.hook(f"subscriptions/{stripe_id}/retry")
    assert "invoice.paid" in relay()
    sub = sub_of(user)
    assert (sub.status, sub.past_due_since) == ("active", None)


def test_portal_cancel_keeps_access_until_period_end_then_ends(double, relay):
    user, client = reader()
    stripe_id = subscribe(double, relay, client)

    response = client.post("/api/v1/billing/portal/")
    assert response.status_code == 200
    portal_id = response.json()["url"].rsplit("/", 1)[1]
    double.hook(f"portal/{portal_id}/cancel")
    assert relay() == ["customer.subscription.updated"]
    sub = sub_of(user)
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    assert entitlement_of(sub).entitled

    double.hook(f"subscriptions/{stripe_id}/renew")  # the period ends
    assert relay() == ["customer.subscription.deleted"]
    assert sub_of(user).status == "canceled"
    assert not entitlement_of(sub_of(user)).entitled


def test_cancel_and_resume_through_the_api(double, relay):
    user, client = reader()
    subscribe(double, relay, client)

    response = client.post("/api/v1/billing/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["cancel_at_period_end"] is True
    assert body["subscription"]["plan"] == "monthly"
    assert body["entitled"] is True
    relay()  # the .updated event Stripe sends agrees
    assert sub_of(user).cancel_at_period_end is True

    response = client.post("/api/v1/billing/resume/")
    assert response.status_code == 200
    assert response.json()["subscription"]["cancel_at_period_end"] is False
    relay()
    assert sub_of(user).cancel_at_period_end is False


def test_a_card_that_already_had_a_trial_gets_no_second_one(double, relay):
    first, first_client = reader(trial_days=10)
    subscribe(double, relay, first_client, card=VISA)
    assert sub_of(first).status == "trialing"

    second, second_client = reader(trial_days=10)
    stripe_id = subscribe(double, relay, second_client, card=VISA)
    sub = sub_of(second)
    assert sub.status == "active"
    stripe_sub = double.get(f"/v1/subscriptions/{stripe_id}")
    assert stripe_sub["status"] == "active"
    assert stripe_sub["trial_end"] <= int(datetime.now(tz=UTC).timestamp())
    assert AuditEntry.objects.filter(
        subscription=sub, action=AuditAction.TRIAL_REFUSED_CARD_REUSED
    ).exists()
    assert [i["status"] for i in invoices_of(double, second)] == ["paid"]
    assert sub_of(first).status == "trialing"


def test_checkout_with_a_price_stripe_does_not_know_is_a_clean_502(double):
    PlanFactory(code="ghost", stripe_price_id="price_ghost", amount=1)
    _, client = reader()
    response = client.post("/api/v1/billing/checkout/", {"plan": "ghost"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "billing_error"


def test_make_run_setup_registers_prices_in_the_double(double, settings):
    settings.STRIPE_SECRET_KEY = None
    PlanFactory(code="yearly", name="Yearly", interval="year", amount=9900)
    call_command("stripe_double_setup", stdout=io.StringIO())
    call_command("stripe_double_setup", stdout=io.StringIO())  # idempotent
    price = double.get("/v1/prices/price_yearly")
    assert (price["unit_amount"], price["recurring"]["interval"]) == (9900, "year")


def test_setup_refuses_a_real_key(settings):
    settings.STRIPE_SECRET_KEY = "sk_live_x"
    with pytest.raises(CommandError):
        call_command("stripe_double_setup")


def test_card_required_trial_starts_through_checkout(double, relay, settings):
    settings.TRIAL_REQUIRES_CARD = True
    settings.TRIAL_DAYS = 14
    user, client = reader()
    response = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    session_id = response.json()["url"].rsplit("/", 1)[1]
    session = double.get(f"/v1/checkout/sessions/{session_id}")
    assert int(session["subscription_data"]["trial_period_days"]) == 14
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    relay()
    sub = sub_of(user)
    assert sub.status == "trialing"
    assert sub.trial_ends_at is not None
    assert abs((sub.trial_ends_at - timezone.now()) - timedelta(days=14)) < timedelta(minutes=1)
    assert invoices_of(double, user) == []


def test_no_checkout_trial_after_a_lapsed_one(double, relay, settings):
    settings.TRIAL_REQUIRES_CARD = True
    user, client = reader(trial_days=3)
    transition(subscription_id=sub_of(user).pk, to="expired", source=AuditSource.JOB)
    subscribe(double, relay, client)
    assert sub_of(user).status == "active"
    assert [i["status"] for i in invoices_of(double, user)] == ["paid"]


def test_trial_ending_within_48_hours_defers_the_first_charge_to_its_end(double, relay):
    user, client = reader(trial_days=1)
    trial_ends_at = sub_of(user).trial_ends_at
    assert trial_ends_at is not None
    response = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    session_id = response.json()["url"].rsplit("/", 1)[1]
    data = double.get(f"/v1/checkout/sessions/{session_id}")["subscription_data"]
    assert "trial_end" not in data
    assert int(data["billing_cycle_anchor"]) == int(trial_ends_at.timestamp())
    assert data["proration_behavior"] == "none"
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    relay()
    sub = sub_of(user)
    assert sub.status == "active"
    assert sub.current_period_end == trial_ends_at
    assert invoices_of(double, user) == []  # nothing charged before the trial's end


def test_account_page_forms_redirect_to_checkout_and_portal(double, relay, client):
    client.force_login(UserFactory())
    response = client.post("/billing/checkout/", {"plan": "monthly"})
    assert response.status_code == 303
    assert response["Location"].startswith(double.url + "/_config/test/checkout/cs_")
    page = client.get("/billing/manage/")  # the Customer exists once checkout started
    assert page.status_code == 303
    response = client.post("/billing/portal/")
    assert response.status_code == 303
    assert response["Location"].startswith(double.url + "/_config/test/portal/bps_")


def test_reconcile_repairs_drift_from_missed_webhooks(double, relay):
    from subscriptions.services.reconcile import stripe_reconcile

    user, client = reader()
    stripe_id = subscribe(double, relay, client)
    other, other_client = reader(trial_days=10)
    subscribe(double, relay, other_client)
    assert stripe_reconcile(page_size=1).repaired == 0  # in step: nothing to repair

    # Webhooks lost: Stripe renewed one subscription; our row of the other drifted.
    double.hook(f"subscriptions/{stripe_id}/renew")
    double.take_deliveries()
    Subscription.objects.filter(user=other).update(cancel_at_period_end=True)

    report = stripe_reconcile(page_size=1)
    assert (report.checked, report.repaired, report.unknown) == (2, 2, 0)
    assert {tuple(sorted(d)) for d in report.drift} == {
        ("current_period_end", "stripe"),
        ("cancel_at_period_end", "stripe"),
    }
    assert sub_of(other).cancel_at_period_end is False
    stripe_sub = double.get(f"/v1/subscriptions/{stripe_id}")
    assert sub_of(user).current_period_end == datetime.fromtimestamp(
        stripe_sub["current_period_end"], tz=UTC
    )
    assert stripe_reconcile().repaired == 0


# --- the return from Checkout: /billing/success/?session_id=… --------------------------


def _open_session(client: APIClient) -> str:
    response = client.post("/api/v1/billing/checkout/", {"plan": "monthly"}, format="json")
    assert response.status_code == 200, response.content
    return str(response.json()["url"].rsplit("/", 1)[1])


def _success_page(user: Any, session_id: str | None) -> Any:
    from django.test import Client

    web = Client()
    web.force_login(user)
    query = "" if session_id is None else f"?session_id={session_id}"
    return web.get(f"/billing/success/{query}")


def test_the_success_url_asks_stripe_for_the_session_id(double, settings):
    _, client = reader()
    session = double.get(f"/v1/checkout/sessions/{_open_session(client)}")
    assert session["success_url"] == (
        f"{settings.SITE_URL}/billing/success/?session_id={{CHECKOUT_SESSION_ID}}"
    )


def test_success_page_says_paid_for_the_readers_paid_session(double, relay):
    user, client = reader()
    session_id = _open_session(client)
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    page = _success_page(user, session_id)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Thank you for subscribing" in text and "Your payment went through" in text
    assert "Cache-Control" in page and "no-store" in page["Cache-Control"]


def test_success_page_says_the_trial_started_when_nothing_was_charged(double, relay, settings):
    settings.TRIAL_REQUIRES_CARD = True
    user, client = reader()
    session_id = _open_session(client)
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    text = _success_page(user, session_id).content.decode()
    assert "Thank you for subscribing" in text
    assert "nothing is charged until your free trial ends" in text
    assert "Your payment went through" not in text


def test_success_page_for_a_session_not_yet_completed_says_we_are_confirming(double):
    user, client = reader()
    page = _success_page(user, _open_session(client))
    assert page.status_code == 200
    text = page.content.decode()
    assert "We are confirming your payment" in text
    assert "Thank you for subscribing" not in text


def test_success_page_for_an_expired_session_says_nothing_was_charged(double):
    user, client = reader()
    session_id = _open_session(client)
    double.hook(f"checkout/{session_id}/expire")
    page = _success_page(user, session_id)
    assert page.status_code == 200
    assert "This checkout expired" in page.content.decode()


def test_success_page_for_another_readers_session_is_404_and_says_nothing_of_it(double, relay):
    _, owner_client = reader()
    session_id = _open_session(owner_client)
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    stranger, _ = reader()
    page = _success_page(stranger, session_id)
    assert page.status_code == 404
    text = page.content.decode()
    assert "We could not find that checkout" in text
    assert "Thank you" not in text and "payment went through" not in text


def test_success_page_for_an_unknown_session_is_404(double):
    user, _ = reader()
    page = _success_page(user, "cs_test_doesnotexist0000")
    assert page.status_code == 404
    assert "We could not find that checkout" in page.content.decode()


@pytest.mark.parametrize(
    "session_id", [None, "", "{CHECKOUT_SESSION_ID}", "cs_", "x" * 30, "cs_a/../b"]
)
def test_success_page_without_a_usable_session_id_is_400(double, session_id):
    user, _ = reader()
    page = _success_page(user, session_id)
    assert page.status_code == 400
    assert "This link is incomplete" in page.content.decode()


def test_success_page_needs_the_reader_signed_in(double, client):
    _, api = reader()
    response = client.get(f"/billing/success/?session_id={_open_session(api)}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_reader_sent_from_a_wall_is_offered_their_article_back_after_paying(double, relay):
    """The wall's "See the plans" link names the article (/account/?next=…); the plan form
    carries it through Checkout, and the thank-you page leads back to it."""
    from django.test import Client

    user, _ = reader()
    web = Client()
    web.force_login(user)
    account = web.get("/account/", {"next": "/a/the-walled-story/"}).content.decode()
    assert '<input type="hidden" name="next" value="/a/the-walled-story/">' in account
    response = web.post("/billing/checkout/", {"plan": "monthly", "next": "/a/the-walled-story/"})
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[1]
    double.hook(f"checkout/{session_id}/complete", {"card": VISA})
    page = web.get(f"/billing/success/?session_id={session_id}").content.decode()
    assert 'href="/a/the-walled-story/">Back to your article</a>' in page


def test_a_next_pointing_off_the_site_is_ignored(double):
    from django.test import Client

    user, _ = reader()
    web = Client()
    web.force_login(user)
    account = web.get("/account/", {"next": "https://evil.example/"}).content.decode()
    assert "evil.example" not in account
    web.post("/billing/checkout/", {"plan": "monthly", "next": "//evil.example/"})
    assert "evil.example" not in web.get("/billing/success/").content.decode()
