"""On a phone (390 px wide) no page of the portal or the dashboard is wider than the
screen: wide tables scroll inside their own box, long addresses and ids wrap."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.services import reader_trial_start
from articles.models import PublisherStaff
from subscriptions.models import StripeEvent, Subscription
from tests.factories import PublicationFactory, PublisherFactory, UserFactory
from tests.ops.conftest import ensure_ops_group

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lighthouse-Keeper-0917"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + next_path)


def page_width(page, url: str) -> int:
    page.goto(url)
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_ops_dashboard_timeline_and_events_fit_a_phone(live_server, phone):
    ops = UserFactory(email="ops@masthead.local", password=PASSWORD, is_staff=True)
    ops.groups.add(ensure_ops_group())
    reader = UserFactory(email="a.rather.long.address.for.a.phone@subscribers.example.com")
    reader_trial_start(user=reader)
    sub = Subscription.objects.get(user=reader)
    StripeEvent.objects.create(
        stripe_id="evt_1NirDdLkdIwHu7ixkTDXgQ6Y_a_long_event_id",
        type="customer.subscription.updated",
        payload={},
        status="failed",
        error="SubscriptionNotLinked: no reader for Stripe subscription sub_unknown",
        created=timezone.now(),
    )
    sign_in(phone, live_server.url, "ops@masthead.local", "/ops/")

    for path in (
        "/ops/",
        f"/ops/subscribers/{sub.pk}/",
        "/ops/events/",
        "/ops/events/evt_1NirDdLkdIwHu7ixkTDXgQ6Y_a_long_event_id/replay/",
    ):
        assert page_width(phone, live_server.url + path) <= PHONE["width"], path


def test_the_publisher_portal_fits_a_phone(live_server, phone):
    publisher = PublisherFactory(name="Harbour Media", slug="harbour-media")
    PublicationFactory(publisher=publisher, name="Harbour Courier", slug="harbour-courier")
    admin = UserFactory(email="editor@harbour.example", password=PASSWORD)
    PublisherStaff.objects.create(user=admin, publisher=publisher, role="admin")
    sign_in(phone, live_server.url, "editor@harbour.example", "/publisher/harbour-media/")

    for path in ("/publisher/harbour-media/", "/publisher/harbour-media/articles/"):
        assert page_width(phone, live_server.url + path) <= PHONE["width"], path
