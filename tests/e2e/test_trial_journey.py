"""The conversion journey in a real browser: a premium article's wall -> sign up -> the
full text -> the account page's 14-day trial; sign out and back in through the wall's
`next=`; then subscribe during the trial through Stripe Checkout (the local double)."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import TrialClaim, User
from subscriptions.models import BillingCustomer, StripeEvent, Subscription
from subscriptions.selectors import forget_cached_state
from tests.factories import ArticleFactory
from tests.subscriptions.stripe_double import point_at_double

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SENTINEL = "SENTINEL-PREMIUM-ONLY the harbourmaster's ledger names the buyer."
PASSWORD = "Tidewater-Lantern-4217"
WEBHOOK_SECRET = "whsec_e2e_double_0123456789"
VISA = "4242424242424242"  # unspaced: the double answers 400 to "4242 4242 4242 4242"


@pytest.fixture
def article():
    return ArticleFactory(
        slug="the-harbour-deal",
        title="Who bought the harbour?",
        access_level="premium",
        body=(
            "<p>The sale was announced on Monday.</p>"
            "<p>Nobody at the council would say who the buyer was.</p>"
            f"<p>{SENTINEL}</p>"
            "<p>The deal closes next spring.</p>"
        ),
    )


def _article_url(live_server, article) -> str:
    return f"{live_server.url}/a/{article.slug}/"


def _assert_walled(page) -> None:
    wall = page.get_by_role("complementary")
    assert wall.get_by_role("heading", name="Sign up to read this article").is_visible()
    assert wall.get_by_text("Fourteen days free").is_visible()
    assert page.get_by_text("The sale was announced on Monday.").is_visible()  # the preview
    assert "SENTINEL-PREMIUM-ONLY" not in page.content()


def _assert_full_text(page) -> None:
    assert page.get_by_text(SENTINEL).is_visible()
    assert page.get_by_text("The deal closes next spring.").is_visible()
    assert page.get_by_role("complementary").count() == 0  # no wall


def _sign_up_through_the_wall(page, live_server, article, email: str) -> None:
    page.goto(_article_url(live_server, article))
    _assert_walled(page)
    page.get_by_role("complementary").get_by_role("link", name="Start your free trial").click()
    page.wait_for_url("**/signup/?**")
    assert page.get_by_role("heading", name="Fourteen days free", level=1).is_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Start my free trial").click()
    page.wait_for_url(_article_url(live_server, article))


def test_wall_sign_up_starts_the_trial_and_returns_to_the_full_article(live_server, page, article):
    email = "new.reader@example.com"
    before = timezone.now()
    _sign_up_through_the_wall(page, live_server, article, email)
    _assert_full_text(page)

    page.goto(live_server.url + "/account/")
    assert page.get_by_text(email, exact=True).is_visible()
    assert page.locator("#trial-days-left").inner_text().startswith("14 days left")
    assert "you can read every article" in page.locator("#status").inner_text()

    sub = Subscription.objects.get(user__email=email)
    assert sub.status == "trialing"
    assert sub.trial_ends_at is not None
    assert before + timedelta(days=14) <= sub.trial_ends_at <= timezone.now() + timedelta(days=14)
    claim = TrialClaim.objects.get(user__email=email)
    assert (claim.article_id, claim.article_slug) == (article.pk, article.slug)


def test_signed_out_reader_signs_in_from_the_wall_and_reads_on(live_server, page, article):
    email = "returning.reader@example.com"
    _sign_up_through_the_wall(page, live_server, article, email)

    page.goto(live_server.url + "/account/")
    page.get_by_role("link", name="Sign out").click()
    page.wait_for_url("**/logout/")
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("link", name="Sign in", exact=True).is_visible()

    page.goto(_article_url(live_server, article))
    _assert_walled(page)
    sign_in = page.get_by_role("complementary").get_by_role(
        "link", name="Already a member? Sign in here"
    )
    assert sign_in.get_attribute("href") == f"/login/?next=/a/{article.slug}/"
    sign_in.click()
    page.wait_for_url(f"**/login/?next=/a/{article.slug}/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(_article_url(live_server, article))
    _assert_full_text(page)


# --- subscribing during the trial, through the Stripe double ------------------------------
@pytest.fixture
def double(stripe_double_process, settings, live_server):
    """The double in outbox mode (the test relays its signed webhooks, one at a time)."""
    double = stripe_double_process
    double.reset(outbox=True)
    return point_at_double(double, settings, site_url=live_server.url, secret=WEBHOOK_SECRET)


def _relay_webhooks(double, live_server) -> list[str]:
    """POST every signed delivery to the live server over HTTP, until none is left."""
    delivered: list[str] = []
    while deliveries := double.take_deliveries():
        for delivery in deliveries:
            request = urllib.request.Request(
                f"{live_server.url}/webhooks/stripe/",
                data=delivery["body"].encode(),
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": delivery["signature"],
                },
            )
            with urllib.request.urlopen(request, timeout=15) as response:
                assert response.status == 200, response.read()
            delivered.append(delivery["type"])
    failed = list(StripeEvent.objects.filter(status="failed").values_list("type", "error"))
    assert not failed, failed
    return delivered


def test_trial_reader_subscribes_through_checkout_and_is_not_charged_before_the_trial_ends(
    live_server, page, article, double
):
    email = "converting.reader@example.com"
    _sign_up_through_the_wall(page, live_server, article, email)
    trial_ends_at = Subscription.objects.get(user__email=email).trial_ends_at
    assert trial_ends_at is not None

    page.goto(live_server.url + "/account/")
    assert page.get_by_text("Subscribing during your trial never charges you").is_visible()
    page.get_by_role("button", name="Subscribe: Monthly").click()
    page.wait_for_url(double.url + "/_config/test/checkout/**")
    assert page.get_by_text("TEST MODE").is_visible()
    assert page.get_by_text("price_monthly").is_visible()
    page.get_by_label("Card number").fill(VISA)
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(live_server.url + "/billing/success/?session_id=cs_test_*")
    assert page.get_by_role("heading", name="Thank you for subscribing").is_visible()

    delivered = _relay_webhooks(double, live_server)
    assert {"customer.subscription.updated", "checkout.session.completed"} <= set(delivered)

    sub = Subscription.objects.select_related("plan").get(user__email=email)
    assert sub.stripe_subscription_id
    assert sub.plan is not None
    assert (sub.status, sub.plan.code) == ("trialing", "monthly")
    # Stripe keeps whole seconds: the synced trial end is the local one, truncated.
    assert sub.trial_ends_at == trial_ends_at.replace(microsecond=0)
    stripe_sub = double.get(f"/v1/subscriptions/{sub.stripe_subscription_id}")
    assert stripe_sub["status"] == "trialing"
    assert stripe_sub["trial_end"] == int(trial_ends_at.timestamp())
    customer = BillingCustomer.objects.get(user=sub.user).stripe_customer_id
    assert double.get(f"/v1/invoices?customer={customer}")["data"] == []  # nothing charged

    page.get_by_role("link", name="Go to your account").click()
    page.wait_for_url(live_server.url + "/account/")
    assert "you can read every article" in page.locator("#status").inner_text()
    assert page.locator("#plan").inner_text() == "Monthly"
    assert page.locator("#trial-days-left").inner_text().startswith("14 days left")

    page.goto(_article_url(live_server, article))
    _assert_full_text(page)


def test_a_reader_whose_trial_ended_subscribes_from_the_wall_and_is_led_back(
    live_server, page, article, double
):
    email = "lapsed.reader@example.com"
    _sign_up_through_the_wall(page, live_server, article, email)
    Subscription.objects.filter(user__email=email).update(
        status="expired", trial_ends_at=timezone.now() - timedelta(days=1)
    )
    forget_cached_state(user_id=User.objects.get(email=email).pk)

    page.goto(_article_url(live_server, article))
    wall = page.get_by_role("complementary")
    assert wall.get_by_role("heading", name="Subscribe to read this article").is_visible()
    wall.get_by_role("link", name="See the plans").click()
    page.wait_for_url("**/account/?next=**")
    page.get_by_role("button", name="Subscribe: Monthly").click()
    page.wait_for_url(double.url + "/_config/test/checkout/**")
    page.get_by_label("Card number").fill(VISA)
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(live_server.url + "/billing/success/?session_id=cs_test_*")
    _relay_webhooks(double, live_server)

    page.get_by_role("link", name="Back to your article").click()
    page.wait_for_url(_article_url(live_server, article))
    _assert_full_text(page)
