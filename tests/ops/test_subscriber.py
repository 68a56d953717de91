"""Finding a subscriber, and their whole timeline in one ordered list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.services import reader_trial_start
from ops.reads import find_subscribers, subscriber_story
from subscriptions.models import (
    BillingCustomer,
    Notification,
    Payment,
    ReadEvent,
    StaffAction,
    StripeEvent,
    Subscription,
)
from subscriptions.services.transitions import transition
from subscriptions.vocabulary import AuditAction, AuditSource
from tests.factories import ArticleFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def reader():
    """Foo.Bar@gmail.com: walled twice, trial from an article's wall, paid through Stripe."""
    article = ArticleFactory(slug="the-harbour-deal", title="Who bought the harbour?")
    with time_machine.travel(T0, tick=False):
        user = UserFactory(email="Foo.Bar@gmail.com")
    ReadEvent.objects.create(
        at=T0 - timedelta(hours=1),
        reader_key=f"u:{user.pk}",
        user=user,
        article=article,
        publication=article.publication,
        granted=False,
        reason="subscribers_only",
        level="premium",
    )
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        sub = reader_trial_start(user=user, from_article_slug="the-harbour-deal")
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_foo")
    plan = PlanFactory()
    transition(
        subscription_id=sub.pk,
        to="active",
        source=AuditSource.STRIPE,
        action=AuditAction.STRIPE_SUBSCRIPTION_SYNCED,
        now=T0 + timedelta(days=14),
        plan=plan,
        stripe_subscription_id="sub_foo",
        detail={"stripe_event": "evt_paid"},
    )
    StripeEvent.objects.create(
        stripe_id="evt_paid",
        type="invoice.paid",
        payload={
            "id": "evt_paid",
            "data": {"object": {"id": "in_1", "customer": "cus_foo", "amount_paid": 999}},
        },
        created=T0 + timedelta(days=14, seconds=-1),
        status="processed",
    )
    StripeEvent.objects.create(
        stripe_id="evt_other",
        type="invoice.paid",
        payload={"id": "evt_other", "data": {"object": {"id": "in_2", "customer": "cus_x"}}},
        created=T0,
    )
    Payment.objects.create(
        user=user, stripe_invoice_id="in_1", amount=999, paid_at=T0 + timedelta(days=14)
    )
    Notification.objects.create(
        user=user,
        kind="trial_ending",
        period="2026-10-15",
        created_at=T0 + timedelta(days=11),
        status="failed",
        error="SMTP down",
    )
    return user


def test_search_by_email_in_any_case_and_gmail_variant(reader):
    sub_id = reader.subscription.pk
    for query in [
        "foo.bar@gmail.com",
        "FOO.BAR@GMAIL.COM",
        "foobar@gmail.com",
        "foo.bar+news@googlemail.com",
        "  Foo.Bar@gmail.com ",
    ]:
        found = find_subscribers(query=query)
        assert [f.subscription_id for f in found] == [sub_id], query
        assert found[0].exact


def test_search_by_stripe_ids_and_part_of_an_email(reader):
    sub_id = reader.subscription.pk
    assert [f.subscription_id for f in find_subscribers(query="cus_foo")] == [sub_id]
    assert [f.subscription_id for f in find_subscribers(query="sub_foo")] == [sub_id]
    partial = find_subscribers(query="foo.bar")
    assert [f.subscription_id for f in partial] == [sub_id]
    assert not partial[0].exact
    for nothing in ["", "   ", "cus_nobody", "sub_nobody", "nobody@example.com"]:
        assert find_subscribers(query=nothing) == []


@pytest.mark.parametrize("query", ["foo\x00", "cus_foo\x00", "sub_\x00", "\x00"])
def test_a_search_with_a_nul_finds_no_one(ops_client, reader, query):
    """A NUL reached the lookups: PostgreSQL refused it (DataError), a 500."""
    assert find_subscribers(query=query) == []
    page = ops_client.get("/ops/search/", {"q": query})
    assert page.status_code == 200
    assert b"No subscriber matches" in page.content


def test_a_deleted_account_is_found_by_its_stripe_subscription(reader):
    sub_id = reader.subscription.pk
    reader.delete()
    found = find_subscribers(query="sub_foo")
    assert [(f.subscription_id, f.email) for f in found] == [(sub_id, None)]


