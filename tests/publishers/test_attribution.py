"""Attribution: a reader walled on title A who starts a trial within 24 h counts for A,
and only A, in the stats — through web sign-up, API sign-up and Checkout — and the wall
is kept (a Conversion row) when the trial or subscription starts."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from publishers import simulator
from subscriptions.models import AccessRule, Conversion, Subscription
from subscriptions.paywall import events
from subscriptions.services.transitions import transition
from subscriptions.vocabulary import AuditSource
from tests.factories import PlanFactory
from tests.publishers.conftest import api_as
from tests.subscriptions.stripe_payloads import (
    WEBHOOK_SECRET,
    checkout_session,
    event,
    post_event,
)
from tests.subscriptions.stripe_payloads import subscription as stripe_subscription

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


def _conversions(kind: str) -> list[tuple[str | None, str | None]]:
    return list(
        Conversion.objects.filter(kind=kind)
        .order_by("id")
        .values_list("publication__slug", "article__slug")
    )


def test_web_sign_up_without_the_link_is_credited_through_the_meter_cookie(
    side_a, side_b, premium_titles
):
    """No `from` on the form: the walls are found by the meter cookie the reader signs up
    with, and the wall is kept on the subscription as it starts."""
    client = Client()
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        client.get(f"/a/{side_a.articles[1].slug}/")
    events.flush()
    response = client.post("/signup/", {"email": "cookie@example.org", "password1": PASSWORD})
    assert response.status_code == 302
    assert _conversions("trial") == [(side_a.title.slug, side_a.articles[1].slug)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 1
    assert stats_by_title(side_b.admin)[side_b.title.slug]["trials_started"] == 0


def test_the_last_wall_wins_over_an_earlier_one_within_the_day(side_a, side_b, premium_titles):
    client = APIClient()
    with time_machine.travel(timezone.now() - timedelta(hours=5)):
        client.get(f"/api/v1/articles/{side_b.articles[0].slug}/")  # B first
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        client.get(f"/api/v1/articles/{side_a.articles[2].slug}/")  # then A: the last
    events.flush()
    response = client.post(
        "/api/v1/auth/signup/", {"email": "two@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert _conversions("trial") == [(side_a.title.slug, side_a.articles[2].slug)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 1
    assert stats_by_title(side_b.admin)[side_b.title.slug]["trials_started"] == 0


def test_the_attribution_is_kept_when_the_trial_starts(side_a, side_b, premium_titles):
    """Decided once, at the start: walls recorded afterwards (a late flush, reads met
    after signing up) change nothing."""
    client = APIClient()
    client.get(f"/api/v1/articles/{side_b.articles[0].slug}/")
    events.flush()
    client.get(f"/api/v1/articles/{side_a.articles[0].slug}/")  # still buffered
    token = client.post(
        "/api/v1/auth/signup/", {"email": "kept@example.org", "password": PASSWORD}, format="json"
    ).json()["token"]
    events.flush()  # A's wall, dated before the sign-up, arrives after it
    later = APIClient()
    later.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    Subscription.objects.filter(user__email="kept@example.org").update(status="expired")
    later.get(f"/api/v1/articles/{side_a.articles[1].slug}/")
    events.flush()
    assert _conversions("trial") == [(side_b.title.slug, side_b.articles[0].slug)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 0
    assert stats_by_title(side_b.admin)[side_b.title.slug]["trials_started"] == 1


def test_a_sign_up_without_any_wall_is_kept_unattributed(side_a, premium_titles):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/signup/", {"email": "nowall@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert _conversions("trial") == [(None, None)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 0


def test_the_walls_link_counts_while_the_wall_is_still_unrecorded(side_a, premium_titles):
    """The read event may still be in the buffer: the wall's own link names the wall."""
    client = Client()
    client.get(f"/a/{side_a.articles[0].slug}/")
    events.discard_buffer()  # not flushed yet, as within the 10 s between flushes
    client.post(
        "/signup/",
        {"email": "quick@example.org", "password1": PASSWORD, "from": side_a.articles[0].slug},
    )
    assert _conversions("trial") == [(side_a.title.slug, side_a.articles[0].slug)]


def test_a_link_to_a_free_article_credits_nothing(side_a):
    AccessRule.objects.create(scope="publication", publication=side_a.title, access_level="free")
    client = Client()
    client.post(
        "/signup/",
        {"email": "free@example.org", "password1": PASSWORD, "from": side_a.articles[0].slug},
    )
    assert _conversions("trial") == [(None, None)]