def test_search_page_lists_and_exact_hits_open_the_subscriber(ops_client, reader):
    sub_id = reader.subscription.pk
    page = ops_client.get("/ops/search/", {"q": "foo"})
    assert page.status_code == 200
    assert f"/ops/subscribers/{sub_id}/".encode() in page.content
    exact = ops_client.get("/ops/search/", {"q": "FooBar+x@googlemail.com"})
    assert exact.status_code == 302
    assert exact["Location"] == f"/ops/subscribers/{sub_id}/"
    none = ops_client.get("/ops/search/", {"q": "nobody@example.com"})
    assert b"No subscriber matches" in none.content


def test_timeline_is_one_ordered_list_of_everything(reader, ops_user):
    sub = Subscription.objects.get(user=reader)
    StaffAction.objects.create(
        key="k1",
        action="trial.extended",
        actor=ops_user,
        at=T0 + timedelta(days=2),
        reason="Support ticket 42",
        subscription=sub,
        before={"trial_ends_at": "a"},
        after={"trial_ends_at": "b"},
    )
    story = subscriber_story(subscription_id=sub.pk)
    assert story is not None
    times = [item.at for item in story.items]
    assert times == sorted(times)
    kinds = [(item.kind, item.title) for item in story.items]
    assert kinds == [
        ("wall", "Wall: subscribers_only"),  # 08:00
        ("signup", "Signed up"),  # 09:00
        ("signup", "Trial claimed"),  # 09:05
        ("trial", "trial.started"),  # 09:05
        ("ops", "Staff: trial.extended"),  # day 2
        ("email", "Email: trial_ending"),  # day 11
        ("payment", "Stripe: invoice.paid"),  # day 14, a second before
        ("state", "stripe.subscription_synced"),  # day 14
        ("payment", "Payment received"),  # day 14
    ]
    claimed = next(i for i in story.items if i.title == "Trial claimed")
    assert "Who bought the harbour?" in claimed.detail
    state = next(i for i in story.items if i.title == "stripe.subscription_synced")
    assert "trialing → active" in state.detail
    assert ("evt_paid", "https://dashboard.stripe.com/test/events/evt_paid") in state.links
    staff = next(i for i in story.items if i.kind == "ops")
    assert "Support ticket 42" in staff.detail and staff.actor == "ops@masthead.local"
    assert all("evt_other" not in i.title + i.detail for i in story.items)
    assert story.stripe_links["customer"] == "https://dashboard.stripe.com/test/customers/cus_foo"


def test_subscriber_page_shows_the_timeline_and_links(ops_client, reader):
    sub = Subscription.objects.get(user=reader)
    page = ops_client.get(f"/ops/subscribers/{sub.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    for text in [
        "Foo.Bar@gmail.com",
        "Who bought the harbour?",
        "trial.started",
        "Stripe: invoice.paid",
        "Payment received",
        "9.99 GBP",  # the payment, as money
        "invoice in_1, 9.99 GBP",  # the invoice event, as money
        "Email: trial_ending",
        "SMTP down",
        "https://dashboard.stripe.com/test/subscriptions/sub_foo",
        "https://dashboard.stripe.com/test/invoices/in_1",
    ]:
        assert text in html, text
    # Only what applies is offered; the rest says why not.
    assert f"/ops/subscribers/{sub.pk}/refund/" in html
    assert f"/ops/subscribers/{sub.pk}/resend-email/" in html  # the failed email
    assert f"/ops/subscribers/{sub.pk}/extend-trial/" not in html
    assert "Extend the trial (not in a trial)" in html
    assert "Grant complimentary access (billed in Stripe: cancel first)" in html
    assert html.index("Signed up") < html.index("trial.started") < html.index("Payment received")
    # The attribution the publishers' stats count: the trial to the harbour wall, the paid
    # start (14 days on, no wall in the 24 hours before it) to no title.
    credited = html[html.index("Credited to") : html.index("Walls met")]
    assert "Free trial, " in credited
    assert "“Who bought the harbour?”" in credited
    assert "Paid subscription" in credited and "no wall in the 24 hours before" in credited


def test_unknown_subscriber_is_404_and_a_deleted_account_offers_no_actions(ops_client, reader):
    assert ops_client.get("/ops/subscribers/999999/").status_code == 404
    sub = Subscription.objects.get(user=reader)
    reader.delete()
    page = ops_client.get(f"/ops/subscribers/{sub.pk}/")
    assert page.status_code == 200
    assert b"deleted their account" in page.content
    assert b"Extend the trial" not in page.content