@pytest.fixture
def stripe_webhooks(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None


def _checkout(client, user, *, status: str, capture, started: int | None = None) -> None:
    """Checkout's two webhooks for a start at `started` (Unix seconds; default now),
    delivered now."""
    now = started or int(timezone.now().timestamp())
    customer, sub_id = f"cus_attr{user.pk}", f"sub_attr{user.pk}"
    obj = stripe_subscription(
        id=sub_id,
        customer=customer,
        status=status,
        period_start=now,
        period_end=now + 30 * 86400,
        trial_end=now + 14 * 86400 if status == "trialing" else None,
        user_id=user.pk,
    )
    session = checkout_session(
        customer=customer, subscription=sub_id, client_reference_id=str(user.pk)
    )
    for evt in (
        event("checkout.session.completed", session, created=now),
        event("customer.subscription.created", obj, created=now + 1),
    ):
        with capture(execute=True):
            assert post_event(client, evt).status_code == 200


def test_checkout_after_a_wall_credits_the_paid_subscription(
    side_a, side_b, premium_titles, reader, stripe_webhooks, django_capture_on_commit_callbacks
):
    PlanFactory(stripe_price_id="price_monthly")
    signed_in = api_as(reader)
    with time_machine.travel(timezone.now() - timedelta(hours=6)):
        signed_in.get(f"/api/v1/articles/{side_b.articles[0].slug}/")
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        signed_in.get(f"/api/v1/articles/{side_a.articles[1].slug}/")
    events.flush()
    _checkout(Client(), reader, status="active", capture=django_capture_on_commit_callbacks)
    assert Subscription.objects.get(user=reader).status == "active"
    assert _conversions("subscription") == [(side_a.title.slug, side_a.articles[1].slug)]
    a = stats_by_title(side_a.admin)[side_a.title.slug]
    assert (a["subscriptions_started"], a["trials_started"]) == (1, 0)
    assert stats_by_title(side_b.admin)[side_b.title.slug]["subscriptions_started"] == 0


def test_a_card_trial_through_checkout_is_credited_as_a_trial(
    side_a, premium_titles, reader, stripe_webhooks, django_capture_on_commit_callbacks
):
    PlanFactory(stripe_price_id="price_monthly")
    api_as(reader).get(f"/api/v1/articles/{side_a.articles[0].slug}/")
    events.flush()
    _checkout(Client(), reader, status="trialing", capture=django_capture_on_commit_callbacks)
    assert Subscription.objects.get(user=reader).status == "trialing"
    assert _conversions("trial") == [(side_a.title.slug, side_a.articles[0].slug)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["trials_started"] == 1


def test_a_wall_older_than_a_day_does_not_credit_a_checkout(
    side_a, premium_titles, reader, stripe_webhooks, django_capture_on_commit_callbacks
):
    PlanFactory(stripe_price_id="price_monthly")
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        api_as(reader).get(f"/api/v1/articles/{side_a.articles[0].slug}/")
    events.flush()
    _checkout(Client(), reader, status="active", capture=django_capture_on_commit_callbacks)
    assert _conversions("subscription") == [(None, None)]
    assert stats_by_title(side_a.admin)[side_a.title.slug]["subscriptions_started"] == 0


@pytest.mark.parametrize("status, kind", [("active", "subscription"), ("trialing", "trial")])
def test_a_delayed_webhook_credits_the_wall_before_the_start_not_before_processing(
    side_a,
    side_b,
    premium_titles,
    reader,
    stripe_webhooks,
    django_capture_on_commit_callbacks,
    status,
    kind,
):
    """The start happened at Stripe's `created`; the webhook arrives 26 h later (a retry
    after an outage, or a replay). The 24 h window ends at the start: the wall on A two
    hours before it is credited, not the wall on B met after it (nor none). The rule
    simulator dates the start the same way: the wall on A converts."""
    PlanFactory(stripe_price_id="price_monthly")
    started = timezone.now().replace(microsecond=0) - timedelta(hours=30)
    with time_machine.travel(started - timedelta(hours=2), tick=False):
        api_as(reader).get(f"/api/v1/articles/{side_a.articles[0].slug}/")
    with time_machine.travel(started + timedelta(hours=3), tick=False):
        api_as(reader).get(f"/api/v1/articles/{side_b.articles[0].slug}/")
    events.flush()
    with time_machine.travel(started + timedelta(hours=26), tick=False):
        _checkout(
            Client(),
            reader,
            status=status,
            capture=django_capture_on_commit_callbacks,
            started=int(started.timestamp()),
        )
    assert Subscription.objects.get(user=reader).status == status
    assert _conversions(kind) == [(side_a.title.slug, side_a.articles[0].slug)]
    conversion = Conversion.objects.get(kind=kind)
    assert started <= conversion.started_at < started + timedelta(seconds=2)
    assert conversion.walled_at == started - timedelta(hours=2)
    outcome = simulator.simulate(
        publication_id=side_a.title.pk, rule=simulator.SimRule("premium", None)
    )
    started_by_kind = {
        "trial": outcome.trials_started,
        "subscription": outcome.subscriptions_started,
    }
    assert started_by_kind == {"trial": 0, "subscription": 0, kind: 1}


def test_the_backfill_keeps_earlier_starts_by_the_old_rule_once(
    side_a, side_b, premium_titles, reader
):
    """Starts from before attribution was kept: the trial goes to the TrialClaim's
    article (the old rule), the paid start to the last wall before it; a rerun writes
    nothing."""
    client = APIClient()
    client.get(f"/api/v1/articles/{side_b.articles[0].slug}/")
    events.flush()
    client.post(
        "/api/v1/auth/signup/",
        {"email": "old@example.org", "password": PASSWORD, "from": side_a.articles[0].slug},
        format="json",
    )
    user = Subscription.objects.get(user__email="old@example.org").user
    signed_in = api_as(user)
    Subscription.objects.filter(user=user).update(status="expired")
    signed_in.get(f"/api/v1/articles/{side_b.articles[2].slug}/")
    events.flush()
    sub = Subscription.objects.get(user=user)
    transition(subscription_id=sub.pk, to="active", source=AuditSource.STRIPE)
    Conversion.objects.all().delete()  # as before attribution was kept

    out = StringIO()
    call_command("backfill_conversions", "--batch-size", "1", stdout=out)
    assert "2 conversions kept" in out.getvalue()
    assert _conversions("trial") == [(side_a.title.slug, side_a.articles[0].slug)]
    assert _conversions("subscription") == [(side_b.title.slug, side_b.articles[2].slug)]
    call_command("backfill_conversions", stdout=(again := StringIO()))
    assert "0 conversions kept" in again.getvalue()
    assert Conversion.objects.count() == 2


def test_top_articles_by_conversions_in_the_portal_the_csv_and_the_api(
    side_a, side_b, premium_titles
):
    for i, (title_side, article) in enumerate([(side_a, 1), (side_a, 1), (side_a, 2), (side_b, 0)]):
        client = APIClient()
        client.get(f"/api/v1/articles/{title_side.articles[article].slug}/")
        events.flush()
        client.post(
            "/api/v1/auth/signup/",
            {"email": f"conv{i}@example.org", "password": PASSWORD},
            format="json",
        )
    a = stats_by_title(side_a.admin)[side_a.title.slug]
    assert [
        (t["slug"], t["trials"], t["conversions"]) for t in a["top_articles_by_conversions"]
    ] == [
        (side_a.articles[1].slug, 2, 2),
        (side_a.articles[2].slug, 1, 1),
    ]
    portal = Client()
    portal.force_login(side_a.editor)
    page = f"/publisher/{side_a.publisher.slug}/titles/{side_a.title.slug}/stats/"
    html = portal.get(page).content.decode()
    assert "Top articles by conversions" in html
    assert side_a.articles[1].title in html
    assert side_b.articles[0].title not in html
    rows = portal.get(page + "?format=csv&table=top_conversions").content.decode().splitlines()
    assert rows == [
        "article,title,trials_started,subscriptions_started,conversions",
        f"{side_a.articles[1].slug},{side_a.articles[1].title},2,0,2",
        f"{side_a.articles[2].slug},{side_a.articles[2].title},1,0,1",
    ]
    top_reads = portal.get(page + "?format=csv&table=top_reads").content.decode()
    assert top_reads.startswith("article,title,reads")
    assert portal.get(page + "?format=csv&table=nonsense").status_code == 400
